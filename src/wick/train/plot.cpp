// A small self-contained SVG line plot of the loss curve: training loss per step (a light raw line
// and a smoothed one beside it), eval loss (dots, the step-0 evaluation included), gridlines and
// labels at whole steps on x and 5 ticks on y.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>

#include "wick/io/atomic_file.h"
#include "wick/train/trainer.h"

namespace wick::train {

namespace {

std::string escape(const std::string& s) {
  std::string o;
  for (char c : s) {
    if (c == '<')
      o += "&lt;";
    else if (c == '>')
      o += "&gt;";
    else if (c == '&')
      o += "&amp;";
    else
      o += c;
  }
  return o;
}

}  // namespace

std::vector<double> smooth_losses(const std::vector<double>& v, double weight) {
  // TensorBoard's debiased exponential moving average: non-finite values are skipped (carried).
  std::vector<double> out(v.size(), std::nan(""));
  double acc = 0, norm = 0;
  for (size_t i = 0; i < v.size(); ++i) {
    if (std::isfinite(v[i])) {
      acc = weight * acc + (1 - weight) * v[i];
      norm = weight * norm + (1 - weight);
    }
    if (norm > 0) out[i] = acc / norm;
  }
  return out;
}

std::vector<int64_t> step_ticks(int64_t first, int64_t last, int max_ticks) {
  if (last < first) std::swap(first, last);
  const int64_t span = std::max<int64_t>(1, last - first);
  int64_t every = 1;
  for (int64_t mag = 1;; mag *= 10) {
    bool found = false;
    for (int64_t m : {1, 2, 5})
      if (span / (m * mag) + 1 <= max_ticks) {
        every = m * mag;
        found = true;
        break;
      }
    if (found) break;
  }
  std::vector<int64_t> ticks;
  for (int64_t t = (first + every - 1) / every * every; t <= last; t += every) ticks.push_back(t);
  return ticks;
}

void write_loss_svg(const std::filesystem::path& file, const std::vector<StepInfo>& steps,
                    const std::vector<EvalInfo>& evals, const std::string& title) {
  const double W = 720, H = 420, L = 70, R = 20, T = 40, B = 50;
  double x0 = std::numeric_limits<double>::infinity(), x1 = -x0, y0 = x0, y1 = -x0;
  auto see = [&](double x, double y) {
    if (!std::isfinite(y)) return;
    x0 = std::min(x0, x);
    x1 = std::max(x1, x);
    y0 = std::min(y0, y);
    y1 = std::max(y1, y);
  };
  for (const auto& s : steps) see(double(s.step), s.loss);
  for (const auto& e : evals) see(double(e.step), e.loss);
  if (!std::isfinite(x0)) x0 = 0, x1 = 1, y0 = 0, y1 = 1;
  if (x1 == x0) x1 = x0 + 1;
  if (y1 == y0) y1 = y0 + 1;
  const double pad = 0.05 * (y1 - y0);
  y0 -= pad;
  y1 += pad;
  auto px = [&](double x) { return L + (x - x0) / (x1 - x0) * (W - L - R); };
  auto py = [&](double y) { return H - B - (y - y0) / (y1 - y0) * (H - T - B); };
  std::string s = fmt::format(
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{}\" height=\"{}\" viewBox=\"0 0 {} {}\" "
      "font-family=\"sans-serif\" font-size=\"12\">\n<rect width=\"100%\" height=\"100%\" "
      "fill=\"white\"/>\n<text x=\"{}\" y=\"24\" text-anchor=\"middle\" "
      "font-size=\"15\">{}</text>\n",
      W, H, W, H, W / 2, escape(title));
  s += fmt::format("<line x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"black\"/>\n", L, H - B,
                   W - R, H - B);
  s += fmt::format("<line x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"black\"/>\n", L, T, L,
                   H - B);
  for (int64_t xv : step_ticks(int64_t(std::floor(x0)), int64_t(std::ceil(x1)), 10))
    s += fmt::format(
        "<text x=\"{:.1f}\" y=\"{}\" text-anchor=\"middle\">{}</text>\n<line x1=\"{:.1f}\" "
        "y1=\"{}\" x2=\"{:.1f}\" y2=\"{}\" stroke=\"#ddd\"/>\n",
        px(double(xv)), H - B + 18, xv, px(double(xv)), T, px(double(xv)), H - B);
  for (int i = 0; i <= 4; ++i) {
    const double yv = y0 + (y1 - y0) * i / 4;
    s += fmt::format(
        "<text x=\"{}\" y=\"{:.1f}\" text-anchor=\"end\">{:.3g}</text>\n<line x1=\"{}\" "
        "y1=\"{:.1f}\" x2=\"{}\" y2=\"{:.1f}\" stroke=\"#ddd\"/>\n",
        L - 6, py(yv) + 4, yv, L, py(yv), W - R, py(yv));
  }
  s += fmt::format("<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">step</text>\n", (L + W - R) / 2,
                   H - 12);
  s += fmt::format(
      "<text x=\"16\" y=\"{}\" text-anchor=\"middle\" transform=\"rotate(-90 16 "
      "{})\">loss</text>\n",
      (T + H - B) / 2, (T + H - B) / 2);
  std::string pts, smooth_pts;
  std::vector<double> raw;
  for (const auto& st : steps) raw.push_back(st.loss);
  const std::vector<double> smooth = smooth_losses(raw, 0.8);
  for (size_t i = 0; i < steps.size(); ++i) {
    if (std::isfinite(steps[i].loss))
      pts += fmt::format("{:.1f},{:.1f} ", px(double(steps[i].step)), py(steps[i].loss));
    if (std::isfinite(smooth[i]))
      smooth_pts += fmt::format("{:.1f},{:.1f} ", px(double(steps[i].step)), py(smooth[i]));
  }
  s += fmt::format(
      "<polyline class=\"train-raw\" fill=\"none\" stroke=\"#1f77b4\" stroke-opacity=\"0.35\" "
      "stroke-width=\"1\" points=\"{}\"/>\n",
      pts);
  s += fmt::format(
      "<polyline class=\"train-smooth\" fill=\"none\" stroke=\"#1f77b4\" stroke-width=\"2\" "
      "points=\"{}\"/>\n",
      smooth_pts);
  for (const auto& e : evals)
    if (std::isfinite(e.loss))
      s += fmt::format(
          "<circle class=\"eval\" cx=\"{:.1f}\" cy=\"{:.1f}\" r=\"4\" fill=\"#d62728\"/>\n",
          px(double(e.step)), py(e.loss));
  s += fmt::format(
      "<line x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"#1f77b4\" stroke-width=\"2\"/>"
      "<text x=\"{}\" y=\"{}\">train (smoothed; raw light)</text>\n",
      W - 300, T + 10, W - 275, T + 10, W - 270, T + 14);
  if (!evals.empty())
    s += fmt::format(
        "<circle cx=\"{}\" cy=\"{}\" r=\"4\" fill=\"#d62728\"/><text x=\"{}\" "
        "y=\"{}\">eval</text>\n",
        W - 90, T + 10, W - 80, T + 14);
  s += "</svg>\n";
  io::atomic_write_file(file, s);
}

}  // namespace wick::train
