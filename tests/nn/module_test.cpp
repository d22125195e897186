#include <gtest/gtest.h>

#include "testing/testing.h"
#include "wick/nn/module.h"

namespace wick::nn {
namespace {

class Block : public Module {
 public:
  Block() : proj(4, 3, true) { register_module("proj", &proj); }
  Linear proj;
};

class Net : public Module {
 public:
  Net() {
    register_module("a", &a);
    register_module("b", &b);
  }
  Block a, b;
};

class Scale : public LinearAdapter {
 public:
  Scale() { register_parameter("lora_A.weight", &w, {1}, true); }
  Tensor forward(const Tensor& x, const Tensor& y) override { return y * 2.0; }
  Tensor merged_weight(const Tensor& weight) const override { return weight * 2.0; }
  Tensor w = ones({1});
};

TEST(Module, PathsEqualCheckpointKeys) {
  Net n;
  auto ps = n.parameters("model");
  ASSERT_EQ(ps.size(), 4u);
  EXPECT_EQ(ps[0].path, "model.a.proj.weight");
  EXPECT_EQ(ps[1].path, "model.a.proj.bias");
  EXPECT_EQ(ps[3].path, "model.b.proj.bias");
  n.a.proj.set_adapter(std::make_shared<Scale>());
  auto tr = n.trainable_parameters("model");
  ASSERT_EQ(tr.size(), 1u);
  EXPECT_EQ(tr[0].path, "model.a.proj.lora_A.weight");
}

TEST(Module, LoadChecksMissingAndShape) {
  Net n;
  auto get = [](const std::string& p) -> Tensor {
    if (p.find("weight") != std::string::npos) return ones({3, 4});
    if (p == "b.proj.bias") return Tensor();
    return zeros({3});
  };
  try {
    load_parameters(n, get);
    FAIL();
  } catch (const IoError& e) {
    EXPECT_NE(std::string(e.what()).find("b.proj.bias"), std::string::npos);
  }
  auto bad = [](const std::string& p) -> Tensor { return ones({2, 2}); };
  EXPECT_THROW(load_parameters(n, bad), IoError);
  load_parameters(n, [](const std::string& p) -> Tensor {
    return p.find("weight") != std::string::npos ? ones({3, 4}) : zeros({3});
  });
  Tensor y = n.a.proj.forward(ones({2, 4}));
  EXPECT_TRUE(testing::allclose(y, std::vector<double>(6, 4.0), 0, 0));
}

}  // namespace
}  // namespace wick::nn
