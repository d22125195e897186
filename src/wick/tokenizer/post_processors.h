#pragma once
// Post-processors of tokenizer.json ("post_processor"): TemplateProcessing, BertProcessing,
// RobertaProcessing, ByteLevel (a no-op for ids) and Sequence.
#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <vector>

namespace wick::tok {

/// Ids of one sequence with their type ids and special-token mask.
struct Ids {
  std::vector<int32_t> ids, type_ids;
  std::vector<uint8_t> special;
};

/// Adds the special tokens around an encoded sequence.
class PostProcessor {
 public:
  virtual ~PostProcessor() = default;
  /// Rewrites seq in place (only when add_special_tokens).
  virtual void process(Ids& seq) const = 0;
  /// How many tokens process() adds to a single sequence.
  virtual size_t added_tokens() const = 0;
};

/// Builds a post-processor from its JSON object; null JSON gives nullptr.
std::unique_ptr<PostProcessor> make_post_processor(const nlohmann::json& j);

}  // namespace wick::tok
