// wick export: write a model folder (optionally with a LoRA adapter merged in) as one GGUF file for
// llama.cpp, Ollama and LM Studio.
#include <cstdio>
#include <string>

#include "cli/commands.h"
#include "wick/export/gguf_export.h"

namespace wick::cli {

void register_export(CLI::App& app) {
  auto* sub = app.add_subcommand(
      "export", "Export a model (and an adapter merged into it) for llama.cpp, Ollama, LM Studio");
  static std::string model, adapter, format, out, dtype;
  sub->add_option("--model", model, "Model folder (config.json + safetensors + tokenizer.json)")
      ->required();
  sub->add_option("--adapter", adapter, "LoRA adapter folder to merge in first (PEFT format)");
  sub->add_option("--format", format, "Output format (gguf)")
      ->required()
      ->check(CLI::IsMember({"gguf"}));
  sub->add_option("--out", out, "Output file (FILE.gguf), written atomically")->required();
  sub->add_option("--dtype", dtype,
                  "Type of the 2-D weights (default: the checkpoint's own f32/f16/bf16); "
                  "norms and biases stay f32")
      ->check(CLI::IsMember({"f32", "f16", "bf16", "q8_0"}));
  add_runner(sub, [] {
    exporter::GgufExportOptions o;
    o.model_dir = model;
    o.adapter_dir = adapter;
    o.out = out;
    o.dtype = dtype;
    const exporter::GgufExportReport r = exporter::export_gguf(o);
    for (const auto& n : r.notes) std::fprintf(stderr, "wick: note: %s\n", n.c_str());
    std::printf("wrote %s: %s, %s tokenizer, %lld tensors (%s weights", out.c_str(),
                r.architecture.c_str(), r.tokenizer.c_str(), static_cast<long long>(r.tensors),
                r.dtype.c_str());
    if (!adapter.empty())
      std::printf(", %lld merged from the adapter", static_cast<long long>(r.merged));
    std::printf("), %.1f MB\n", double(r.bytes) / 1e6);
  });
}

}  // namespace wick::cli
