// libFuzzer target for a PEFT adapter_config.json: any file must load into a LoRA config or fail
// with a typed wick::Error naming the file.
#include "fuzz_util.h"
#include "wick/core/errors.h"
#include "wick/lora/lora.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const auto& dir = wick::fuzz::scratch_dir();
  wick::fuzz::write_bytes(dir / "adapter_config.json", data, size);
  try {
    (void)wick::lora::read_adapter_config(dir);
  } catch (const wick::Error&) {
  } catch (...) {
    wick::fuzz::bug();
  }
  return 0;
}
