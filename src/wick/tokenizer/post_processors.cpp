#include "wick/tokenizer/post_processors.h"

#include <string>

#include "wick/core/errors.h"

namespace wick::tok {

namespace {

using nlohmann::json;

// A fixed list of pieces: special ids (with a type id) and the sequence itself.
class Template : public PostProcessor {
 public:
  struct Item {
    bool is_sequence;
    std::vector<int32_t> ids;
    int32_t type_id;
  };
  explicit Template(std::vector<Item> items) : items_(std::move(items)) {
    for (auto& it : items_)
      if (!it.is_sequence) added_ += it.ids.size();
  }
  void process(Ids& seq) const override {
    Ids out;
    for (auto& it : items_) {
      if (it.is_sequence) {
        out.ids.insert(out.ids.end(), seq.ids.begin(), seq.ids.end());
        out.type_ids.insert(out.type_ids.end(), seq.ids.size(), it.type_id);
        out.special.insert(out.special.end(), seq.special.begin(), seq.special.end());
      } else {
        out.ids.insert(out.ids.end(), it.ids.begin(), it.ids.end());
        out.type_ids.insert(out.type_ids.end(), it.ids.size(), it.type_id);
        out.special.insert(out.special.end(), it.ids.size(), 1);
      }
    }
    seq = std::move(out);
  }
  size_t added_tokens() const override { return added_; }

 private:
  std::vector<Item> items_;
  size_t added_ = 0;
};

class Noop : public PostProcessor {
 public:
  void process(Ids&) const override {}
  size_t added_tokens() const override { return 0; }
};

class SequencePost : public PostProcessor {
 public:
  explicit SequencePost(std::vector<std::unique_ptr<PostProcessor>> items)
      : items_(std::move(items)) {}
  void process(Ids& seq) const override {
    for (auto& p : items_) p->process(seq);
  }
  size_t added_tokens() const override {
    size_t n = 0;
    for (auto& p : items_) n += p->added_tokens();
    return n;
  }

 private:
  std::vector<std::unique_ptr<PostProcessor>> items_;
};

std::unique_ptr<PostProcessor> template_from_json(const json& j) {
  std::vector<Template::Item> items;
  const json& specials = j.value("special_tokens", json::object());
  for (const json& piece : j.at("single")) {
    if (piece.contains("Sequence")) {
      items.push_back({true, {}, piece["Sequence"].value("type_id", 0)});
    } else {
      const json& st = piece.at("SpecialToken");
      std::string name = st.at("id").get<std::string>();
      if (!specials.contains(name))
        fail<ValueError>("Tokenizer", "TemplateProcessing uses undefined special token '{}'", name);
      items.push_back(
          {false, specials[name].at("ids").get<std::vector<int32_t>>(), st.value("type_id", 0)});
    }
  }
  return std::make_unique<Template>(std::move(items));
}

}  // namespace

std::unique_ptr<PostProcessor> make_post_processor(const json& j) {
  if (j.is_null()) return nullptr;
  std::string type = j.at("type").get<std::string>();
  if (type == "TemplateProcessing") return template_from_json(j);
  if (type == "BertProcessing" || type == "RobertaProcessing") {
    int32_t cls = j.at("cls").at(1).get<int32_t>(), sep = j.at("sep").at(1).get<int32_t>();
    return std::make_unique<Template>(
        std::vector<Template::Item>{{false, {cls}, 0}, {true, {}, 0}, {false, {sep}, 0}});
  }
  if (type == "ByteLevel") return std::make_unique<Noop>();
  if (type == "Sequence") {
    std::vector<std::unique_ptr<PostProcessor>> items;
    for (auto& p : j.at("processors")) items.push_back(make_post_processor(p));
    return std::make_unique<SequencePost>(std::move(items));
  }
  fail<NotImplemented>("Tokenizer", "post_processor type '{}' is not supported", type);
}

}  // namespace wick::tok
