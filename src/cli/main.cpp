// wick: the command-line tool. Each subcommand lives in its own file and registers itself here.
#include <CLI/CLI.hpp>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <exception>
#include <iostream>

#include "cli/commands.h"
#include "wick/build_info.h"

namespace {

// A command whose output was lost (a full disk, a closed pipe, /dev/full) must not exit 0: flush
// both stdout streams and check their error state once the command is done.
int check_stdout() {
  std::cout.flush();
  errno = 0;
  const bool failed = std::fflush(stdout) != 0 || std::ferror(stdout) || !std::cout.good();
  if (!failed) return 0;
  const int e = errno;
  std::fprintf(stderr, "wick: error: cannot write to standard output%s%s\n", e ? ": " : "",
               e ? std::strerror(e) : "");
  return 1;
}

// CLI11 turns an empty value of a numeric option ("--max-tokens ''") into the default; a user
// who typed a value gets an error instead.
void reject_empty_numbers(const CLI::App& app) {
  for (const CLI::App* sub : app.get_subcommands()) {
    for (const CLI::Option* opt : sub->get_options()) {
      if (opt->count() == 0 || opt->get_expected_min() == 0) continue;
      const std::string type = opt->get_type_name();
      if (type.find("INT") == std::string::npos && type.find("FLOAT") == std::string::npos &&
          type.find("NUMBER") == std::string::npos)
        continue;
      for (const std::string& v : opt->results())
        if (v.find_first_not_of(" \t") == std::string::npos)
          throw CLI::ValidationError(opt->get_name(),
                                     "empty value; expected a number (" + type + ")");
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"wick: LoRA fine-tuning, generation and embeddings for transformer models"};
  app.set_version_flag("--version", std::string("wick ") + WICK_VERSION);
  app.require_subcommand(1);
  wick::cli::register_all(app);
  try {
    app.parse(argc, argv);
    reject_empty_numbers(app);
  } catch (const CLI::ParseError& e) {
    const int rc = app.exit(e);
    return rc != 0 ? rc : check_stdout();
  }
  try {
    wick::cli::run_selected(app);
  } catch (const std::exception& e) {
    std::fflush(stdout);
    std::fprintf(stderr, "wick: error: %s\n", e.what());
    return 1;
  }
  return check_stdout();
}
