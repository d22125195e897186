#pragma once
// Data for the built-in demo (wick quickstart), read from Debian packages: the King James Bible
// (package bible-kjv, through its `bible` program) as pretraining text, and WordNet's noun
// glosses (package wordnet, /usr/share/wordnet) as an instruction-style set.
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace wick::quickstart {

/// Runs `bible "Gen1:1-Rev22:21"` (or `range`) and returns its output; IoError naming the
/// bible-kjv package when the program is missing or fails.
std::string read_bible(const std::string& range = "Gen1:1-Rev22:21");

/// Splits the `bible` program's output into verses ("In the beginning God created ..."), with the
/// wrapped lines joined and the book/chapter headings and verse numbers dropped.
std::vector<std::string> parse_bible_verses(const std::string& text);

/// Groups consecutive verses into documents of at least `min_chars` characters (the last may be
/// shorter), joined by single spaces.
std::vector<std::string> group_verses(const std::vector<std::string>& verses, size_t min_chars);

/// A noun and the first clause of its most frequent sense's gloss.
struct Definition {
  std::string word;
  std::string gloss;
};

/// Reads WordNet's index.noun and data.noun in `dir`: for every single-word lower-case noun of 3
/// to 14 letters, the gloss of its first listed (most frequent) sense, cut at the first ';' and
/// without quoted examples. IoError naming the wordnet package when the files are missing.
std::vector<Definition> read_wordnet_nouns(const std::filesystem::path& dir = "/usr/share/wordnet");

}  // namespace wick::quickstart
