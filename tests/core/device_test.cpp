// The device plumbing, proven on the checked device: separate allocator with statistics, buffers
// poisoned when freed, host access without a copy refused, copies both ways.
#include <gtest/gtest.h>

#include <cmath>

#include "testing/testing.h"
#include "wick/core/backend.h"
#include "wick/ops.h"

namespace wick {
namespace {

TEST(Devices, ParseAndName) {
  EXPECT_EQ(parse_device("cpu"), Device::cpu());
  EXPECT_EQ(parse_device("cuda:1"), Device::cuda(1));
  EXPECT_EQ(parse_device("checked"), Device::checked(0));
  EXPECT_EQ(device_name(Device::checked(0)), "checked:0");
  testing::expect_error<ValueError>([] { parse_device("tpu"); }, "device");
  testing::expect_error<ValueError>([] { parse_device("cuda:x"); }, "device");
}

TEST(Devices, AvailableAndMissing) {
  auto devs = available_devices();
  ASSERT_GE(devs.size(), 2u);
  EXPECT_EQ(devs[0], Device::cpu());
  // A device this build cannot run is a clear error naming it, not a crash.
  if (!find_backend(DeviceType::cuda))
    testing::expect_error<NotImplemented>([] { zeros({2}).to(Device::cuda()).eval(); }, "device");
}

TEST(CheckedDevice, HostAccessNeedsACopy) {
  Tensor x = testing::randn({3, 4}, 1, DType::f32).to(Device::checked()).eval();
  EXPECT_EQ(x.device(), Device::checked());
  testing::expect_error<ValueError>([&] { (void)x.data<float>(); }, "tensor");
  // item/to_vector copy to the host for the caller.
  Tensor s = sum(x);
  EXPECT_NEAR(s.item<double>(), sum(testing::randn({3, 4}, 1, DType::f32)).item<double>(), 1e-6);
}

TEST(CheckedDevice, AllocatorStatisticsAndPoisonedFrees) {
  Allocator& a = allocator_for(Device::checked());
  a.empty_cache();
  const AllocatorStats before = a.stats();
  void* first = nullptr;
  {
    Tensor x = full({1000}, 1.0, DType::f32, Device::checked()).eval();
    first = x.buffer()->data();
    const AllocatorStats during = a.stats();
    EXPECT_GE(during.in_use, before.in_use + 4000);
    EXPECT_GE(during.peak, during.in_use);
  }
  const AllocatorStats after = a.stats();
  EXPECT_EQ(after.in_use, before.in_use);
  EXPECT_GE(after.cached, 4000u);
  // The freed block is poisoned (0xFF: NaN as f32) and reused by the next allocation of its size.
  auto buf = a.allocate(4000);
  EXPECT_EQ(buf->data(), first);
  float f;
  std::memcpy(&f, buf->data(), sizeof f);
  EXPECT_TRUE(std::isnan(f));
  // The CPU allocator is a different one.
  EXPECT_NE(&allocator_for(Device::cpu()), &a);
}

TEST(CheckedDevice, InputsOnDifferentDevicesAreRefused) {
  Tensor a = testing::randn({2, 2}, 1, DType::f32);
  Tensor b = a.to(Device::checked());
  testing::expect_error<ValueError>([&] { a + b; }, "add");
  testing::expect_error<ValueError>([&] { matmul(a, b); }, "matmul");
}

}  // namespace
}  // namespace wick
