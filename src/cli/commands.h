#pragma once
// Subcommand registry: each command file defines a `register_<name>(CLI::App&)` that adds its
// subcommand with a callback stored in the registry; main runs the selected one.
#include <CLI/CLI.hpp>
#include <functional>
#include <string>
#include <vector>

namespace wick::cli {

using Runner = std::function<void()>;
/// Adds a subcommand's runner (called from each register_* function, after its options). Also
/// gives the subcommand --threads N (calls wick::set_num_threads before running) and --device
/// (checked against supported_devices()), unless it defines an option of that name itself.
void add_runner(CLI::App* sub, Runner run);
/// The devices this build can run on, comma-separated ("cpu").
std::string supported_devices();
/// ValueError naming `device` and the supported ones unless this build runs on it.
void check_device(const std::string& device);
/// Registers every subcommand (commands.cpp lists them).
void register_all(CLI::App& app);
/// Runs the subcommand that was parsed.
void run_selected(CLI::App& app);

void register_embed(CLI::App& app);
void register_info(CLI::App& app);
void register_search(CLI::App& app);
void register_tokenize(CLI::App& app);
void register_merge(CLI::App& app);
void register_export(CLI::App& app);
void register_generate(CLI::App& app);
void register_chat(CLI::App& app);
void register_perplexity(CLI::App& app);
void register_eval(CLI::App& app);
/// Prints what a model folder holds (wick info --model DIR).
void print_model_info(const std::string& dir);
void register_train(CLI::App& app);
void register_quickstart(CLI::App& app);
void register_serve(CLI::App& app);

/// The lines of a text file, one entry per line ("\r\n" ends a line too; a final newline adds
/// no empty entry). IoError naming `op` and the file when it cannot be read.
std::vector<std::string> read_lines(const std::string& path, const char* op);

}  // namespace wick::cli
