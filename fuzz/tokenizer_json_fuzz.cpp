// libFuzzer target for tokenizer.json: any input must load into a tokenizer that encodes and
// decodes, or fail with a typed wick::Error.
#include <string>
#include <string_view>

#include "fuzz_util.h"
#include "wick/core/errors.h"
#include "wick/tokenizer/tokenizer.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    wick::Tokenizer t = wick::Tokenizer::from_json_string(
        std::string_view(reinterpret_cast<const char*>(data), size), "fuzz/tokenizer.json");
    for (const char* text : {"Hello world!", "  a\tb\n\xc3\xa9\xf0\x9f\x98\x80 123"}) {
      auto ids = t.encode(text, true);
      (void)t.decode(ids, false);
    }
  } catch (const wick::Error&) {
  } catch (...) {
    wick::fuzz::bug();
  }
  return 0;
}
