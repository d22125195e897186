#include "cli/train_checks.h"

#include <algorithm>
#include <limits>
#include <set>

#include "cli/flag_checks.h"
#include "wick/core/errors.h"
#include "wick/lora/lora.h"

namespace wick::cli {

namespace {

constexpr int64_t kMaxSteps = int64_t(1) << 40;

std::string join_names(const std::vector<std::string>& v) {
  std::string s;
  for (const auto& x : v) s += (s.empty() ? "" : ",") + x;
  return s;
}

void check_resume_matches(const train::TrainConfig& c,
                          const std::function<bool(const char*)>& given) {
  if (!c.resume || c.full) return;
  const lora::LoraConfig ck = lora::read_adapter_config(*c.resume);
  const std::string file = (*c.resume / "adapter_config.json").string();
  auto differs = [&](const char* flag, const std::string& now, const std::string& then) {
    fail<ValueError>("resume",
                     "{} {} differs from the checkpoint's {} ('{}'); resume with the settings of "
                     "the run that wrote it",
                     flag, now, then, file);
  };
  if (given("--lora-rank") && c.lora.r != ck.r)
    differs("--lora-rank", std::to_string(c.lora.r), fmt::format("r = {}", ck.r));
  if (given("--lora-alpha") && c.lora.lora_alpha != ck.lora_alpha)
    differs("--lora-alpha", fmt::format("{}", c.lora.lora_alpha),
            fmt::format("lora_alpha = {}", ck.lora_alpha));
  if (given("--lora-dropout") && c.lora.lora_dropout != ck.lora_dropout)
    differs("--lora-dropout", fmt::format("{}", c.lora.lora_dropout),
            fmt::format("lora_dropout = {}", ck.lora_dropout));
  if (given("--target-modules")) {
    const std::set<std::string> now(c.lora.target_modules.begin(), c.lora.target_modules.end());
    const std::set<std::string> then(ck.target_modules.begin(), ck.target_modules.end());
    if (now != then)
      differs("--target-modules", join_names(c.lora.target_modules),
              "target_modules = " + join_names(ck.target_modules));
  }
}

}  // namespace

void check_train_settings(const train::TrainConfig& c,
                          const std::function<bool(const char*)>& given) {
  constexpr double kInf = std::numeric_limits<double>::infinity();
  if (!c.full) {
    check_int_flag("--lora-rank", c.lora.r, 1, 1 << 16);
    check_real_flag("--lora-alpha", c.lora.lora_alpha, 0, kInf, /*lo_open=*/true);
    if (!(c.lora.lora_dropout >= 0 && c.lora.lora_dropout < 1))
      fail<ValueError>("cli", "--lora-dropout {} is out of range; expected a number in [0, 1)",
                       c.lora.lora_dropout);
  }
  check_real_flag("--lr", c.lr, 0, kInf);
  check_real_flag("--weight-decay", c.weight_decay, 0, kInf);
  check_real_flag("--max-grad-norm", c.max_grad_norm, 0, kInf);
  check_int_flag("--warmup", c.warmup, 0, kMaxSteps);
  // 0 is the library's "not set" (train for --epochs); a user asking for 0 steps gets an error.
  if (given("--iters")) check_int_flag("--iters", c.iters, 1, kMaxSteps);
  check_int_flag("--iters", c.iters, 0, kMaxSteps);
  if (given("--epochs")) check_int_flag("--epochs", c.epochs, 1, 1 << 20);
  check_int_flag("--epochs", c.epochs, 0, 1 << 20);
  check_int_flag("--batch-size", c.batch_size, 1, 1 << 20);
  check_int_flag("--grad-accum", c.grad_accum, 1, 1 << 20);
  check_int_flag("--max-seq-len", int64_t(std::min<size_t>(c.max_seq_len, size_t(1) << 62)), 1,
                 int64_t(1) << 24);
  check_int_flag("--save-every", c.save_every, 0, kMaxSteps);
  check_int_flag("--eval-every", c.eval_every, 0, kMaxSteps);
  check_resume_matches(c, given);
}

}  // namespace wick::cli
