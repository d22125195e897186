#include "wick/train/model_bridge.h"

#include "wick/ops.h"
#include "wick/tokenizer/chat_template.h"
#include "wick/train/output_guard.h"

namespace wick::train {

ModelBridge::ModelBridge(models::CausalLM& model) : model_(model) {
  for (auto& [path, m] : model_.modules())
    if (path == "lm_head") lm_head_ = dynamic_cast<nn::Linear*>(m);
  for (auto& p : model_.parameters())
    if (p.path == "model.embed_tokens.weight") embed_ = p.tensor;
  if (!lm_head_ && !embed_)
    fail<ValueError>("train", "the model has neither lm_head nor model.embed_tokens.weight");
}

Tensor ModelBridge::hidden_states(const Tensor& ids, const Tensor& positions,
                                  const std::optional<Tensor>& mask) {
  if (positions.ndim() != 2 || positions.shape() != ids.shape())
    fail<ShapeError>("train", "positions must have the shape of ids {}, got {}",
                     shape_str(ids.shape()), shape_str(positions.shape()));
  // Positions and the mask go to the model as given: right-padded batches (0..T-1, no mask) are
  // plain causal rows, packed batches restart positions per document and keep attention inside
  // it. LogitsFor::last keeps the unused logits small even in eager mode.
  models::ForwardInputs in;
  in.positions = positions;
  in.mask = mask;
  models::ForwardTrace trace;
  model_.forward(ids, nullptr, models::LogitsFor::last, &trace, in);
  return trace.hidden_states.back();
}

Tensor ModelBridge::lm_head_weight() {
  if (lm_head_)
    return lm_head_->adapter() ? lm_head_->adapter()->merged_weight(lm_head_->weight)
                               : lm_head_->weight;
  return *embed_;
}

void ModelBridge::set_grad_checkpoint(bool on) { model_.set_grad_checkpoint(on); }

}  // namespace wick::train

namespace wick::train {

SpecialIds special_ids(const std::filesystem::path& dir, const io::LlamaConfig& config) {
  const io::GenerationConfig gen = io::load_generation_config(dir);
  SpecialIds s;
  if (!gen.eos_token_id.empty())
    s.eos = int32_t(gen.eos_token_id.front());
  else if (!config.eos_token_id.empty())
    s.eos = int32_t(config.eos_token_id.front());
  if (config.pad_token_id)
    s.pad = int32_t(*config.pad_token_id);
  else if (gen.pad_token_id)
    s.pad = int32_t(*gen.pad_token_id);
  else if (s.eos)
    s.pad = *s.eos;
  return s;
}

ChatRenderer chat_renderer(const std::filesystem::path& model_dir) {
  std::shared_ptr<const ChatTemplate> tmpl;
  try {
    tmpl = std::make_shared<const ChatTemplate>(ChatTemplate::from_folder(model_dir));
  } catch (const IoError&) {
    return {};  // no template: {"messages"} data is rejected when it is read
  }
  return [tmpl](const std::string& messages_json, size_t prompt_turns) {
    const nlohmann::json messages = nlohmann::json::parse(messages_json);
    size_t last = messages.size();
    if (prompt_turns > 0 && prompt_turns < messages.size()) {
      last = prompt_turns;  // conversational prompt/completion: the completion's turns follow
    } else {
      for (size_t i = messages.size(); i-- > 0;)
        if (messages[i].value("role", "") == "assistant") {
          last = i;
          break;
        }
    }
    if (last == messages.size())
      fail<ValueError>("data", "a conversation example has no assistant turn to train on");
    nlohmann::json head = nlohmann::json::array();
    for (size_t i = 0; i < last; ++i) head.push_back(messages[i]);
    return std::pair{tmpl->render(head, true), tmpl->render(messages, false)};
  };
}

TrainResult train_from_folder(const std::filesystem::path& model_dir, TrainConfig config,
                              const TrainCallbacks& callbacks) {
  prepare_output_folder(config, model_dir);
  models::LoadOptions lo;
  lo.dtype = DType::f32;
  std::unique_ptr<models::CausalLM> model = models::load_causal_lm(model_dir, lo);
  const Tokenizer tok = Tokenizer::from_file(model_dir.string());
  const SpecialIds ids = special_ids(model_dir, model->config());
  if (!config.model_dir) config.model_dir = model_dir;
  if (config.base_model_name_or_path.empty()) config.base_model_name_or_path = model_dir.string();
  if (!config.base_info) config.base_info = lora::base_info_of(model->config());
  for (const auto& a : {config.resume_adapter, config.resume})
    if (a && !config.full) lora::check_adapter_base(*a, model->config(), model_dir.string());
  ModelBridge bridge(*model);
  Trainer trainer(bridge, tok, config, config.add_eos ? ids.eos : std::nullopt, ids.pad,
                  chat_renderer(model_dir));
  // Ids past the embedding table would index out of it; examples past the context run on
  // positions the model never saw (allowed, but said once with a count).
  const int64_t vocab = model->config().vocab_size;
  const int64_t context = model->config().max_position_embeddings;
  size_t too_long = 0, longest = 0;
  for (const auto* set : {&trainer.train_samples(), &trainer.valid_samples()})
    for (const Sample& smp : *set) {
      for (int32_t id : smp.ids)
        if (id < 0 || id >= vocab)
          fail<ValueError>("train",
                           "the tokenizer of '{}' produced id {}, outside the model's vocabulary "
                           "of {} (config.json vocab_size)",
                           model_dir.string(), id, vocab);
      if (int64_t(smp.ids.size()) > context) ++too_long;
      longest = std::max(longest, smp.ids.size());
    }
  if (too_long > 0 && callbacks.on_message)
    callbacks.on_message(fmt::format(
        "warning: {} example(s) are longer than the model's context of {} tokens (longest {}); "
        "lower --max-seq-len to truncate them",
        too_long, context, longest));
  return trainer.run(callbacks);
}

}  // namespace wick::train
