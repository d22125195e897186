#pragma once
// Checks on a training run's output folder, made before any model is loaded or any step runs:
// the output never overlaps an input, a previous run's folder is not reused silently, and the
// folder is writable (so a read-only --out fails in a second, not after the training).
#include <filesystem>

#include "wick/train/trainer.h"

namespace wick::train {

/// IoError naming both paths when `out` is, contains or is inside `input` (an empty `input` is
/// ignored). `what` names the input ("--model", "--data", ...).
void check_no_overlap(const std::filesystem::path& out, const std::filesystem::path& input,
                      const char* what);

/// Validates `c.out` for a run on `model_dir`: no overlap with the model, the data or the
/// adapter to start from (a --resume checkpoint may lie inside out: that continues the run); an
/// existing non-empty folder is refused unless the run resumes from a checkpoint inside it or
/// `c.overwrite` is set (then the old checkpoint-N folders are removed so that two runs'
/// checkpoints never mix); creates the folder and checks that a file can be created in it. An
/// existing non-empty `c.metrics` file is refused likewise (unless resuming or overwriting).
void prepare_output_folder(const TrainConfig& c, const std::filesystem::path& model_dir);

}  // namespace wick::train
