// LoRA-fine-tune a model folder on a JSONL file and save a PEFT adapter (adapter_config.json +
// adapter_model.safetensors, loadable by PEFT's PeftModel.from_pretrained and by `wick`).
//   example_lora_train MODEL_DIR DATA.jsonl OUT_DIR
#include <cstdio>
#include <exception>

#include "wick/train/model_bridge.h"
#include "wick/train/trainer.h"

int main(int argc, char** argv) {
  if (argc < 4) {
    std::fprintf(stderr, "usage: %s MODEL_DIR DATA.jsonl OUT_DIR\n", argv[0]);
    return 2;
  }
  try {
    wick::train::TrainConfig c;
    c.data = argv[2];  // {"text"}, {"prompt","completion"}, {"messages"}, ShareGPT, ...
    c.out = argv[3];
    c.lora.r = 8;
    c.lora.lora_alpha = 16;
    c.lora.target_modules = {"q_proj", "v_proj"};  // or {"all-linear"}
    c.lr = 1e-3;
    c.iters = 4;
    c.batch_size = 2;
    c.mask_prompt = true;  // loss on completions only (as the CLI's default)

    wick::train::TrainCallbacks cb;
    cb.on_step = [](const wick::train::StepInfo& s) {
      std::printf("step %lld/%lld loss %.4f\n", (long long)s.step, (long long)s.total_steps,
                  s.loss);
    };
    const auto r = wick::train::train_from_folder(argv[1], c, cb);
    std::printf("saved adapter to %s (final loss %.4f)\n", c.out.string().c_str(), r.final_loss);
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
}
