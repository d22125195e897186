#include "wick/train/config_file.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <sstream>

namespace wick::train {

namespace {

std::vector<std::string> split_list(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream ss(s);
  for (std::string x; std::getline(ss, x, ',');)
    if (!x.empty()) out.push_back(x);
  return out;
}

}  // namespace

void apply_config_file(const std::filesystem::path& file, TrainConfig& c,
                       std::filesystem::path* model_dir) {
  YAML::Node root;
  try {
    root = YAML::LoadFile(file.string());
  } catch (const YAML::Exception& e) {
    fail<IoError>("config", "cannot read '{}': {}", file.string(), e.what());
  }
  if (!root.IsMap()) fail<IoError>("config", "'{}' must hold a mapping of settings", file.string());
  for (const auto& kv : root) {
    std::string key = kv.first.as<std::string>();
    std::replace(key.begin(), key.end(), '_', '-');
    const YAML::Node& v = kv.second;
    auto get = [&]<class T>(T* dst) {
      try {
        *dst = v.as<T>();
      } catch (const YAML::Exception&) {
        fail<IoError>("config", "'{}': key '{}' has a value of the wrong type", file.string(),
                      kv.first.as<std::string>());
      }
    };
    std::string s;
    if (key == "model") {
      get(&s);
      if (model_dir) *model_dir = s;
    } else if (key == "data") {
      get(&s);
      c.data = s;
    } else if (key == "out") {
      get(&s);
      c.out = s;
    } else if (key == "lora-rank") {
      get(&c.lora.r);
    } else if (key == "lora-alpha") {
      get(&c.lora.lora_alpha);
    } else if (key == "lora-dropout") {
      get(&c.lora.lora_dropout);
    } else if (key == "target-modules") {
      if (v.IsSequence()) {
        c.lora.target_modules.clear();
        for (const auto& x : v) c.lora.target_modules.push_back(x.as<std::string>());
      } else {
        get(&s);
        c.lora.target_modules = split_list(s);
      }
    } else if (key == "optimizer") {
      get(&c.optimizer);
    } else if (key == "lr") {
      get(&c.lr);
    } else if (key == "weight-decay") {
      get(&c.weight_decay);
    } else if (key == "max-grad-norm") {
      get(&c.max_grad_norm);
    } else if (key == "lr-schedule") {
      get(&c.lr_schedule);
    } else if (key == "warmup") {
      get(&c.warmup);
    } else if (key == "iters") {
      get(&c.iters);
    } else if (key == "epochs") {
      get(&c.epochs);
    } else if (key == "batch-size") {
      get(&c.batch_size);
    } else if (key == "grad-accum") {
      get(&c.grad_accum);
    } else if (key == "max-seq-len") {
      get(&c.max_seq_len);
    } else if (key == "mask-prompt") {
      get(&c.mask_prompt);
    } else if (key == "no-mask-prompt") {
      bool b = false;
      get(&b);
      c.mask_prompt = !b;
    } else if (key == "text-key") {
      get(&c.keys.text);
    } else if (key == "prompt-key") {
      get(&c.keys.prompt);
    } else if (key == "completion-key") {
      get(&c.keys.completion);
    } else if (key == "keep-best") {
      get(&c.keep_best);
    } else if (key == "early-stop") {
      get(&c.early_stop);
    } else if (key == "pack") {
      get(&c.pack);
    } else if (key == "no-shuffle") {
      bool b = false;
      get(&b);
      c.shuffle = !b;
    } else if (key == "no-eos") {
      bool b = false;
      get(&b);
      c.add_eos = !b;
    } else if (key == "seed") {
      get(&c.seed);
    } else if (key == "save-every") {
      get(&c.save_every);
    } else if (key == "eval-every") {
      get(&c.eval_every);
    } else if (key == "metrics") {
      get(&s);
      c.metrics = s;
    } else if (key == "resume") {
      get(&s);
      c.resume = s;
    } else if (key == "resume-adapter") {
      get(&s);
      c.resume_adapter = s;
    } else if (key == "full") {
      get(&c.full);
    } else if (key == "grad-checkpoint") {
      get(&c.grad_checkpoint);
    } else {
      fail<IoError>("config", "'{}': unknown setting '{}'", file.string(),
                    kv.first.as<std::string>());
    }
  }
}

}  // namespace wick::train
