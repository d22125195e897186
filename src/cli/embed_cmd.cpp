// wick embed: sentence embeddings of texts as JSON lines, TSV or a NumPy .npy file.
#include <algorithm>
#include <cstdio>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include <fmt/format.h>

#include <cmath>

#include "cli/commands.h"
#include "cli/flag_checks.h"
#include "wick/core/errors.h"
#include "wick/embed/embedder.h"
#include "wick/embed/npy.h"
#include "wick/io/atomic_file.h"

namespace wick::cli {

namespace {

struct EmbedArgs {
  std::string model;
  std::vector<std::string> texts;
  std::string input;
  std::optional<std::string> prefix;
  std::string pooling;
  bool no_normalize = false;
  int64_t batch_tokens = 1024;
  std::string format = "jsonl";
  std::string output;
};

std::string format_rows(const Tensor& out, const std::string& format) {
  const int64_t n = out.shape(0), d = out.shape(1);
  const auto v = out.to_vector<float>();
  // A bare nan is not JSON and ranks first in a search: a non-finite value is an error, naming
  // the text and the dimension.
  for (size_t k = 0; k < v.size(); ++k)
    if (!std::isfinite(v[k]))
      fail<ValueError>("embed",
                       "the embedding of text {} has a non-finite value ({}) at dimension {}; the "
                       "model's weights or the computation contain NaN/Inf",
                       int64_t(k) / std::max<int64_t>(d, 1) + 1, v[k],
                       int64_t(k) % std::max<int64_t>(d, 1));
  if (format == "npy") return embed::npy_bytes(out);
  std::string s;
  for (int64_t i = 0; i < n; ++i) {
    if (format == "jsonl") s += fmt::format("{{\"index\": {}, \"embedding\": [", i);
    for (int64_t j = 0; j < d; ++j) {
      if (j) s += format == "jsonl" ? ", " : "\t";
      s += fmt::format("{}", v[size_t(i * d + j)]);
    }
    s += format == "jsonl" ? "]}\n" : "\n";
  }
  return s;
}

void run_embed(const EmbedArgs& a) {
  if (a.texts.empty() == a.input.empty())
    fail<ValueError>("embed", "give the texts with --text or --input (exactly one of them)");
  check_int_flag("--batch-tokens", a.batch_tokens, 1, int64_t(1) << 30);
  // Refuse a folder, symlink, device or FIFO as --output before any work is done.
  if (!a.output.empty()) io::check_output_target(a.output);
  embed::EmbedOptions o;
  if (!a.pooling.empty()) o.pooling = embed::parse_pooling(a.pooling);
  if (a.no_normalize) o.normalize = false;
  o.prefix = a.prefix;
  o.batch_tokens = a.batch_tokens;
  o.device = selected_device();
  const auto texts = a.input.empty() ? a.texts : read_lines(a.input, "embed");
  const auto embedder = embed::Embedder::load(a.model, o);
  const std::string bytes = format_rows(embedder.encode(texts), a.format);
  if (a.output.empty()) {
    if (std::fwrite(bytes.data(), 1, bytes.size(), stdout) != bytes.size() || std::fflush(stdout))
      fail<IoError>("embed", "cannot write to standard output");
  } else {
    io::atomic_write_file(a.output, bytes);
  }
}

}  // namespace

void register_embed(CLI::App& app) {
  auto args = std::make_shared<EmbedArgs>();
  auto* sub = app.add_subcommand("embed", "Compute sentence embeddings");
  sub->add_option("--model", args->model,
                  "Model folder (sentence-transformers, BERT or Llama/Mistral/Qwen decoder)")
      ->required();
  auto* text = sub->add_option("--text", args->texts, "A text to embed (repeatable)");
  auto* input = sub->add_option("--input", args->input, "File with one text per line");
  text->excludes(input);
  sub->add_option("--prefix", args->prefix,
                  "Text put before every input (replaces the model's default prompt)");
  sub->add_option("--pooling", args->pooling, "cls | mean | max | last (default: the model's)");
  sub->add_flag("--no-normalize", args->no_normalize, "Do not L2-normalise the vectors");
  sub->add_option("--batch-tokens", args->batch_tokens, "Padded tokens per batch");
  sub->add_option("--format", args->format, "jsonl | tsv | npy")
      ->check(CLI::IsMember({"jsonl", "tsv", "npy"}));
  sub->add_option("--output", args->output, "Write here instead of standard output");
  add_runner(sub, [args] { run_embed(*args); });
}

}  // namespace wick::cli
