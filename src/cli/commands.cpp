#include "cli/commands.h"

#include <fstream>
#include <memory>
#include <vector>

#include "wick/core/backend.h"
#include "wick/core/errors.h"
#include "wick/core/runtime.h"
#include "wick/io/hf_cache.h"

namespace wick::cli {

namespace {
std::vector<std::pair<CLI::App*, Runner>>& runners() {
  static std::vector<std::pair<CLI::App*, Runner>> r;
  return r;
}
Device& selected() {
  static Device d = Device::cpu();
  return d;
}
}  // namespace

void add_runner(CLI::App* sub, Runner run) {
  // Every command takes --threads and --device (unless it defines its own); they are applied
  // before the command runs.
  struct Common {
    int threads = 0;
    std::string device = "auto";
  };
  auto c = std::make_shared<Common>();
  // --model also takes a Hugging Face Hub id, resolved offline from the local HF cache.
  if (CLI::Option* model = sub->get_option_no_throw("--model"))
    model->transform(CLI::Validator(
        [](std::string& v) -> std::string {
          try {
            v = io::resolve_model_path(v).string();
            return {};
          } catch (const std::exception& e) {
            return e.what();
          }
        },
        "", "hub-id"));
  const bool own_threads = sub->get_option_no_throw("--threads") != nullptr;
  const bool own_device = sub->get_option_no_throw("--device") != nullptr;
  if (!own_threads)
    sub->add_option("--threads", c->threads, "Threads for kernels and BLAS (default: all cores)")
        ->check(CLI::NonNegativeNumber);
  if (!own_device)
    sub->add_option("--device", c->device,
                    "Device to run on: auto (default: cuda:0 when this build has CUDA and a GPU is "
                    "usable, else cpu), cpu, cuda, cuda:N, checked:N (a CPU test device)");
  runners().emplace_back(sub, [c, own_threads, own_device, run = std::move(run)] {
    if (!own_device) selected() = device_from_flag(c->device);
    if (!own_threads && c->threads > 0) set_num_threads(c->threads);
    run();
  });
}

Device device_from_flag(const std::string& text) {
  try {
    return select_device(text);
  } catch (const ValueError&) {
    fail<ValueError>("cli", "--device '{}' is not usable in this build; usable devices: auto, {}",
                     text, available_devices_string());
  }
}

Device selected_device() { return selected(); }

void register_all(CLI::App& app) {
  // One line per subcommand file.
  register_embed(app);
  register_info(app);
  register_search(app);
  register_tokenize(app);
  register_merge(app);
  register_export(app);
  register_generate(app);
  register_chat(app);
  register_perplexity(app);
  register_eval(app);
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
