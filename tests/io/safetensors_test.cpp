#include "wick/io/safetensors.h"

#include <gtest/gtest.h>

#include <cmath>

#include "io_test_util.h"
#include "wick/core/errors.h"
#include "wick/io/atomic_file.h"

namespace wick::io {
namespace {

using testing::Bytes;
using testing::image;
using testing::make_tensor;
using testing::read_bytes;
using testing::TempDir;
using testing::tensor_bytes;
using testing::write_bytes;

std::vector<uint16_t> bf16_bits(const std::vector<float>& v) {
  std::vector<uint16_t> r;
  for (float f : v) r.push_back(to_bf16(f).bits);
  return r;
}
std::vector<uint16_t> f16_bits(const std::vector<float>& v) {
  std::vector<uint16_t> r;
  for (float f : v) r.push_back(float_to_f16_bits(f));
  return r;
}

size_t files_in(const std::filesystem::path& dir) {
  size_t n = 0;
  for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator(dir)) ++n;
  return n;
}

TEST(SafeTensors, RoundTripsEveryDtypeAndMetadata) {
  TempDir dir;
  std::vector<std::pair<std::string, Tensor>> in = {
      {"f32", make_tensor<float>({1.5f, -2.f, 3.25f, 0.f, 1e30f, -0.f}, {2, 3}, DType::f32)},
      {"f64", make_tensor<double>({1e-300, 2.5}, {2}, DType::f64)},
      {"bf16", make_tensor<uint16_t>(bf16_bits({1.f, -3.f, 0.5f}), {3, 1}, DType::bf16)},
      {"f16", make_tensor<uint16_t>(f16_bits({65504.f, -1.f}), {1, 2}, DType::f16)},
      {"i32", make_tensor<int32_t>({-7, 2147483647, 0}, {3}, DType::i32)},
      {"i64", make_tensor<int64_t>({int64_t(1) << 60, -1}, {2}, DType::i64)},
      {"bool", make_tensor<uint8_t>({1, 0, 1}, {3}, DType::boolean)},
      {"scalar", make_tensor<float>({42.f}, {}, DType::f32)},
      {"empty", make_tensor<float>({}, {0, 4}, DType::f32)},
  };
  std::map<std::string, std::string> meta = {{"format", "pt"}, {"note", "ünïcode"}};
  write_safetensors(dir / "m.safetensors", in, meta);

  auto f = SafeTensorsFile::open(dir / "m.safetensors");
  EXPECT_EQ(f.metadata(), meta);
  EXPECT_EQ(f.names().size(), in.size());
  EXPECT_EQ(f.header().data_start % 8, 0u);
  for (const auto& [name, t] : in) {
    SCOPED_TRACE(name);
    Tensor r = f.tensor(name);
    EXPECT_EQ(r.dtype(), t.dtype());
    EXPECT_EQ(r.shape(), t.shape());
    EXPECT_EQ(tensor_bytes(r), tensor_bytes(t));
    EXPECT_EQ(f.info(name).dtype, safetensors_dtype_name(t.dtype()));
  }
  EXPECT_EQ(f.tensor("i64").to_vector<int64_t>()[0], int64_t(1) << 60);
  EXPECT_EQ(f.tensor("scalar").item<float>(), 42.f);
  EXPECT_EQ(f.tensor("bool", DType::f32).to_vector<float>(), (std::vector<float>{1, 0, 1}));
  EXPECT_EQ(f.tensor("bool", DType::i32).to_vector<int32_t>(), (std::vector<int32_t>{1, 0, 1}));
  EXPECT_EQ(f.tensor("i32", DType::i64).to_vector<int64_t>(),
            (std::vector<int64_t>{-7, 2147483647, 0}));
  EXPECT_EQ(f.tensor("bf16", DType::f32).to_vector<float>(), (std::vector<float>{1, -3, 0.5}));
}

TEST(SafeTensors, WritesStridedViewsRowMajor) {
  TempDir dir;
  // A 3x4 matrix 0..11; its transpose (4x3, strides {1, 4}) and a stepped window with an offset.
  std::vector<float> v(12);
  for (int i = 0; i < 12; ++i) v[size_t(i)] = float(i);
  Tensor base = make_tensor(v, {3, 4}, DType::f32);
  Tensor tr = Tensor::from_buffer(base.buffer(), {4, 3}, DType::f32, {1, 4}, 0);
  Tensor win = Tensor::from_buffer(base.buffer(), {2, 2}, DType::f32, {8, 2}, 1);
  Tensor bcast = Tensor::from_buffer(base.buffer(), {2, 3}, DType::f32, {0, 1}, 4);
  ASSERT_FALSE(tr.is_contiguous());
  write_safetensors(dir / "s.safetensors", {{"tr", tr}, {"win", win}, {"bcast", bcast}});
  auto f = SafeTensorsFile::open(dir / "s.safetensors");
  EXPECT_EQ(f.tensor("tr").to_vector<float>(),
            (std::vector<float>{0, 4, 8, 1, 5, 9, 2, 6, 10, 3, 7, 11}));
  EXPECT_EQ(f.tensor("win").to_vector<float>(), (std::vector<float>{1, 3, 9, 11}));
  EXPECT_EQ(f.tensor("bcast").to_vector<float>(), (std::vector<float>{4, 5, 6, 4, 5, 6}));
}

TEST(SafeTensors, ReadsAreZeroCopyAndKeepTheMappingAlive) {
  TempDir dir;
  write_safetensors(dir / "z.safetensors",
                    {{"a", make_tensor<float>({1, 2, 3, 4}, {4}, DType::f32)},
                     {"b", make_tensor<int64_t>({5, 6}, {2}, DType::i64)}});
  Tensor a;
  {
    auto f = SafeTensorsFile::open(dir / "z.safetensors");
    a = f.tensor("a");
    const uint8_t* p = static_cast<const uint8_t*>(a.raw_data());
    EXPECT_GE(p, f.mapping_data());
    EXPECT_LE(p + a.nbytes(), f.mapping_data() + f.mapping_size());
    EXPECT_EQ(p, f.mapping_data() + f.header().data_start + f.info("a").begin);
    // A conversion copies.
    Tensor c = f.tensor("a", DType::f64);
    const uint8_t* q = static_cast<const uint8_t*>(c.raw_data());
    EXPECT_TRUE(q < f.mapping_data() || q >= f.mapping_data() + f.mapping_size());
  }
  // The file object is gone; the tensor still holds the mapping.
  EXPECT_EQ(a.to_vector<float>(), (std::vector<float>{1, 2, 3, 4}));
  // Writing into a loaded tensor never changes the file (private mapping).
  a.data<float>()[0] = 100.f;
  EXPECT_EQ(SafeTensorsFile::open(dir / "z.safetensors").tensor("a").to_vector<float>()[0], 1.f);
}

TEST(SafeTensors, MatchesTheReferenceByteLayout) {
  // What the Python library writes for {"a": float32 [1, 2]} with metadata {"format": "pt"}.
  const std::string h =
      R"({"__metadata__":{"format":"pt"},"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})";
  Bytes data(8);
  float v[2] = {1.f, 2.f};
  std::memcpy(data.data(), v, 8);
  Bytes expected = image(h, data);
  TempDir dir;
  write_safetensors(dir / "r.safetensors", {{"a", make_tensor<float>({1, 2}, {2}, DType::f32)}},
                    {{"format", "pt"}});
  EXPECT_EQ(read_bytes(dir / "r.safetensors"), expected);
  auto f = SafeTensorsFile::from_bytes(expected, "ref.safetensors");
  EXPECT_EQ(f.tensor("a").to_vector<float>(), (std::vector<float>{1, 2}));
  EXPECT_EQ(f.metadata().at("format"), "pt");
}

TEST(SafeTensors, ConvertsOnRequest) {
  TempDir dir;
  Bytes i8 = {0x80, 0x7f, 0x00, 0xff};               // -128, 127, 0, -1
  Bytes u8 = {0, 200, 255, 1};                       // 0, 200, 255, 1
  Bytes i16 = {0x00, 0x80, 0xff, 0x7f, 0x02, 0x00};  // -32768, 32767, 2
  auto raw_src = [](std::string name, std::string dt, Shape s, Bytes b) {
    TensorSource t{std::move(name), std::move(dt), std::move(s), nullptr};
    t.produce = [b](const ByteSink& sink) { sink(b.data(), b.size()); };
    return t;
  };
  write_safetensors_streamed(
      dir / "c.safetensors",
      std::vector<TensorSource>{
          raw_src("i8", "I8", {4}, i8), raw_src("u8", "U8", {2, 2}, u8),
          raw_src("i16", "I16", {3}, i16),
          tensor_source("f", make_tensor<float>({1.5f, -2.25f}, {2}, DType::f32)),
          tensor_source("big", make_tensor<int64_t>({int64_t(1) << 40}, {1}, DType::i64))});
  auto f = SafeTensorsFile::open(dir / "c.safetensors");
  EXPECT_EQ(f.tensor("i8", DType::i32).to_vector<int32_t>(),
            (std::vector<int32_t>{-128, 127, 0, -1}));
  EXPECT_EQ(f.tensor("u8", DType::i64).to_vector<int64_t>(),
            (std::vector<int64_t>{0, 200, 255, 1}));
  EXPECT_EQ(f.tensor("i16", DType::f32).to_vector<float>(), (std::vector<float>{-32768, 32767, 2}));
  EXPECT_EQ(f.tensor("f", DType::f64).to_vector<double>(), (std::vector<double>{1.5, -2.25}));
  EXPECT_EQ(f.tensor("f", DType::bf16).to_vector<float>(), (std::vector<float>{1.5f, -2.25f}));
  EXPECT_EQ(f.tensor("f", DType::f16).to_vector<float>(), (std::vector<float>{1.5f, -2.25f}));
  // Raw view of a dtype wick lacks.
  RawTensor r = f.raw("i8");
  EXPECT_EQ(r.info.dtype, "I8");
  EXPECT_EQ(Bytes(r.data, r.data + r.info.nbytes()), i8);
  // Errors name the file and the tensor.
  auto expect_dtype_error = [&](auto fn, const std::string& name) {
    try {
      fn();
      ADD_FAILURE() << "no error for " << name;
    } catch (const DtypeError& e) {
      EXPECT_NE(std::string(e.what()).find("'" + name + "'"), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find("c.safetensors"), std::string::npos) << e.what();
    }
  };
  expect_dtype_error([&] { f.tensor("i8"); }, "i8");
  expect_dtype_error([&] { f.tensor("f", DType::i32); }, "f");
  expect_dtype_error([&] { f.tensor("big", DType::i32); }, "big");
  expect_dtype_error([&] { f.tensor("u8", DType::boolean); }, "u8");
}

TEST(SafeTensors, UnsupportedDtypeOpensButNamesTheTensorWhenRead) {
  const std::string h = R"({"w":{"dtype":"F8_E4M3","shape":[2,2],"data_offsets":[0,4]},)"
                        R"("x":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})";
  Bytes data = {1, 2, 3, 4, 0, 0, 128, 63};
  auto f = SafeTensorsFile::from_bytes(image(h, data), "fp8.safetensors");
  EXPECT_EQ(f.tensor("x").item<float>(), 1.f);
  EXPECT_EQ(f.raw("w").info.nbytes(), 4u);
  try {
    f.tensor("w", DType::f32);
    FAIL();
  } catch (const DtypeError& e) {
    std::string m = e.what();
    EXPECT_NE(m.find("fp8.safetensors"), std::string::npos);
    EXPECT_NE(m.find("'w'"), std::string::npos);
    EXPECT_NE(m.find("F8_E4M3"), std::string::npos);
  }
  EXPECT_THROW(f.tensor("missing"), IoError);
}

TEST(SafeTensors, MisalignedDataIsCopied) {
  // A U8 tensor of 1 byte first, then an F32 at byte offset 1 (legal, but unaligned).
  const std::string h = R"({"u":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},)"
                        R"("x":{"dtype":"F32","shape":[1],"data_offsets":[1,5]}})";
  Bytes data = {7, 0, 0, 128, 63};
  auto f = SafeTensorsFile::from_bytes(image(h, data), "mis.safetensors");
  Tensor x = f.tensor("x");
  EXPECT_EQ(reinterpret_cast<uintptr_t>(x.raw_data()) % 4, 0u);
  EXPECT_EQ(x.item<float>(), 1.f);
}

TEST(SafeTensors, AtomicWriteKeepsTheOldFileWhenAProducerFails) {
  TempDir dir;
  auto path = dir / "w.safetensors";
  write_safetensors(path, {{"a", make_tensor<float>({1, 2}, {2}, DType::f32)}});
  Bytes before = read_bytes(path);
  TensorSource bad{"b", "F32", {1024}, [](const ByteSink& sink) {
                     std::vector<float> half(512, 1.f);
                     sink(half.data(), half.size() * 4);
                     throw std::runtime_error("disk full (simulated)");
                   }};
  EXPECT_THROW(write_safetensors_streamed(path, std::vector<TensorSource>{bad}),
               std::runtime_error);
  EXPECT_EQ(read_bytes(path), before);
  EXPECT_EQ(files_in(dir.path()), 1u);
  // A producer giving too few or too many bytes is caught too.
  TensorSource few{"b", "F32", {4}, [](const ByteSink& sink) { sink("abcd", 4); }};
  EXPECT_THROW(write_safetensors_streamed(path, std::vector<TensorSource>{few}), ValueError);
  TensorSource many{"b", "U8", {2}, [](const ByteSink& sink) { sink("abcd", 4); }};
  EXPECT_THROW(write_safetensors_streamed(path, std::vector<TensorSource>{many}), ValueError);
  EXPECT_EQ(read_bytes(path), before);
  EXPECT_EQ(files_in(dir.path()), 1u);
  // Invalid requests are refused before anything is written.
  auto t = make_tensor<float>({1}, {1}, DType::f32);
  EXPECT_THROW(write_safetensors(path, {{"x", t}, {"x", t}}), ValueError);
  EXPECT_THROW(write_safetensors(path, {{"__metadata__", t}}), ValueError);
  EXPECT_THROW(write_safetensors(path, {{"x", Tensor()}}), ValueError);
  EXPECT_EQ(read_bytes(path), before);
  EXPECT_EQ(files_in(dir.path()), 1u);
}

TEST(AtomicFile, ReplacesAndCleansUp) {
  TempDir dir;
  auto p = dir / "x.json";
  atomic_write_file(p, "one");
  atomic_write_file(p, "two");
  EXPECT_EQ(read_bytes(p), (Bytes{'t', 'w', 'o'}));
  EXPECT_THROW(atomic_write(p,
                            [](AtomicFile& f) {
                              f.write("partial");
                              throw IoError("boom");
                            }),
               IoError);
  EXPECT_EQ(read_bytes(p), (Bytes{'t', 'w', 'o'}));
  {
    AtomicFile f(p);
    f.write("never committed");
    EXPECT_TRUE(std::filesystem::exists(f.temp_path()));
  }
  EXPECT_EQ(files_in(dir.path()), 1u);
  EXPECT_THROW(atomic_write_file(dir / "no-such-dir" / "f", "x"), IoError);
}

TEST(Checkpoint, ShardedRoundTrip) {
  TempDir dir;
  std::vector<TensorSource> src;
  for (int i = 0; i < 5; ++i)
    src.push_back(
        tensor_source("layer." + std::to_string(i) + ".w",
                      make_tensor<float>(std::vector<float>(16, float(i)), {4, 4}, DType::f32)));
  auto files = write_checkpoint(dir.path(), src, /*max_shard_bytes=*/130);
  ASSERT_EQ(files.size(), 4u);  // 3 shards (2 + 2 + 1 tensors) and the index
  EXPECT_TRUE(std::filesystem::exists(dir / "model-00001-of-00003.safetensors"));
  EXPECT_TRUE(std::filesystem::exists(dir / "model.safetensors.index.json"));
  Checkpoint c = load_checkpoint(dir.path());
  EXPECT_EQ(c.shards().size(), 3u);
  EXPECT_EQ(c.names().size(), 5u);
  for (int i = 0; i < 5; ++i) {
    std::string n = "layer." + std::to_string(i) + ".w";
    EXPECT_EQ(c.tensor(n).to_vector<float>(), std::vector<float>(16, float(i)));
    EXPECT_EQ(c.info(n).shape, (Shape{4, 4}));
  }
  EXPECT_NE(c.shard_of("layer.0.w").label(), c.shard_of("layer.4.w").label());
  EXPECT_EQ(c.metadata().at("format"), "pt");
  EXPECT_THROW(c.tensor("nope"), IoError);
  // Rewriting as a single file removes the stale index.
  write_checkpoint(dir.path(), src);
  EXPECT_FALSE(std::filesystem::exists(dir / "model.safetensors.index.json"));
  EXPECT_EQ(load_checkpoint(dir.path()).shards().size(), 1u);
  EXPECT_EQ(Checkpoint::open(dir / "model.safetensors").names().size(), 5u);
}

TEST(Checkpoint, BadIndexesNameTheFileAndTensor) {
  TempDir dir;
  write_safetensors(dir / "a.safetensors", {{"x", make_tensor<float>({1}, {1}, DType::f32)}});
  auto expect_io = [&](const std::string& index, const std::string& needle) {
    testing::write_bytes(dir / "model.safetensors.index.json", Bytes(index.begin(), index.end()));
    try {
      load_checkpoint(dir.path());
      ADD_FAILURE() << "no error for " << index;
    } catch (const IoError& e) {
      EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find("model.safetensors.index.json"), std::string::npos);
    }
  };
  expect_io(R"({"weight_map": {"y": "a.safetensors"}})", "'y'");
  expect_io(R"({"weight_map": {"x": "../a.safetensors"}})", "'x'");
  expect_io(R"({"weight_map": {"x": 3}})", "'x'");
  expect_io(R"({"metadata": {}})", "weight_map");
  expect_io(R"({"weight_map": )", "JSON");
  std::filesystem::remove(dir / "model.safetensors.index.json");
  EXPECT_THROW(load_checkpoint(dir.path()), IoError);
  EXPECT_THROW(load_checkpoint(dir / "missing.safetensors"), IoError);
}

}  // namespace
}  // namespace wick::io
