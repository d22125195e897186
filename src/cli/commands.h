#pragma once
// Subcommand registry: each command file defines a `register_<name>(CLI::App&)` that adds its
// subcommand with a callback stored in the registry; main runs the selected one.
#include <CLI/CLI.hpp>
#include <functional>
#include <string>
#include <vector>

#include "wick/core/device.h"

namespace wick::cli {

using Runner = std::function<void()>;
/// Adds a subcommand's runner (called from each register_* function, after its options). Also
/// gives the subcommand --threads N (calls wick::set_num_threads before running) and --device
/// (resolved by device_from_flag into selected_device()), unless it defines an option of that name
/// itself.
void add_runner(CLI::App* sub, Runner run);
/// The device a --device value names ("auto" resolved); ValueError naming the flag, the value and
/// the usable devices when this build cannot run on it.
Device device_from_flag(const std::string& text);
/// The device of the running command's --device (cpu until a command runs).
Device selected_device();
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
