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

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"wick: LoRA fine-tuning, generation and embeddings for transformer models"};
  app.set_version_flag("--version", std::string("wick ") + WICK_VERSION);
  app.require_subcommand(1);
  wick::cli::register_all(app);
  try {
    app.parse(argc, argv);
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
