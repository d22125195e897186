// PEFT's rank_pattern / alpha_pattern: a key selects a layer when the module path equals it or
// fully matches (.*\.)?(key) (peft.utils.other.get_pattern_key), the first such key in file order
// wins, and that layer gets the pattern's rank / alpha. Checked on a merge whose result is
// computed by hand.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "testing/testing.h"
#include "wick/io/safetensors.h"
#include "wick/lora/lora.h"
#include "wick/ops.h"

namespace wick::lora {
namespace {

namespace fs = std::filesystem;

const std::string kQ0 = "model.layers.0.self_attn.q_proj";
const std::string kQ1 = "model.layers.1.self_attn.q_proj";
const std::string kUp1 = "model.layers.1.mlp.up_proj";

void write_file(const fs::path& f, const std::string& s) {
  std::ofstream o(f, std::ios::binary);
  o << s;
}

TEST(LoraPatterns, KeysMatchWholeComponentsInFileOrder) {
  LoraConfig c;
  c.r = 8;
  c.lora_alpha = 16;
  c.rank_pattern = {{"proj", 3}, {"layers\\.1\\..*", 2}, {"q_proj", 5}};
  c.alpha_pattern = {{"up_proj", 6}};
  EXPECT_EQ(c.rank_for(kQ0), 5);   // "proj" needs a dot before it; "q_proj" matches
  EXPECT_EQ(c.rank_for(kQ1), 2);   // the regex comes first in file order
  EXPECT_EQ(c.rank_for(kUp1), 2);  // regex over the whole tail
  EXPECT_EQ(c.rank_for("model.layers.0.mlp.down_proj"), 8);  // no key: r
  EXPECT_DOUBLE_EQ(c.scale_for(kQ0), 16.0 / 5);
  EXPECT_DOUBLE_EQ(c.scale_for(kUp1), 6.0 / 2);
  c.use_rslora = true;
  EXPECT_DOUBLE_EQ(c.scale_for(kQ1), 16.0 / std::sqrt(2.0));
  // An exact key wins over an earlier regex.
  c.rank_pattern = {{"q_proj", 5}, {kQ0, 7}};
  EXPECT_EQ(c.rank_for(kQ0), 7);
  EXPECT_EQ(c.rank_for(kQ1), 5);
}

TEST(LoraPatterns, ReadKeepsFileOrderAndRejectsBadValues) {
  const fs::path d = testing::temp_dir("lora_patterns_read");
  // Sorted order would put "layers..." first and give 7.
  write_file(d / "adapter_config.json",
             R"({"peft_type": "LORA", "r": 4, "lora_alpha": 8, "target_modules": ["q_proj"],
                 "rank_pattern": {"q_proj": 5, "layers.0.self_attn.q_proj": 7},
                 "alpha_pattern": {"self_attn.q_proj": 10}})");
  const LoraConfig c = read_adapter_config(d);
  EXPECT_EQ(c.rank_for(kQ0), 5);
  EXPECT_DOUBLE_EQ(c.scale_for(kQ0), 10.0 / 5);
  for (const char* bad : {R"("rank_pattern": {"q_proj": 0})", R"("rank_pattern": {"(": 2})",
                          R"("rank_pattern": [1])", R"("alpha_pattern": {"q_proj": "x"})"}) {
    write_file(d / "adapter_config.json",
               std::string(R"({"r": 4, "target_modules": ["q_proj"], )") + bad + "}");
    EXPECT_THROW(read_adapter_config(d), IoError) << bad;
  }
  fs::remove_all(d);
}

TEST(LoraPatterns, MergeAppliesPerLayerRankAndAlphaByHand) {
  const fs::path d = testing::temp_dir("lora_patterns_merge");
  fs::create_directories(d / "model");
  fs::create_directories(d / "adapter");
  const Tensor zero = from_vector(std::vector<float>{0, 0, 0, 0}, {2, 2});
  io::write_safetensors(
      d / "model" / "model.safetensors",
      {{kQ0 + ".weight", zero}, {kQ1 + ".weight", zero}, {kUp1 + ".weight", zero}},
      {{"format", "pt"}});
  const std::string p = "base_model.model.";
  io::write_safetensors(
      d / "adapter" / "adapter_model.safetensors",
      {{p + kQ0 + ".lora_A.weight", from_vector(std::vector<float>{1, 2}, {1, 2})},
       {p + kQ0 + ".lora_B.weight", from_vector(std::vector<float>{1, 0.5f}, {2, 1})},
       {p + kQ1 + ".lora_A.weight", from_vector(std::vector<float>{1, 0, 0, 1}, {2, 2})},
       {p + kQ1 + ".lora_B.weight", from_vector(std::vector<float>{1, 2, 3, 4}, {2, 2})},
       {p + kUp1 + ".lora_A.weight", from_vector(std::vector<float>{1, 1}, {1, 2})},
       {p + kUp1 + ".lora_B.weight", from_vector(std::vector<float>{1, 1}, {2, 1})}},
      {{"format", "pt"}});
  write_file(d / "adapter" / "adapter_config.json",
             R"({"peft_type": "LORA", "r": 1, "lora_alpha": 2,
                 "target_modules": ["q_proj", "up_proj"],
                 "rank_pattern": {"layers.1.self_attn.q_proj": 2},
                 "alpha_pattern": {"up_proj": 6, "q_proj": 4}})");
  ASSERT_EQ(merge_adapter_into_checkpoint(d / "model", d / "adapter", d / "merged"), 3);
  auto got = io::load_checkpoint(d / "merged");
  // q0: r 1, alpha 4 -> scale 4; B A = [[1, 2], [0.5, 1]].
  EXPECT_EQ(got.tensor(kQ0 + ".weight", DType::f32).to_vector<float>(),
            (std::vector<float>{4, 8, 2, 4}));
  // q1: r 2 (rank_pattern), alpha 4 -> scale 2; B A = B.
  EXPECT_EQ(got.tensor(kQ1 + ".weight", DType::f32).to_vector<float>(),
            (std::vector<float>{2, 4, 6, 8}));
  // up1: r 1, alpha 6 -> scale 6; B A = ones.
  EXPECT_EQ(got.tensor(kUp1 + ".weight", DType::f32).to_vector<float>(),
            (std::vector<float>{6, 6, 6, 6}));
  // Without the patterns the same weights fail: q1's A has rank 2 but r is 1.
  write_file(d / "adapter" / "adapter_config.json",
             R"({"peft_type": "LORA", "r": 1, "lora_alpha": 2,
                 "target_modules": ["q_proj", "up_proj"]})");
  EXPECT_THROW(merge_adapter_into_checkpoint(d / "model", d / "adapter", d / "merged2"), IoError);
  fs::remove_all(d);
}

}  // namespace
}  // namespace wick::lora
