#include "wick/train/dataset.h"

#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>

#include "wick/ops.h"

namespace wick::train {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

// ShareGPT speaker names -> chat roles.
std::string sharegpt_role(const std::string& from, const std::string& where) {
  if (from == "human" || from == "user") return "user";
  if (from == "gpt" || from == "assistant" || from == "model") return "assistant";
  if (from == "system") return "system";
  if (from == "tool" || from == "function" || from == "observation") return "tool";
  fail<IoError>("data",
                "{}: unknown ShareGPT speaker \"from\": \"{}\"; expected human, gpt or system",
                where, from);
}

// Checks a [{"role","content"}...] array (the messages of `field`).
void check_messages(const json& msgs, const std::string& where, const std::string& field) {
  if (!msgs.is_array() || msgs.empty())
    fail<IoError>("data", "{}: \"{}\" must be a non-empty array of messages", where, field);
  for (const auto& m : msgs)
    if (!m.is_object() || !m.contains("role") || !m["role"].is_string() || !m.contains("content") ||
        !m["content"].is_string())
      fail<IoError>("data", "{}: each message of \"{}\" needs string \"role\" and \"content\"",
                    where, field);
}

}  // namespace

std::vector<Record> read_jsonl(const fs::path& file, const DataKeys& keys) {
  std::ifstream in(file);
  if (!in) fail<IoError>("data", "cannot open '{}'", file.string());
  std::vector<Record> out;
  std::string line;
  for (int64_t no = 1; std::getline(in, line); ++no) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.find_first_not_of(" \t") == std::string::npos) continue;
    const std::string where = file.string() + ":" + std::to_string(no);
    json j;
    try {
      j = json::parse(line);
    } catch (const json::exception& e) {
      fail<IoError>("data", "{}: malformed JSON: {}", where, e.what());
    }
    if (!j.is_object()) fail<IoError>("data", "{}: expected a JSON object", where);
    Record r;
    r.source = where;
    auto str = [&](const std::string& key) {
      if (!j[key].is_string())
        fail<IoError>("data", "{}: \"{}\" must be a string, got {}", where, key,
                      j[key].type_name());
      return j[key].get<std::string>();
    };
    const bool has_prompt = j.contains(keys.prompt), has_completion = j.contains(keys.completion);
    if (j.contains("messages")) {
      check_messages(j["messages"], where, "messages");
      r.kind = Record::Kind::messages;
      r.messages_json = j["messages"].dump();
    } else if (j.contains("conversations")) {
      const json& conv = j["conversations"];
      if (!conv.is_array() || conv.empty())
        fail<IoError>("data", "{}: \"conversations\" must be a non-empty array", where);
      json msgs = json::array();
      for (const auto& m : conv) {
        if (!m.is_object() || !m.contains("from") || !m["from"].is_string() ||
            !m.contains("value") || !m["value"].is_string())
          fail<IoError>("data",
                        "{}: each turn of \"conversations\" needs string \"from\" and \"value\"",
                        where);
        msgs.push_back({{"role", sharegpt_role(m["from"].get<std::string>(), where)},
                        {"content", m["value"]}});
      }
      r.kind = Record::Kind::messages;
      r.messages_json = msgs.dump();
    } else if (has_prompt || has_completion) {
      if (!has_prompt || !has_completion)
        fail<IoError>("data", "{}: needs both \"{}\" and \"{}\"", where, keys.prompt,
                      keys.completion);
      const json &p = j[keys.prompt], &c = j[keys.completion];
      if (p.is_array() || c.is_array()) {
        // Conversational prompt/completion (TRL): both are message lists.
        check_messages(p, where, keys.prompt);
        check_messages(c, where, keys.completion);
        json msgs = p;
        for (const auto& m : c) msgs.push_back(m);
        r.kind = Record::Kind::messages;
        r.messages_json = msgs.dump();
        r.prompt_turns = p.size();
      } else {
        r.kind = Record::Kind::prompt_completion;
        r.prompt = str(keys.prompt);
        r.completion = str(keys.completion);
      }
    } else if (j.contains(keys.text)) {
      r.kind = Record::Kind::text;
      r.text = str(keys.text);
    } else {
      fail<IoError>("data",
                    "{}: expected a \"{}\", \"{}\"/\"{}\", \"messages\" or \"conversations\" "
                    "field",
                    where, keys.text, keys.prompt, keys.completion);
    }
    out.push_back(std::move(r));
  }
  if (out.empty()) fail<IoError>("data", "'{}' holds no examples", file.string());
  return out;
}

DataFiles resolve_data(const fs::path& path) {
  DataFiles d;
  if (fs::is_regular_file(path)) {
    d.train = path;
    return d;
  }
  if (!fs::is_directory(path)) fail<IoError>("data", "'{}' does not exist", path.string());
  if (!fs::exists(path / "train.jsonl"))
    fail<IoError>("data", "folder '{}' has no train.jsonl", path.string());
  d.train = path / "train.jsonl";
  if (fs::exists(path / "valid.jsonl")) d.valid = path / "valid.jsonl";
  if (fs::exists(path / "test.jsonl")) d.test = path / "test.jsonl";
  return d;
}

std::vector<Sample> tokenize(const std::vector<Record>& records, const Tokenizer& tok,
                             const TokenizeOptions& o) {
  std::vector<Sample> out(records.size());
  for (size_t i = 0; i < records.size(); ++i) {
    const Record& r = records[i];
    Sample& s = out[i];
    std::vector<int32_t> prompt_ids, rest;
    switch (r.kind) {
      case Record::Kind::text:
        rest = tok.encode(r.text, true);
        break;
      case Record::Kind::prompt_completion:
        prompt_ids = tok.encode(r.prompt, true);
        rest = tok.encode(r.completion, false);
        break;
      case Record::Kind::messages: {
        if (!o.chat)
          fail<NotImplemented>("data",
                               "{}: {{\"messages\"}} data needs a chat template, and no chat "
                               "template renderer is available for this model",
                               r.source);
        auto [prompt, full] = o.chat(r.messages_json, r.prompt_turns);
        if (full.compare(0, prompt.size(), prompt) != 0)
          fail<ValueError>("data", "{}: the rendered prompt is not a prefix of the conversation",
                           r.source);
        prompt_ids = tok.encode(prompt, false);
        rest = tok.encode(full.substr(prompt.size()), false);
        break;
      }
    }
    s.ids = prompt_ids;
    s.ids.insert(s.ids.end(), rest.begin(), rest.end());
    if (o.eos_id && (s.ids.empty() || s.ids.back() != *o.eos_id)) {
      s.ids.push_back(*o.eos_id);
      rest.push_back(*o.eos_id);
    }
    const uint8_t prompt_target = o.mask_prompt ? 0 : 1;
    s.target.assign(prompt_ids.size(), prompt_target);
    s.target.resize(s.ids.size(), 1);
    if (o.max_seq_len > 0 && s.ids.size() > o.max_seq_len) {
      s.truncated_from = int64_t(s.ids.size());
      s.ids.resize(o.max_seq_len);
      s.target.resize(o.max_seq_len);
    }
  }
  return out;
}

DataStats data_stats(const std::vector<Sample>& samples) {
  DataStats d;
  d.examples = int64_t(samples.size());
  for (const Sample& s : samples) {
    d.tokens += int64_t(s.ids.size());
    for (size_t t = 1; t < s.target.size(); ++t) d.targets += s.target[t];
    if (s.truncated_from > 0) ++d.truncated;
    d.longest = std::max<int64_t>(d.longest,
                                  s.truncated_from > 0 ? s.truncated_from : int64_t(s.ids.size()));
  }
  return d;
}

Batch batch_to(const Batch& b, Device device) {
  Batch r = b;
  r.ids = b.ids.to(device);
  r.positions = b.positions.to(device);
  if (b.mask) r.mask = b.mask->to(device);
  r.targets = b.targets.to(device);
  return r;
}

Batch pad_batch(const std::vector<const Sample*>& samples, int32_t pad_id) {
  if (samples.empty()) fail<ValueError>("batch", "empty batch");
  const int64_t B = int64_t(samples.size());
  int64_t T = 1;
  for (auto* s : samples) T = std::max<int64_t>(T, int64_t(s->ids.size()) - 1);
  std::vector<int64_t> ids(B * T, pad_id), pos(B * T, 0), tg(B * T, -100);
  Batch b;
  for (int64_t r = 0; r < B; ++r) {
    const Sample& s = *samples[r];
    const int64_t n = int64_t(s.ids.size()) - 1;
    for (int64_t t = 0; t < T; ++t) pos[r * T + t] = t;
    for (int64_t t = 0; t < n; ++t) {
      ids[r * T + t] = s.ids[t];
      if (s.target[t + 1]) {
        tg[r * T + t] = s.ids[t + 1];
        ++b.n_targets;
      }
    }
    b.n_tokens += std::max<int64_t>(n, 0);
  }
  b.ids = from_vector(ids, {B, T});
  b.positions = from_vector(pos, {B, T});
  b.targets = from_vector(tg, {B * T});
  return b;
}

Batch pack_batch(const std::vector<const Sample*>& samples, int64_t row_len, int32_t pad_id) {
  if (samples.empty()) fail<ValueError>("batch", "empty batch");
  if (row_len < 1) fail<ValueError>("batch", "row length must be positive, got {}", row_len);
  // Greedy first-fit in order: doc d goes to the current row if it fits, else a new row.
  std::vector<std::vector<const Sample*>> rows(1);
  int64_t used = 0;
  for (auto* s : samples) {
    const int64_t n = std::min<int64_t>(int64_t(s->ids.size()) - 1, row_len);
    if (n <= 0) continue;
    if (used + n > row_len && !rows.back().empty()) {
      rows.emplace_back();
      used = 0;
    }
    rows.back().push_back(s);
    used += n;
  }
  const int64_t B = int64_t(rows.size());
  int64_t T = 1;
  for (auto& row : rows) {
    int64_t u = 0;
    for (auto* s : row) u += std::min<int64_t>(int64_t(s->ids.size()) - 1, row_len);
    T = std::max(T, u);
  }
  std::vector<int64_t> ids(B * T, pad_id), pos(B * T, 0), tg(B * T, -100), doc(B * T, -1);
  Batch b;
  for (int64_t r = 0; r < B; ++r) {
    int64_t t0 = 0;
    for (size_t d = 0; d < rows[r].size(); ++d) {
      const Sample& s = *rows[r][d];
      const int64_t n = std::min<int64_t>(int64_t(s.ids.size()) - 1, row_len);
      for (int64_t t = 0; t < n; ++t) {
        const int64_t k = r * T + t0 + t;
        ids[k] = s.ids[t];
        pos[k] = t;
        doc[k] = int64_t(d);
        if (s.target[t + 1]) {
          tg[k] = s.ids[t + 1];
          ++b.n_targets;
        }
      }
      t0 += n;
      b.n_tokens += n;
    }
  }
  // Query q may see key k when both are in the same document and k <= q; padding sees itself.
  const float ninf = -std::numeric_limits<float>::infinity();
  std::vector<float> mask(B * T * T, ninf);
  for (int64_t r = 0; r < B; ++r)
    for (int64_t q = 0; q < T; ++q)
      for (int64_t k = 0; k <= q; ++k) {
        const int64_t dq = doc[r * T + q], dk = doc[r * T + k];
        if (dq == dk && (dq >= 0 || k == q)) mask[(r * T + q) * T + k] = 0;
      }
  b.ids = from_vector(ids, {B, T});
  b.positions = from_vector(pos, {B, T});
  b.targets = from_vector(tg, {B * T});
  b.mask = from_vector(mask, {B, 1, T, T});
  return b;
}

std::vector<int64_t> epoch_order(int64_t n, uint64_t seed, int64_t epoch, bool shuffle) {
  std::vector<int64_t> order(n);
  for (int64_t i = 0; i < n; ++i) order[i] = i;
  if (!shuffle) return order;
  Generator g(seed * 0x9E3779B97F4A7C15ull + uint64_t(epoch) + 1);
  for (int64_t i = n - 1; i > 0; --i) {
    const int64_t j = int64_t(g.next_u64() % uint64_t(i + 1));
    std::swap(order[i], order[j]);
  }
  return order;
}

}  // namespace wick::train
