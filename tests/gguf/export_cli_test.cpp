// `wick export` through the command-line binary: the success line, one clear error line for what
// cannot be exported, and atomic output (a failed export leaves an existing file untouched).
#include "gguf/llama_cpp_util.h"
#include "wick/io/gguf.h"

namespace wick::testing {
namespace {

int export_cli(const fs::path& dir, const std::string& args, std::string& out, std::string& err) {
  return llama_cpp_run(llama_cpp_quote(WICK_CLI_PATH) + " export " + args, dir, out, err);
}

TEST(ExportCli, WritesAndReports) {
  const fs::path dir = temp_dir("gguf_cli_ok");
  const std::string model = source_path("tests/fixtures/models/qwen2");
  std::string out, err;
  ASSERT_EQ(export_cli(dir,
                       "--model " + llama_cpp_quote(model) + " --format gguf --dtype q8_0 --out " +
                           llama_cpp_quote((dir / "q.gguf").string()),
                       out, err),
            0)
      << err;
  EXPECT_NE(out.find("wrote "), std::string::npos) << out;
  EXPECT_NE(out.find("qwen2, gpt2 tokenizer"), std::string::npos) << out;
  EXPECT_NE(out.find("q8_0 weights"), std::string::npos) << out;
  EXPECT_EQ(io::read_gguf(dir / "q.gguf").get("general.architecture").as_string(), "qwen2");
}

TEST(ExportCli, ClearErrorsAndAtomicOutput) {
  const fs::path dir = temp_dir("gguf_cli_err");
  const fs::path target = dir / "m.gguf";
  std::ofstream(target) << "previous contents";
  std::string out, err;
  // A BERT encoder is not a decoder llama.cpp's llama/qwen architectures can hold.
  const int rc =
      export_cli(dir,
                 "--model " + llama_cpp_quote(source_path("tests/fixtures/models/bert_mean")) +
                     " --format gguf --out " + llama_cpp_quote(target.string()),
                 out, err);
  EXPECT_NE(rc, 0);
  EXPECT_EQ(err.rfind("wick: error: ", 0), 0u) << err;
  EXPECT_EQ(std::count(err.begin(), err.end(), '\n'), 1) << err;
  EXPECT_NE(err.find("config.json"), std::string::npos) << err;
  EXPECT_EQ(llama_cpp_read(target), "previous contents");
  size_t files = 0;
  for (const auto& e : fs::directory_iterator(dir))
    if (e.path().filename().string().find("m.gguf") != std::string::npos) ++files;
  EXPECT_EQ(files, 1u) << "a temporary file was left behind";
  // The format and dtype are checked by the command line.
  const std::string model = llama_cpp_quote(source_path("tests/fixtures/models/llama"));
  EXPECT_NE(export_cli(dir, "--model " + model + " --format onnx --out x.onnx", out, err), 0);
  EXPECT_NE(err.find("onnx"), std::string::npos) << err;
  EXPECT_NE(
      export_cli(dir, "--model " + model + " --format gguf --dtype q4_0 --out x.gguf", out, err),
      0);
  EXPECT_NE(err.find("q4_0"), std::string::npos) << err;
}

}  // namespace
}  // namespace wick::testing
