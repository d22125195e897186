#include "cli/commands.h"

#include <fstream>
#include <vector>

#include "wick/core/errors.h"

namespace wick::cli {

namespace {
std::vector<std::pair<CLI::App*, Runner>>& runners() {
  static std::vector<std::pair<CLI::App*, Runner>> r;
  return r;
}
}  // namespace

void add_runner(CLI::App* sub, Runner run) { runners().emplace_back(sub, std::move(run)); }

void register_all(CLI::App& app) {
  // One line per subcommand file.
  register_embed(app);
  register_info(app);
  register_search(app);
  register_tokenize(app);
  register_merge(app);
  register_generate(app);
  register_chat(app);
  register_perplexity(app);
  register_train(app);
  register_quickstart(app);
  register_serve(app);
}

void run_selected(CLI::App& app) {
  for (auto& [sub, run] : runners())
    if (sub->parsed()) return run();
}

std::vector<std::string> read_lines(const std::string& path, const char* op) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail<IoError>(op, "cannot open input file '{}'", path);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    lines.push_back(std::move(line));
  }
  if (in.bad()) fail<IoError>(op, "error reading '{}'", path);
  return lines;
}

}  // namespace wick::cli
