// wick: the command-line tool. Each subcommand lives in its own file and registers itself here.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <exception>

#include "cli/commands.h"
#include "wick/build_info.h"

int main(int argc, char** argv) {
  CLI::App app{"wick: LoRA fine-tuning, generation and embeddings for transformer models"};
  app.set_version_flag("--version", std::string("wick ") + WICK_VERSION);
  app.require_subcommand(1);
  wick::cli::register_all(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  try {
    wick::cli::run_selected(app);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "wick: error: %s\n", e.what());
    return 1;
  }
  return 0;
}
