#pragma once
// `wick train --config FILE`: the command-line settings read from YAML or JSON. Keys are the
// long flag names with or without dashes ("lora-rank" or "lora_rank"); unknown keys are errors.
#include <filesystem>

#include "wick/train/trainer.h"

namespace wick::train {

/// Applies the settings in `file` (YAML or JSON object) on top of `config`; IoError naming the
/// file and key for unknown keys or values of the wrong type. Also returns "model" via model_dir
/// when the file sets it.
void apply_config_file(const std::filesystem::path& file, TrainConfig& config,
                       std::filesystem::path* model_dir = nullptr);

}  // namespace wick::train
