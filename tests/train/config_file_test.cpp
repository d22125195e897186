#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "wick/train/config_file.h"

namespace wick::train {
namespace {

namespace fs = std::filesystem;

TEST(ConfigFile, YamlAndJsonGiveTheSameSettings) {
  fs::path d = fs::temp_directory_path() / ("wick_cfg_" + std::to_string(::getpid()));
  fs::create_directories(d);
  std::ofstream(d / "a.yaml")
      << "model: m\nlora_rank: 16\nlora-alpha: 32\n"
         "target_modules: [q_proj, k_proj]\nlr: 2.0e-4\n"
         "lr-schedule: cosine\nno_shuffle: true\nmask-prompt: true\npack: true\n";
  std::ofstream(d / "a.json") << R"({"model": "m", "lora-rank": 16, "lora_alpha": 32,
    "target-modules": "q_proj,k_proj", "lr": 2e-4, "lr_schedule": "cosine",
    "no-shuffle": true, "mask_prompt": true, "pack": true})";
  for (const char* f : {"a.yaml", "a.json"}) {
    TrainConfig c;
    fs::path model;
    apply_config_file(d / f, c, &model);
    EXPECT_EQ(model, "m");
    EXPECT_EQ(c.lora.r, 16);
    EXPECT_EQ(c.lora.lora_alpha, 32);
    EXPECT_EQ(c.lora.target_modules, (std::vector<std::string>{"q_proj", "k_proj"}));
    EXPECT_DOUBLE_EQ(c.lr, 2e-4);
    EXPECT_EQ(c.lr_schedule, "cosine");
    EXPECT_FALSE(c.shuffle);
    EXPECT_TRUE(c.mask_prompt);
    EXPECT_TRUE(c.pack);
  }
  std::ofstream(d / "bad.yaml") << "lora-rnak: 3\n";
  TrainConfig c;
  try {
    apply_config_file(d / "bad.yaml", c);
    FAIL();
  } catch (const IoError& e) {
    EXPECT_NE(std::string(e.what()).find("lora-rnak"), std::string::npos);
  }
  std::ofstream(d / "bad2.yaml") << "lr: fast\n";
  EXPECT_THROW(apply_config_file(d / "bad2.yaml", c), IoError);
  fs::remove_all(d);
}

}  // namespace
}  // namespace wick::train
