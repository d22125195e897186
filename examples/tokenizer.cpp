// Encode and decode with a Hugging Face tokenizer.json (exactly as the `tokenizers` library).
//   example_tokenizer TOKENIZER_DIR_OR_FILE TEXT
#include <cstdio>
#include <exception>
#include <string>

#include "wick/tokenizer/tokenizer.h"

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: %s TOKENIZER TEXT\n", argv[0]);
    return 2;
  }
  try {
    const wick::Tokenizer tok = wick::Tokenizer::from_file(argv[1]);
    const std::vector<int32_t> ids = tok.encode(argv[2], /*add_special_tokens=*/true);
    std::printf("%zu ids:", ids.size());
    for (int32_t id : ids) std::printf(" %d", id);
    const std::string back = tok.decode(ids, /*skip_special_tokens=*/true);
    std::printf("\ndecoded: %s\n", back.c_str());
    // Round trip: decoding the ids gives the text back for this tokenizer family.
    return back == argv[2] ? 0 : 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
}
