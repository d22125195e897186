#pragma once
// Validation of `wick train` settings before any model is loaded: every number (from a flag or
// the --config file, whose keys are the flag names) is range-checked, and a --resume run refuses
// LoRA settings that differ from the checkpoint's.
#include <functional>

#include "wick/train/trainer.h"

namespace wick::cli {

/// ValueError naming the flag, the value and the allowed range for the first setting of `c` out
/// of range. `given(flag)` says whether the flag was given on the command line: with --resume, a
/// given --lora-rank, --lora-alpha, --lora-dropout or --target-modules that differs from the
/// checkpoint's adapter_config.json is refused, naming the setting and both values.
void check_train_settings(const train::TrainConfig& c,
                          const std::function<bool(const char*)>& given);

}  // namespace wick::cli
