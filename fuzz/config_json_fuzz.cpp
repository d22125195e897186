// libFuzzer target for config.json (Llama family and BERT): any JSON must parse into a checked
// config or fail with a typed wick::Error naming the field.
#include <nlohmann/json.hpp>

#include "fuzz_util.h"
#include "wick/core/errors.h"
#include "wick/io/hf_config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const nlohmann::json j = nlohmann::json::parse(data, data + size, nullptr, false);
  if (j.is_discarded()) return 0;
  try {
    (void)wick::io::parse_llama_config(j, "fuzz/config.json");
  } catch (const wick::Error&) {
  } catch (...) {
    wick::fuzz::bug();
  }
  try {
    (void)wick::io::parse_bert_config(j, "fuzz/config.json");
  } catch (const wick::Error&) {
  } catch (...) {
    wick::fuzz::bug();
  }
  return 0;
}
