// libFuzzer target for training data (JSONL in every accepted format): any file must read into
// records or fail with a typed wick::Error naming the file and line.
#include "fuzz_util.h"
#include "wick/core/errors.h"
#include "wick/train/dataset.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const auto path = wick::fuzz::scratch_dir() / "train.jsonl";
  wick::fuzz::write_bytes(path, data, size);
  try {
    (void)wick::train::read_jsonl(path);
  } catch (const wick::Error&) {
  } catch (...) {
    wick::fuzz::bug();
  }
  return 0;
}
