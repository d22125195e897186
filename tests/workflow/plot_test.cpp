// The loss plot: whole-step ticks, the step-0 evaluation plotted, a smoothed train curve.
#include <gtest/gtest.h>

#include <cmath>
#include <regex>

#include "wick/train/trainer.h"
#include "workflow/workflow_util.h"

namespace wick::workflow {
namespace {

TEST(WorkflowPlot, TicksAreWholeSteps) {
  EXPECT_EQ(train::step_ticks(1, 3, 10), (std::vector<int64_t>{1, 2, 3}));
  EXPECT_EQ(train::step_ticks(0, 12, 10), (std::vector<int64_t>{0, 2, 4, 6, 8, 10, 12}));
  EXPECT_EQ(train::step_ticks(0, 1000, 10), (std::vector<int64_t>{0, 200, 400, 600, 800, 1000}));
  EXPECT_EQ(train::step_ticks(5, 5, 10), (std::vector<int64_t>{5}));
}

TEST(WorkflowPlot, SmoothingIsADebiasedMovingAverage) {
  const auto s = train::smooth_losses({4, 2, NAN, 2}, 0.5);
  ASSERT_EQ(s.size(), 4u);
  EXPECT_DOUBLE_EQ(s[0], 4);                            // debiased: the first value itself
  EXPECT_DOUBLE_EQ(s[1], (0.25 * 4 + 0.5 * 2) / 0.75);  // 2.666...
  EXPECT_DOUBLE_EQ(s[2], s[1]);                         // a NaN is carried over
  EXPECT_LT(s[3], s[1]);
}

TEST(WorkflowPlot, SvgHasStepZeroEvalAndBothCurves) {
  std::vector<train::StepInfo> steps;
  for (int i = 1; i <= 3; ++i) steps.push_back({.step = i, .loss = 5.0 - i});
  const std::vector<train::EvalInfo> evals = {{0, 5.5, 10}, {3, 2.5, 10}};
  const auto f = testing::temp_dir("wf_plot") / "loss.svg";
  train::write_loss_svg(f, steps, evals, "t");
  std::ifstream in(f);
  const std::string svg((std::istreambuf_iterator<char>(in)), {});
  EXPECT_NE(svg.find("class=\"train-raw\""), std::string::npos);
  EXPECT_NE(svg.find("class=\"train-smooth\""), std::string::npos);
  const std::regex circle("class=\"eval\" cx=\"([0-9.]+)\"");
  std::vector<double> xs;
  for (auto it = std::sregex_iterator(svg.begin(), svg.end(), circle); it != std::sregex_iterator();
       ++it)
    xs.push_back(std::stod((*it)[1]));
  ASSERT_EQ(xs.size(), 2u);
  EXPECT_DOUBLE_EQ(xs[0], 70.0);  // step 0 at the left edge of the axis
  // Tick labels are the whole steps 0..3, none fractional.
  for (const char* lbl : {">0</text>", ">1</text>", ">2</text>", ">3</text>"})
    EXPECT_NE(svg.find(lbl), std::string::npos) << lbl;
  EXPECT_EQ(svg.find(">0.75</text>"), std::string::npos);
}

}  // namespace
}  // namespace wick::workflow
