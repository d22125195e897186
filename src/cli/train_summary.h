#pragma once
// What `wick train` prints before the first step (parameters, data, truncation, initial
// validation loss) and after the last (time, throughput, memory, losses, files written).
#include <string>

#include "wick/train/trainer.h"

namespace wick::cli {

/// "1,234,567": an integer with thousands separators.
std::string with_commas(int64_t v);
/// Peak resident memory of this process in bytes (getrusage), 0 when unknown.
int64_t peak_rss_bytes();
/// "12.3 MiB" / "1.20 GiB".
std::string human_bytes(int64_t bytes);
/// The lines printed before the first step.
std::string format_run_summary(const train::RunSummary& s, bool full);
/// The lines printed at the end of a run (`out` and `metrics` are the files written).
std::string format_run_end(const train::TrainResult& r, const train::TrainConfig& c);

}  // namespace wick::cli
