// wick's q8_0, f16 and bf16 bytes are ggml's own: the same f32 values converted by
// libggml-base.so of the llama.cpp build that node-llama-cpp ships (tests/gguf/ggml_convert.py,
// through Python's ctypes) give identical bytes, for values over many magnitudes and for the
// tensors of an exported fixture model. Skips with a clear line without python3 or the library.
#include <random>

#include "gguf/llama_cpp_util.h"
#include "wick/io/gguf.h"
#include "wick/io/safetensors.h"

namespace wick::testing {
namespace {

fs::path ggml_base_lib() {
  return source_path(
      "tests/gguf/node_modules/@node-llama-cpp/linux-x64/bins/linux-x64/libggml-base.so");
}

std::string ggml_bytes_missing() {
  if (std::system("python3 -c 'import ctypes' >/dev/null 2>&1") != 0)
    return "python3 with ctypes is not on the PATH";
  if (!fs::exists(ggml_base_lib()))
    return "node-llama-cpp's libggml-base.so is not installed in tests/gguf (run "
           "scripts/install-reference.sh)";
  return "";
}

// ggml's conversion of `x` (rows of `n_per_row`) to `type`; empty with a gtest failure on error.
std::vector<uint8_t> ggml_convert(const std::vector<float>& x, const std::string& type,
                                  int64_t n_per_row, const fs::path& dir) {
  {
    std::ofstream f(dir / "in.f32", std::ios::binary);
    f.write(reinterpret_cast<const char*>(x.data()), std::streamsize(x.size() * 4));
  }
  std::string out, err;
  const std::string cmd = "python3 " + llama_cpp_quote(source_path("tests/gguf/ggml_convert.py")) +
                          " " + llama_cpp_quote(ggml_base_lib().string()) + " " + type + " " +
                          std::to_string(n_per_row) + " " +
                          llama_cpp_quote((dir / "in.f32").string()) + " " +
                          llama_cpp_quote((dir / "out.bin").string());
  if (llama_cpp_run(cmd, dir, out, err) != 0) {
    ADD_FAILURE() << cmd << "\n" << err;
    return {};
  }
  const std::string b = llama_cpp_read(dir / "out.bin");
  return std::vector<uint8_t>(b.begin(), b.end());
}

TEST(GgmlBytes, Q8_0OverManyMagnitudes) {
  const std::string missing = ggml_bytes_missing();
  if (!missing.empty()) GTEST_SKIP() << "ggml byte check skipped: " << missing;
  // Blocks from 1e-7 (subnormal f16 scales) to 1e4, an all-zero block, ties at x/d = k + 0.5.
  std::mt19937 rng(3);
  std::normal_distribution<float> nd(0.0f, 1.0f);
  std::vector<float> x(32 * 240);
  for (size_t i = 0; i < x.size(); ++i) x[i] = nd(rng) * std::pow(10.0f, float(i / 32 % 12) - 7);
  for (int j = 0; j < 32; ++j) x[32 * 3 + size_t(j)] = 0;
  for (int j = 0; j < 32; ++j) x[32 * 4 + size_t(j)] = j == 0 ? 127.0f : float(j) + 0.5f;
  std::vector<uint8_t> mine;
  io::quantize_q8_0(x.data(), int64_t(x.size()), mine);
  const auto ref = ggml_convert(x, "q8_0", 32 * 8, temp_dir("ggml_bytes_q8"));
  ASSERT_EQ(mine.size(), ref.size());
  for (size_t i = 0; i < mine.size(); ++i)
    ASSERT_EQ(int(mine[i]), int(ref[i])) << "byte " << i << " (block " << i / 34 << ")";
}

TEST(GgmlBytes, ExportedTensorsEqualGgmlConversions) {
  const std::string missing = ggml_bytes_missing();
  if (!missing.empty()) GTEST_SKIP() << "ggml byte check skipped: " << missing;
  const fs::path model = source_path("tests/fixtures/models/llama");
  auto ck = io::load_checkpoint(model);
  for (const std::string type : {"q8_0", "f16", "bf16"}) {
    const fs::path dir = temp_dir("ggml_bytes_" + type);
    std::string out, err;
    ASSERT_EQ(llama_cpp_run(llama_cpp_quote(WICK_CLI_PATH) + " export --model " +
                                llama_cpp_quote(model.string()) + " --format gguf --dtype " + type +
                                " --out " + llama_cpp_quote((dir / "m.gguf").string()),
                            dir, out, err),
              0)
        << err;
    const io::GgufFile g = io::read_gguf(dir / "m.gguf");
    for (const auto& [gname, hf] : std::vector<std::pair<std::string, std::string>>{
             {"token_embd.weight", "model.embed_tokens.weight"},
             {"blk.1.ffn_down.weight", "model.layers.1.mlp.down_proj.weight"},
             {"output.weight", "lm_head.weight"}}) {
      const Tensor t = ck.tensor(hf, DType::f32);
      const auto ref = ggml_convert(t.to_vector<float>(), type, t.shape(1), dir);
      const auto& info = g.tensor(gname);
      ASSERT_EQ(info.nbytes, ref.size()) << type << " " << gname;
      const uint8_t* p = g.bytes.data() + g.data_start + info.offset;
      EXPECT_TRUE(std::equal(ref.begin(), ref.end(), p)) << type << " " << gname;
    }
  }
}

}  // namespace
}  // namespace wick::testing
