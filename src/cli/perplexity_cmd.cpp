// wick perplexity: mean negative log-likelihood of a text file over fixed windows.
#include <algorithm>
#include <nlohmann/json.hpp>

#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>

#include <cmath>

#include "cli/commands.h"
#include "cli/flag_checks.h"
#include "cli/model_options.h"
#include "wick/core/errors.h"
#include "wick/generate/perplexity.h"

namespace wick::cli {

void register_perplexity(CLI::App& app) {
  auto* sub = app.add_subcommand("perplexity", "Perplexity of a model on a text file");
  struct Args {
    std::string model, file, dtype, adapter;
    int64_t context = 512;
    bool json = false;
  };
  auto a = std::make_shared<Args>();
  sub->add_option("--model", a->model, "Model folder")->required();
  sub->add_option("--file", a->file, "Text file (tokenised whole, once)")->required();
  sub->add_option("--adapter", a->adapter, "PEFT LoRA adapter folder (applied unmerged)");
  sub->add_option("--context", a->context, "Window length in tokens")->capture_default_str();
  sub->add_option("--dtype", a->dtype, "Compute dtype: f32, bf16 or f16 (default: as stored)");
  sub->add_flag("--json", a->json, R"(Print {"tokens", "nll", "ppl"} as JSON)");
  add_runner(sub, [a] {
    check_int_flag("--context", a->context, 2, int64_t(1) << 24);
    std::ifstream in(a->file, std::ios::binary);
    if (!in) fail<IoError>("perplexity", "cannot read '{}'", a->file);
    std::stringstream ss;
    ss << in.rdbuf();
    LoadedModel m = load_model_for_cli(a->model, a->dtype, a->adapter, selected_device());
    std::vector<int32_t> ids = m.tokenizer.encode(ss.str(), true);
    const int64_t ctx = m.model->config().max_position_embeddings;
    if (a->context > ctx && int64_t(ids.size()) > ctx)
      std::fprintf(stderr,
                   "wick: warning: --context %lld is longer than the model's context of %lld "
                   "tokens; %lld of the %zu tokens lie past it in their window\n",
                   (long long)a->context, (long long)ctx,
                   (long long)(int64_t(ids.size()) / a->context * (a->context - ctx) +
                               std::max<int64_t>(0, int64_t(ids.size()) % a->context - ctx)),
                   ids.size());
    auto r = generate::perplexity(*m.model, ids, a->context);
    if (!std::isfinite(r.nll))
      fail<ValueError>("perplexity",
                       "the mean negative log-likelihood is {} (NaN or Inf) over {} "
                       "tokens; the weights of '{}' or the computation contain NaN/Inf",
                       r.nll, r.tokens, a->model);
    if (a->json) {
      nlohmann::json j{{"tokens", r.tokens}, {"nll", r.nll}, {"ppl", r.ppl}};
      std::printf("%s\n", j.dump().c_str());
    } else {
      std::printf("tokens scored: %lld\nmean nll: %.6f\nperplexity: %.6f\n", (long long)r.tokens,
                  r.nll, r.ppl);
    }
  });
}

}  // namespace wick::cli
