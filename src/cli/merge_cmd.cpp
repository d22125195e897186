// wick merge: fold a LoRA adapter (PEFT format) into a model folder's weights and write a complete
// Hugging Face model folder.
#include <cstdio>
#include <string>

#include "cli/commands.h"
#include "wick/io/hf_config.h"
#include "wick/lora/base_info.h"
#include "wick/lora/lora.h"

namespace wick::cli {

void register_merge(CLI::App& app) {
  auto* sub = app.add_subcommand("merge", "Merge a LoRA adapter into a model and save the result");
  static std::string model, adapter, out;
  sub->add_option("--model", model, "Model folder (config.json + safetensors)")->required();
  sub->add_option("--adapter", adapter,
                  "Adapter folder (adapter_config.json + "
                  "adapter_model.safetensors)")
      ->required();
  sub->add_option("--out", out, "Output folder (must not exist or be empty)")->required();
  add_runner(sub, [] {
    lora::check_adapter_base(adapter, io::load_llama_config(model), model);
    const int64_t n = lora::merge_adapter_into_checkpoint(model, adapter, out);
    std::printf("merged %lld adapted weights into %s\n", static_cast<long long>(n), out.c_str());
  });
}

}  // namespace wick::cli
