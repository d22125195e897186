// Training, resuming, merging and the quickstart against hostile folders: outputs that overlap
// inputs, an earlier run's folder, tampered trainer_state.json, changed LoRA settings on resume,
// data with nothing to train on, and a full disk. Each ends in a clear error (or the documented
// result) with every input byte-identical.
#include <fmt/format.h>

#include <functional>
#include <nlohmann/json.hpp>

#include "redteam.h"

namespace wick::redteam {
namespace {

using nlohmann::json;

const char* kTrain = "train --model {llama} --data {data} --iters 2 --batch-size 2 --lora-rank 4";

// One run that writes checkpoint-1 and checkpoint-2, shared by the resume cases.
const fs::path& base_run() {
  static const fs::path dir = [] {
    const fs::path d = workspace().root / "base_run";
    const auto r = run_wick(
        expand(std::string(kTrain) + " --save-every 1 --out " + d.string(), workspace().vars));
    EXPECT_EQ(r.rc, 0) << r.out;
    return d;
  }();
  return dir;
}

struct TrainCase {
  TrainCase(std::string name_, std::function<void(const fs::path&)> setup_, Case c_,
            std::vector<std::string> inputs_ = {},
            std::function<void(const fs::path&)> after_ = nullptr)
      : name(std::move(name_)),
        setup(std::move(setup_)),
        c(std::move(c_)),
        inputs(std::move(inputs_)),
        after(std::move(after_)) {}
  std::string name;
  std::function<void(const fs::path& s)> setup;
  Case c;
  std::vector<std::string> inputs;  // extra inputs under {s} that must stay unchanged
  std::function<void(const fs::path& s)> after;
};

// A copy of the base run's checkpoint-1 in {s}/ck with trainer_state.json edited by `edit`.
std::function<void(const fs::path&)> tampered(std::function<void(json&)> edit) {
  return [edit](const fs::path& s) {
    fs::copy(base_run() / "checkpoint-1", s / "ck", fs::copy_options::recursive);
    json st = json::parse(read_text(s / "ck" / "trainer_state.json"));
    edit(st);
    write_text(s / "ck" / "trainer_state.json", st.dump());
  };
}

std::vector<TrainCase> train_cases() {
  std::vector<TrainCase> v;
  const std::string t = kTrain;
  // Outputs that overlap an input.
  v.push_back({"full_out_is_model",
               nullptr,
               {"", "train --model {llama} --data {data} --iters 1 --full --out {llama}",
                Expect::error, "overlaps --model"}});
  v.push_back({"out_is_model", nullptr, {"", t + " --out {llama}", Expect::error, "overlaps"}});
  v.push_back({"out_inside_model",
               nullptr,
               {"", t + " --out {llama}/run", Expect::error, "overlaps"},
               {},
               [](const fs::path&) { EXPECT_FALSE(fs::exists(workspace().llama / "run")); }});
  v.push_back({"out_contains_model",
               nullptr,
               {"", t + " --out {root}", Expect::error, "overlaps --model"}});
  v.push_back({"out_model_via_dotdot",
               nullptr,
               {"", t + " --out {llama}/../llama", Expect::error, "overlaps --model"}});
  v.push_back({"out_model_via_symlink",
               [](const fs::path& s) { fs::create_directory_symlink(workspace().llama, s / "l"); },
               {"", t + " --out {s}/l", Expect::error, "overlaps --model"}});
  v.push_back(
      {"out_is_data_file", nullptr, {"", t + " --out {data}", Expect::error, "overlaps --data"}});
  v.push_back({"out_contains_data",
               [](const fs::path& s) {
                 fs::create_directories(s / "o");
                 fs::copy_file(workspace().data, s / "o" / "d.jsonl");
               },
               {"", "train --model {llama} --data {s}/o/d.jsonl --iters 1 --out {s}/o",
                Expect::error, "overlaps --data"},
               {"o"}});
  v.push_back({"out_is_resume_adapter",
               nullptr,
               {"", t + " --resume-adapter {adapter} --out {adapter}", Expect::error,
                "overlaps --resume-adapter"}});
  v.push_back({"out_is_a_file",
               [](const fs::path& s) { write_text(s / "f", "x"); },
               {"", t + " --out {s}/f", Expect::error, "not a folder"},
               {"f"}});
  v.push_back({"out_parent_is_a_file",
               [](const fs::path& s) { write_text(s / "f", "x"); },
               {"", t + " --out {s}/f/run", Expect::error, "cannot create"},
               {"f"}});
  v.push_back({"metrics_dev_full",
               nullptr,
               {"", t + " --out {s}/o --metrics /dev/full", Expect::error, "not a regular file"},
               {},
               [](const fs::path&) { EXPECT_TRUE(fs::is_character_file("/dev/full")); }});
  v.push_back({"metrics_is_data",
               nullptr,
               {"", t + " --out {s}/o --metrics {data}", Expect::error, "overlaps --data"}});
  v.push_back({"metrics_symlink",
               [](const fs::path& s) {
                 write_text(s / "target", "keep");
                 fs::create_symlink(s / "target", s / "m.jsonl");
               },
               {"", t + " --out {s}/o --metrics {s}/m.jsonl", Expect::error, "symbolic link"},
               {"target", "m.jsonl"}});
  v.push_back({"metrics_existing_file",
               [](const fs::path& s) { write_text(s / "m.jsonl", "{\"step\": 1}\n"); },
               {"", t + " --out {s}/o --metrics {s}/m.jsonl", Expect::error, "already exists"},
               {"m.jsonl"}});
  v.push_back(
      {"metrics_existing_file_overwrite",
       [](const fs::path& s) { write_text(s / "m.jsonl", "{\"step\": 1}\n"); },
       {"", t + " --out {s}/o --metrics {s}/m.jsonl --overwrite", Expect::ok, "trained 2 steps"},
       {},
       [](const fs::path& s) {
         EXPECT_NE(read_text(s / "m.jsonl").find("\"grad_norm\""), std::string::npos);
       }});
  // An earlier run's folder is not reused silently.
  v.push_back(
      {"rerun_into_previous_run",
       [](const fs::path& s) { fs::copy(base_run(), s / "o", fs::copy_options::recursive); },
       {"", t + " --out {s}/o", Expect::error, "--overwrite"},
       {"o"}});
  v.push_back({"rerun_into_folder_with_user_file",
               [](const fs::path& s) {
                 fs::create_directories(s / "o");
                 write_text(s / "o" / "notes.txt", "mine");
               },
               {"", t + " --out {s}/o", Expect::error, "not empty"},
               {"o"}});
  v.push_back({"rerun_with_overwrite",
               [](const fs::path& s) {
                 fs::copy(base_run(), s / "o", fs::copy_options::recursive);
                 fs::create_directories(s / "o" / "checkpoint-7");
                 write_text(s / "o" / "notes.txt", "mine");
               },
               {"", t + " --out {s}/o --overwrite", Expect::ok, "trained 2 steps"},
               {},
               [](const fs::path& s) {
                 EXPECT_FALSE(fs::exists(s / "o" / "checkpoint-7"));
                 EXPECT_FALSE(fs::exists(s / "o" / "checkpoint-1"));
                 EXPECT_EQ(read_text(s / "o" / "notes.txt"), "mine");
                 EXPECT_TRUE(fs::exists(s / "o" / "adapter_model.safetensors"));
               }});
  v.push_back(
      {"resume_inside_own_folder",
       [](const fs::path& s) { fs::copy(base_run(), s / "o", fs::copy_options::recursive); },
       {"", t + " --out {s}/o --resume {s}/o/checkpoint-1", Expect::ok, "trained 2 steps"}});
  v.push_back(
      {"resume_out_is_checkpoint",
       [](const fs::path& s) { fs::copy(base_run(), s / "o", fs::copy_options::recursive); },
       {"", t + " --out {s}/o/checkpoint-1 --resume {s}/o/checkpoint-1", Expect::error,
        "overlaps --resume"},
       {"o"}});
  // Tampered trainer_state.json.
  auto st_case = [&](const std::string& name, std::function<void(json&)> edit,
                     const std::string& needle) {
    v.push_back({"trainer_state_" + name,
                 tampered(edit),
                 {"", t + " --out {s}/o --resume {s}/ck", Expect::error, needle},
                 {"ck"},
                 [](const fs::path& s) {
                   EXPECT_FALSE(fs::exists(s / "o" / "adapter_model.safetensors"));
                 }});
  };
  st_case(
      "step_negative", [](json& j) { j["step"] = -1; }, "\"step\" = -1 is out of range");
  st_case(
      "step_zero", [](json& j) { j["step"] = 0; }, "\"step\" = 0 is out of range");
  st_case(
      "step_huge", [](json& j) { j["step"] = 1000000000000LL; }, "\"step\"");
  st_case(
      "step_past_run", [](json& j) { j["step"] = 3; }, "expected 1..2");
  st_case(
      "step_string", [](json& j) { j["step"] = "1"; }, "malformed");
  st_case(
      "step_missing", [](json& j) { j.erase("step"); }, "malformed");
  st_case(
      "position_negative", [](json& j) { j["position"] = -1; }, "\"position\"");
  st_case(
      "position_past_data", [](json& j) { j["position"] = 1000000000; }, "\"position\"");
  st_case(
      "epoch_negative", [](json& j) { j["epoch"] = -1; }, "\"epoch\"");
  st_case(
      "epoch_huge", [](json& j) { j["epoch"] = 4611686018427387904LL; }, "\"epoch\"");
  st_case(
      "tokens_seen_negative", [](json& j) { j["tokens_seen"] = -5; }, "\"tokens_seen\"");
  st_case(
      "data_size_changed", [](json& j) { j["data_size"] = 3; }, "examples");
  st_case(
      "full_flag_flipped", [](json& j) { j["full"] = true; }, "full fine-tuning");
  st_case(
      "optimizer_changed", [](json& j) { j["optimizer"] = "sgd"; }, "optimizer");
  st_case(
      "trainable_dropped", [](json& j) { j["trainable"] = json::array({"x"}); },
      "trainable tensors");
  st_case(
      "log_history_garbage", [](json& j) { j["log_history"] = json::array({"{not json"}); },
      "log_history");
  st_case(
      "log_history_not_list", [](json& j) { j["log_history"] = 5; }, "malformed");
  st_case(
      "rng_missing", [](json& j) { j.erase("rng"); }, "malformed");
  st_case(
      "not_an_object",
      [](json& j) {
        j = json::array({1, 2});
      },
      "malformed");
  v.push_back({"trainer_state_not_json",
               [](const fs::path& s) {
                 fs::copy(base_run() / "checkpoint-1", s / "ck", fs::copy_options::recursive);
                 write_text(s / "ck" / "trainer_state.json", "{\"step\": ");
               },
               {"", t + " --out {s}/o --resume {s}/ck", Expect::error, "not valid JSON"},
               {"ck"}});
  v.push_back({"trainer_state_missing",
               [](const fs::path& s) {
                 fs::copy(base_run() / "checkpoint-1", s / "ck", fs::copy_options::recursive);
                 fs::remove(s / "ck" / "trainer_state.json");
               },
               {"", t + " --out {s}/o --resume {s}/ck", Expect::error, "trainer_state.json"},
               {"ck"}});
  v.push_back({"optimizer_state_truncated",
               [](const fs::path& s) {
                 fs::copy(base_run() / "checkpoint-1", s / "ck", fs::copy_options::recursive);
                 std::string b = read_text(s / "ck" / "optimizer.safetensors");
                 write_text(s / "ck" / "optimizer.safetensors", b.substr(0, b.size() / 2));
               },
               {"", t + " --out {s}/o --resume {s}/ck", Expect::error, "optimizer.safetensors"},
               {"ck"}});
  // --resume with settings that differ from the checkpoint's.
  for (const auto& [flag, value] : std::vector<std::pair<std::string, std::string>>{
           {"--lora-rank", "8"},
           {"--lora-alpha", "64"},
           {"--lora-dropout", "0.5"},
           {"--target-modules", "q_proj"},
           {"--target-modules", "q_proj,v_proj,k_proj"}})
    v.push_back({"resume_changed" + flag + "_" + value,
                 [](const fs::path& s) {
                   fs::copy(base_run() / "checkpoint-1", s / "ck", fs::copy_options::recursive);
                 },
                 {"",
                  "train --model {llama} --data {data} --iters 2 --batch-size 2 --out {s}/o "
                  "--resume {s}/ck " +
                      flag + " " + value,
                  Expect::error, flag + " " + value + " differs from the checkpoint"},
                 {"ck"}});
  v.push_back({"resume_same_settings",
               [](const fs::path& s) {
                 fs::copy(base_run() / "checkpoint-1", s / "ck", fs::copy_options::recursive);
               },
               {"", t + " --out {s}/o --resume {s}/ck", Expect::ok, "trained 2 steps"},
               {"ck"}});
  // Nothing to train on.
  v.push_back(
      {"zero_target_tokens",
       [](const fs::path& s) {
         write_text(s / "d.jsonl",
                    "{\"prompt\": \"hello there\", \"completion\": \"\"}\n"
                    "{\"prompt\": \"more\", \"completion\": \"\"}\n");
       },
       {"", "train --model {llama} --data {s}/d.jsonl --mask-prompt --no-eos --out {s}/o",
        Expect::error, "no target tokens"},
       {"d.jsonl"},
       [](const fs::path& s) { EXPECT_FALSE(fs::exists(s / "o" / "adapter_model.safetensors")); }});
  v.push_back(
      {"empty_data",
       [](const fs::path& s) { write_text(s / "d.jsonl", ""); },
       {"", "train --model {llama} --data {s}/d.jsonl --out {s}/o", Expect::error, "d.jsonl"},
       {"d.jsonl"}});
  v.push_back({"data_is_folder_without_train_jsonl",
               [](const fs::path& s) { fs::create_directories(s / "dd"); },
               {"", "train --model {llama} --data {s}/dd --out {s}/o", Expect::error, "dd"}});
  // Examples longer than the model's context (512) are trained on with one warning.
  v.push_back(
      {"examples_past_context",
       [](const fs::path& s) {
         std::string text;
         for (int i = 0; i < 200; ++i) text += "the cat sat on the mat ";
         write_text(s / "d.jsonl", "{\"text\": \"" + text + "\"}\n{\"text\": \"short\"}\n");
       },
       {"", "train --model {llama} --data {s}/d.jsonl --iters 1 --max-seq-len 600 --out {s}/o",
        Expect::ok, "warning: 1 example(s) are longer than the model's context of 512"},
       {"d.jsonl"}});
  // A full disk while resuming in the run's own folder: the adapter and checkpoint stay as they
  // were, and metrics.jsonl is either the old file or a complete log (never cut short).
  v.push_back(
      {"file_size_limit_resume_keeps_adapter",
       [](const fs::path& s) { fs::copy(base_run(), s / "o", fs::copy_options::recursive); },
       {"", t + " --out {s}/o --resume {s}/o/checkpoint-1", Expect::error, "write failed",
        "trap '' XFSZ; ulimit -f 1; "},
       {"o/adapter_model.safetensors", "o/adapter_config.json", "o/checkpoint-1"},
       [](const fs::path& s) {
         std::stringstream in(read_text(s / "o" / "metrics.jsonl"));
         int lines = 0;
         for (std::string l; std::getline(in, l); ++lines) EXPECT_TRUE(json::accept(l)) << l;
         EXPECT_GE(lines, 2);
       }});
  v.push_back(
      {"file_size_limit_fresh_run",
       nullptr,
       {"", t + " --out {s}/o", Expect::error, "write failed", "trap '' XFSZ; ulimit -f 1; "},
       {},
       [](const fs::path& s) { EXPECT_FALSE(fs::exists(s / "o" / "adapter_model.safetensors")); }});
  // merge and quickstart never write into a non-empty folder.
  v.push_back({"merge_into_model",
               nullptr,
               {"", "merge --model {llama} --adapter {adapter} --out {llama}", Expect::error,
                "not empty"}});
  v.push_back({"merge_into_adapter",
               nullptr,
               {"", "merge --model {llama} --adapter {adapter} --out {adapter}", Expect::error,
                "not empty"}});
  v.push_back({"quickstart_out_not_empty",
               [](const fs::path& s) {
                 fs::create_directories(s / "q" / "data");
                 fs::create_directories(s / "q" / "tokenizer");
                 write_text(s / "q" / "data" / "mine.jsonl", "{}");
               },
               {"", "quickstart --tiny --out {s}/q", Expect::error, "is not empty"},
               {"q"}});
  v.push_back({"quickstart_out_is_file",
               [](const fs::path& s) { write_text(s / "q", "x"); },
               {"", "quickstart --tiny --out {s}/q", Expect::error, "not a folder"},
               {"q"}});
  return v;
}

class RedteamTrain : public ::testing::TestWithParam<TrainCase> {};

TEST_P(RedteamTrain, OutputsNeverDestroyInputs) {
  const Workspace& w = workspace();
  base_run();
  static int counter = 0;
  const fs::path s = w.root / ("train_" + std::to_string(++counter));
  fs::create_directories(s);
  if (GetParam().setup) GetParam().setup(s);
  if (HasFatalFailure()) return;
  auto vars = w.vars;
  vars["s"] = s.string();
  auto inputs = w.inputs();
  for (const auto& rel : GetParam().inputs) inputs.push_back(s / rel);
  check_case(GetParam().c, vars, inputs);
  if (GetParam().after) GetParam().after(s);
  fs::remove_all(s);
}

INSTANTIATE_TEST_SUITE_P(Cases, RedteamTrain, ::testing::ValuesIn(train_cases()),
                         [](const auto& info) {
                           return case_name(std::to_string(info.index) + "_" + info.param.name);
                         });

}  // namespace
}  // namespace wick::redteam
