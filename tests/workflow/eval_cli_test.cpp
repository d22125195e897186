// wick eval / perplexity --adapter, and the training run summary, against what training computes.
#include <gtest/gtest.h>

#include "workflow/workflow_util.h"

namespace wick::workflow {
namespace {

namespace fs = std::filesystem;

// Training's step-0 and final validation losses are exactly what `wick eval` reports for the
// base model and for the adapter training wrote.
TEST(WorkflowEval, MatchesTrainingValidationLossAndSummaryIsPrinted) {
  const fs::path data = wf_data_folder("eval");
  const fs::path out = testing::temp_dir("wf_eval_out");
  fs::remove_all(out);
  const std::string model = wf_model("llama");
  const CliRun t = wf_cli(fmt::format(
      "train --model {} --data {} --out {} --iters 3 --lr 1e-2 --batch-size 2 --eval-every 3 "
      "--max-seq-len 12 --threads 1",
      model, data.string(), out.string()));
  ASSERT_EQ(t.rc, 0) << t.out;
  for (const char* s : {"parameters: ", " trainable of ", "training data: 8 examples",
                        "validation data: 3 examples", "truncated to --max-seq-len 12",
                        "initial validation loss: ", "tokens/s, peak memory ", "final train loss",
                        "adapter: ", "metrics: ", "loss plot: "})
    EXPECT_NE(t.out.find(s), std::string::npos) << s << "\n" << t.out;
  std::vector<double> evals;
  for (const auto& m : wf_json_lines(out / "metrics.jsonl"))
    if (m.contains("eval_loss")) evals.push_back(m["eval_loss"].get<double>());
  ASSERT_EQ(evals.size(), 2u);  // step 0 and step 3
  EXPECT_NE(evals[0], evals[1]);

  const std::string common =
      fmt::format("--model {} --data {} --batch-size 2 --max-seq-len 12 --json", model,
                  (data / "valid.jsonl").string());
  const CliRun base = wf_cli("eval " + common);
  ASSERT_EQ(base.rc, 0) << base.out;
  const auto bj = wf_last_json(base.out);
  EXPECT_NEAR(bj["loss"].get<double>(), evals[0], 1e-6 * evals[0]) << base.out;
  EXPECT_NEAR(bj["ppl"].get<double>(), std::exp(evals[0]), 1e-5 * std::exp(evals[0]));
  EXPECT_EQ(bj["examples"].get<int64_t>(), 3);
  const CliRun tuned = wf_cli("eval " + common + " --adapter " + out.string());
  ASSERT_EQ(tuned.rc, 0) << tuned.out;
  EXPECT_NEAR(wf_last_json(tuned.out)["loss"].get<double>(), evals[1], 1e-6 * evals[1]);

  // Scoring the prompt too changes the loss (the prompt/completion record is masked by default).
  const CliRun all = wf_cli("eval " + common + " --no-mask-prompt");
  ASSERT_EQ(all.rc, 0) << all.out;
  EXPECT_GT(wf_last_json(all.out)["tokens"].get<int64_t>(), bj["tokens"].get<int64_t>());

  // A folder means its test.jsonl, else valid.jsonl; text output names the numbers.
  const CliRun folder =
      wf_cli(fmt::format("eval --model {} --data {} --batch-size 2 "
                         "--max-seq-len 12 --threads 1",  // as training: the same summation order
                         model, data.string()));
  ASSERT_EQ(folder.rc, 0) << folder.out;
  EXPECT_NE(folder.out.find("valid.jsonl"), std::string::npos) << folder.out;
  // The text line carries 6 decimals: compare its value, not its digits (training's figure may sit
  // on a rounding boundary).
  const size_t at = folder.out.find("loss: ");
  ASSERT_NE(at, std::string::npos) << folder.out;
  EXPECT_NEAR(std::stod(folder.out.substr(at + 6)), evals[0], 2e-6) << folder.out;

  // perplexity --adapter changes the result; without it the base model's.
  const fs::path txt = out / "text.txt";
  wf_write(txt, "The cat sat on the mat. Hello, world! How are you today?");
  const CliRun p0 =
      wf_cli(fmt::format("perplexity --model {} --file {} --json", model, txt.string()));
  const CliRun p1 = wf_cli(fmt::format("perplexity --model {} --file {} --adapter {} --json", model,
                                       txt.string(), out.string()));
  ASSERT_EQ(p0.rc, 0) << p0.out;
  ASSERT_EQ(p1.rc, 0) << p1.out;
  EXPECT_NE(wf_last_json(p0.out)["nll"].get<double>(), wf_last_json(p1.out)["nll"].get<double>());
}

TEST(WorkflowEval, EvalErrorsNameTheInput) {
  const CliRun r = wf_cli("eval --model " + wf_model("llama") + " --data /nonexistent/x.jsonl");
  EXPECT_NE(r.rc, 0);
  EXPECT_NE(r.out.find("/nonexistent/x.jsonl"), std::string::npos) << r.out;
  const fs::path empty = testing::temp_dir("wf_eval_nofiles");
  const CliRun f = wf_cli("eval --model " + wf_model("llama") + " --data " + empty.string());
  EXPECT_NE(f.rc, 0);
  EXPECT_NE(f.out.find("test.jsonl"), std::string::npos) << f.out;
}

TEST(WorkflowTrain, EvalEveryWithoutValidationDataIsAnError) {
  const fs::path out = testing::temp_dir("wf_noval_out");
  const CliRun r = wf_cli(
      fmt::format("train --model {} --data {} --out {} --iters 1 --eval-every 1", wf_model("llama"),
                  (testing::fixtures_dir() / "train/data.jsonl").string(), out.string()));
  EXPECT_NE(r.rc, 0) << r.out;
  EXPECT_NE(r.out.find("eval-every 1 needs validation data"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("data.jsonl"), std::string::npos) << r.out;
}

// With a zero learning rate the validation loss never improves: --early-stop 2 stops after the
// second evaluation without improvement, and --keep-best keeps the step-0 state.
TEST(WorkflowTrain, EarlyStopAndKeepBest) {
  const fs::path data = wf_data_folder("early");
  const fs::path out = testing::temp_dir("wf_early_out");
  fs::remove_all(out);
  const CliRun r = wf_cli(fmt::format(
      "train --model {} --data {} --out {} --iters 10 --lr 0 --eval-every 2 --early-stop 2 "
      "--keep-best --max-seq-len 16",
      wf_model("llama"), data.string(), out.string()));
  ASSERT_EQ(r.rc, 0) << r.out;
  EXPECT_NE(r.out.find("early stop at step 4"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("(stopped early)"), std::string::npos) << r.out;
  EXPECT_TRUE(fs::exists(out / "checkpoint-best" / "adapter_model.safetensors"));
  EXPECT_TRUE(fs::exists(out / "adapter_model.safetensors"));
  int steps = 0;
  for (const auto& m : wf_json_lines(out / "metrics.jsonl")) steps += m.contains("loss");
  EXPECT_EQ(steps, 4);
  // Early stop needs periodic evaluation.
  const CliRun bad =
      wf_cli(fmt::format("train --model {} --data {} --out {} --iters 2 --early-stop 1",
                         wf_model("llama"), data.string(), out.string() + "2"));
  EXPECT_NE(bad.rc, 0);
  EXPECT_NE(bad.out.find("eval-every"), std::string::npos) << bad.out;
}

}  // namespace
}  // namespace wick::workflow
