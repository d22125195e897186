// wick tokenize: encode text to ids (one line of space-separated ids per input) or, with
// --decode, ids back to text, with a tokenizer.json or a model folder.
#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "wick/core/errors.h"
#include "wick/tokenizer/tokenizer.h"

namespace wick::cli {

namespace {

struct TokenizeArgs {
  std::string tokenizer, text, file;
  bool no_special = false, decode = false, has_text = false;
};

std::vector<int32_t> parse_ids(const std::string& line, size_t lineno) {
  std::vector<int32_t> ids;
  std::istringstream ss(line);
  std::string word;
  while (ss >> word) {
    size_t used = 0;
    long long v = 0;
    try {
      v = std::stoll(word, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used != word.size() || v < 0 || v > INT32_MAX)
      fail<ValueError>("tokenize", "line {}: '{}' is not a token id", lineno, word);
    ids.push_back(static_cast<int32_t>(v));
  }
  return ids;
}

void run(const TokenizeArgs& a) {
  Tokenizer tok = Tokenizer::from_file(a.tokenizer);
  std::vector<std::string> inputs;
  if (!a.file.empty()) {
    inputs = read_lines(a.file, "tokenize");
  } else if (a.has_text) {
    inputs.push_back(a.text);
  } else {  // neither: one input per line of stdin
    for (std::string line; std::getline(std::cin, line);) inputs.push_back(line);
  }
  std::string out;
  if (a.decode) {
    for (size_t i = 0; i < inputs.size(); ++i) {
      const std::vector<int32_t> ids = parse_ids(inputs[i], i + 1);
      // The tokenizers library skips an id it does not know; a user asking to decode it gets an
      // error rather than silently shorter text.
      for (int32_t id : ids)
        if (!tok.id_to_token(id))
          fail<ValueError>("tokenize",
                           "line {}: token id {} is not in the vocabulary; expected 0..{}", i + 1,
                           id, tok.vocab_size() - 1);
      out += tok.decode(ids, a.no_special);
      out += '\n';
    }
  } else {
    for (const auto& ids : tok.encode_batch(inputs, !a.no_special)) {
      for (size_t k = 0; k < ids.size(); ++k) {
        if (k) out += ' ';
        out += std::to_string(ids[k]);
      }
      out += '\n';
    }
  }
  std::fwrite(out.data(), 1, out.size(), stdout);
}

}  // namespace

void register_tokenize(CLI::App& app) {
  auto args = std::make_shared<TokenizeArgs>();
  auto* sub = app.add_subcommand("tokenize", "Encode text to token ids (or decode ids to text)");
  sub->add_option("--tokenizer", args->tokenizer, "tokenizer.json or a model folder")->required();
  auto* text = sub->add_option("--text", args->text, "one input text (ids with --decode)");
  auto* file = sub->add_option("--file", args->file, "file with one input per line");
  text->excludes(file);
  sub->add_flag("--no-special-tokens", args->no_special,
                "do not add special tokens (with --decode: skip them)");
  sub->add_flag("--decode", args->decode, "read lines of ids and print their text");
  sub->parse_complete_callback([args, text] { args->has_text = text->count() > 0; });
  add_runner(sub, [args] { run(*args); });
}

}  // namespace wick::cli
