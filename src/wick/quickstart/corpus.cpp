#include "wick/quickstart/corpus.h"

#include <sys/wait.h>

#include <array>
#include <cctype>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <unordered_map>

#include "wick/core/errors.h"

namespace wick::quickstart {

namespace fs = std::filesystem;

namespace {

bool program_on_path(const std::string& name) {
  const char* path = std::getenv("PATH");
  std::stringstream ss(path ? path : "");
  for (std::string dir; std::getline(ss, dir, ':');)
    if (!dir.empty() && fs::exists(fs::path(dir) / name)) return true;
  return false;
}

std::string read_file(const fs::path& f, const char* package) {
  std::ifstream in(f, std::ios::binary);
  if (!in)
    fail<IoError>("quickstart", "cannot open '{}'; install the Debian package {}", f.string(),
                  package);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string trim(const std::string& s) {
  size_t a = 0, b = s.size();
  while (a < b && std::isspace(static_cast<unsigned char>(s[a]))) ++a;
  while (b > a && std::isspace(static_cast<unsigned char>(s[b - 1]))) --b;
  return s.substr(a, b - a);
}

}  // namespace

std::string read_bible(const std::string& range) {
  if (!program_on_path("bible"))
    fail<IoError>("quickstart",
                  "the 'bible' program was not found; install the Debian package bible-kjv "
                  "(apt-get install bible-kjv)");
  for (char ch : range)
    if (!std::isalnum(static_cast<unsigned char>(ch)) && ch != ':' && ch != '-')
      fail<ValueError>("quickstart", "bad verse range '{}'", range);
  const std::string cmd = "bible \"" + range + "\" 2>/dev/null";
  FILE* p = popen(cmd.c_str(), "r");
  if (!p) fail<IoError>("quickstart", "cannot run '{}'", cmd);
  std::string out;
  std::array<char, 1 << 16> buf{};
  for (size_t n; (n = std::fread(buf.data(), 1, buf.size(), p)) > 0;) out.append(buf.data(), n);
  const int status = pclose(p);
  if (status != 0 || out.empty())
    fail<IoError>("quickstart", "'{}' failed (status {}); is the Debian package bible-kjv intact?",
                  cmd, status);
  return out;
}

std::vector<std::string> parse_bible_verses(const std::string& text) {
  // Verses start with "  <number> "; continuation lines start without indentation; headings
  // ("Genesis 1") stand alone between blank lines.
  std::vector<std::string> verses;
  std::istringstream in(text);
  bool in_verse = false;
  for (std::string line; std::getline(in, line);) {
    if (trim(line).empty()) {
      in_verse = false;
      continue;
    }
    size_t i = 0;
    while (i < line.size() && line[i] == ' ') ++i;
    size_t j = i;
    while (j < line.size() && std::isdigit(static_cast<unsigned char>(line[j]))) ++j;
    if (i > 0 && j > i && j < line.size() && line[j] == ' ') {
      verses.push_back(trim(line.substr(j + 1)));
      in_verse = true;
    } else if (in_verse && i == 0) {
      verses.back().push_back(' ');
      verses.back().append(trim(line));
    } else {
      in_verse = false;  // a heading
    }
  }
  return verses;
}

std::vector<std::string> group_verses(const std::vector<std::string>& verses, size_t min_chars) {
  std::vector<std::string> docs;
  std::string cur;
  for (const auto& v : verses) {
    if (!cur.empty()) cur += ' ';
    cur += v;
    if (cur.size() >= min_chars) docs.push_back(std::move(cur)), cur.clear();
  }
  if (!cur.empty()) docs.push_back(std::move(cur));
  return docs;
}

std::vector<Definition> read_wordnet_nouns(const fs::path& dir) {
  const std::string index = read_file(dir / "index.noun", "wordnet");
  const std::string data = read_file(dir / "data.noun", "wordnet");
  std::vector<Definition> out;
  std::istringstream in(index);
  for (std::string line; std::getline(in, line);) {
    if (line.empty() || line[0] == ' ') continue;  // license header
    std::istringstream ls(line);
    std::string word, pos;
    size_t synsets = 0, pointers = 0;
    ls >> word >> pos >> synsets >> pointers;
    if (word.size() < 3 || word.size() > 14) continue;
    bool letters = true;
    for (char ch : word) letters = letters && ch >= 'a' && ch <= 'z';
    if (!letters || synsets == 0) continue;
    std::string skip;
    for (size_t k = 0; k < pointers + 2; ++k) ls >> skip;  // pointer symbols, sense counts
    size_t offset = 0;
    if (!(ls >> offset) || offset >= data.size()) continue;
    // data.noun: the synset's line starts at byte `offset`; the gloss follows "| ".
    const size_t eol = data.find('\n', offset);
    const std::string entry = data.substr(offset, eol - offset);
    const size_t bar = entry.find("| ");
    if (bar == std::string::npos) continue;
    std::string gloss = entry.substr(bar + 2);
    gloss = gloss.substr(0, gloss.find(';'));
    gloss = trim(gloss.substr(0, gloss.find('"')));
    if (gloss.empty()) continue;
    out.push_back({word, gloss});
  }
  if (out.empty())
    fail<IoError>("quickstart", "no nouns found in '{}'", (dir / "index.noun").string());
  return out;
}

}  // namespace wick::quickstart
