// Every class of malformed safetensors file is rejected with an IoError naming the file and, where
// there is one, the tensor. The same cases live as files in tests/io/broken/ (together with any
// input the fuzzer found), which the last test loads one by one.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <limits>

#include "io_test_util.h"
#include "testing/testing.h"
#include "wick/core/errors.h"
#include "wick/io/safetensors.h"

namespace wick::io {
namespace {

using testing::Bytes;
using testing::image;

struct Broken {
  std::string name;      // file stem
  Bytes bytes;           // whole file
  std::string needle;    // must appear in the message besides the file name ("" for none)
  bool on_read = false;  // the error comes when the tensor is read, not when the file is opened
};

Bytes u64_then(uint64_t n, const std::string& rest) {
  Bytes b(8 + rest.size());
  std::memcpy(b.data(), &n, 8);
  if (!rest.empty()) std::memcpy(b.data() + 8, rest.data(), rest.size());
  return b;
}

std::string entry(const std::string& name, const std::string& dtype, const std::string& shape,
                  const std::string& offsets) {
  return fmt::format(R"("{}":{{"dtype":"{}","shape":{},"data_offsets":{}}})", name, dtype, shape,
                     offsets);
}

std::string obj(const std::vector<std::string>& entries) {
  std::string r = "{";
  for (size_t i = 0; i < entries.size(); ++i) r.append(i ? "," : "").append(entries[i]);
  return r.append("}");
}

std::vector<Broken> broken_cases() {
  const Bytes z8(8), z12(12), z20(20);
  const std::string big = "4611686018427387904";  // 2^62
  return {
      {"empty", {}, ""},
      {"short_length", {1, 2, 3}, ""},
      {"header_past_eof", u64_then(100, "{}"), ""},
      {"header_too_big", u64_then(200'000'000, "{}      "), ""},
      {"header_len_max", u64_then(std::numeric_limits<uint64_t>::max(), "{}      "), ""},
      {"zero_header", u64_then(0, ""), ""},
      {"not_object", image("[1,2]"), ""},
      {"invalid_json", image("{\"w\":"), ""},
      {"trailing_garbage", image("{}x"), ""},
      {"nul_padding", image(std::string("{}\0\0\0\0\0\0", 8), {}, false), ""},
      {"non_utf8_name", image("{\"\xff\xfe\":{}}"), ""},
      {"deep_nesting", image("{\"w\":{\"dtype\":[[[[1]]]]}}"), ""},
      {"truncated_data", image(obj({entry("w", "F32", "[4]", "[0,16]")}), z8), "w"},
      {"overlap",
       image(obj({entry("a", "F32", "[2]", "[0,8]"), entry("b", "F32", "[2]", "[4,12]")}), z12),
       "b"},
      {"gap",
       image(obj({entry("a", "F32", "[2]", "[0,8]"), entry("b", "F32", "[2]", "[12,20]")}), z20),
       "b"},
      {"trailing_bytes", image(obj({entry("w", "F32", "[2]", "[0,8]")}), z12), "w"},
      {"no_tensors_but_data", image("{}", z8), ""},
      {"bad_dtype", image(obj({entry("w", "F8_E9M9", "[2]", "[0,2]")}), Bytes(2)), "w"},
      {"dtype_not_string", image(R"({"w":{"dtype":5,"shape":[2],"data_offsets":[0,8]}})", z8), "w"},
      {"dtype_missing", image(R"({"w":{"shape":[2],"data_offsets":[0,8]}})", z8), "w"},
      {"shape_missing", image(R"({"w":{"dtype":"F32","data_offsets":[0,8]}})", z8), "w"},
      {"offsets_missing", image(R"({"w":{"dtype":"F32","shape":[2]}})", z8), "w"},
      {"shape_mismatch", image(obj({entry("w", "F32", "[3]", "[0,8]")}), z8), "w"},
      {"negative_dim", image(obj({entry("w", "F32", "[-1]", "[0,8]")}), z8), "w"},
      {"float_dim", image(obj({entry("w", "F32", "[1.5]", "[0,8]")}), z8), "w"},
      {"shape_not_array", image(obj({entry("w", "F32", "\"2\"", "[0,8]")}), z8), "w"},
      {"shape_overflow",
       image(obj({entry("w", "U8", fmt::format("[{},{}]", big, big), "[0,8]")}), z8), "w"},
      {"shape_overflow_with_zero",
       image(obj({entry("w", "U8", fmt::format("[{},4,0]", big), "[0,0]")})), "w"},
      {"bytes_overflow", image(obj({entry("w", "F64", fmt::format("[{}]", big), "[0,8]")}), z8),
       "w"},
      {"offsets_reversed", image(obj({entry("w", "F32", "[2]", "[8,0]")}), z8), "w"},
      {"offsets_three", image(obj({entry("w", "F32", "[2]", "[0,4,8]")}), z8), "w"},
      {"offsets_negative", image(obj({entry("w", "F32", "[2]", "[-8,0]")}), z8), "w"},
      {"offsets_huge",
       image(obj({entry("w", "U8", "[8]", "[18446744073709551608,18446744073709551615]")}), z8),
       "w"},
      {"entry_not_object", image(R"({"w":5})", z8), "w"},
      {"duplicate_tensor",
       image(obj({entry("w", "F32", "[1]", "[0,4]"), entry("w", "F32", "[1]", "[4,8]")}), z8), "w"},
      {"duplicate_field",
       image(R"({"w":{"dtype":"F32","dtype":"F32","shape":[2],"data_offsets":[0,8]}})", z8), "w"},
      {"duplicate_metadata_key", image(R"({"__metadata__":{"k":"a","k":"b"}})"), "__metadata__"},
      {"metadata_not_object", image(R"({"__metadata__":5})"), "__metadata__"},
      {"metadata_value_not_string", image(R"({"__metadata__":{"k":1}})"), "__metadata__"},
      {"f4_odd_bits", image(obj({entry("w", "F4", "[3]", "[0,1]")}), Bytes(1)), "w"},
      {"bool_not_0_or_1", image(obj({entry("w", "BOOL", "[2]", "[0,2]")}), Bytes{0, 2}), "w", true},
  };
}

// Opens (and, when it opens, reads every tensor of) `load`'s result; returns the IoError message.
template <class Open>
std::string io_error_of(Open&& open) {
  try {
    SafeTensorsFile f = open();
    for (const auto& n : f.names()) {
      auto dt = wick_dtype_for(f.info(n).dtype);
      if (dt) f.tensor(n);
    }
  } catch (const IoError& e) {
    return e.what();
  }
  return "";
}

TEST(SafeTensorsValidation, EveryBrokenCaseIsAnIoErrorNamingFileAndTensor) {
  const char* dump = std::getenv("WICK_WRITE_BROKEN_DIR");  // regenerates tests/io/broken/
  testing::TempDir dir;
  for (const auto& c : broken_cases()) {
    SCOPED_TRACE(c.name);
    const std::string label = c.name + ".safetensors";
    std::string m = io_error_of([&] { return SafeTensorsFile::from_bytes(c.bytes, label); });
    ASSERT_FALSE(m.empty()) << "no IoError";
    EXPECT_NE(m.find(label), std::string::npos) << m;
    if (!c.needle.empty()) {
      EXPECT_NE(m.find(fmt::format("'{}'", c.needle)), std::string::npos) << m;
    }
    if (!c.on_read) {
      EXPECT_THROW(parse_header(c.bytes.data(), c.bytes.size(), label), IoError);
    } else {
      EXPECT_NO_THROW(parse_header(c.bytes.data(), c.bytes.size(), label));
    }
    // The same from a file on disk.
    testing::write_bytes(dir / label, c.bytes);
    m = io_error_of([&] { return SafeTensorsFile::open(dir / label); });
    EXPECT_NE(m.find(label), std::string::npos) << m;
    if (dump) testing::write_bytes(std::filesystem::path(dump) / label, c.bytes);
  }
}

TEST(SafeTensorsValidation, EmptyAndZeroSizedFilesAreFine) {
  auto f = SafeTensorsFile::from_bytes(image("{}"), "empty_ok.safetensors");
  EXPECT_TRUE(f.names().empty());
  auto g = SafeTensorsFile::from_bytes(
      image(obj({entry("a", "F32", "[0,3]", "[0,0]"), entry("b", "I64", "[]", "[0,8]")}), Bytes(8)),
      "zero_ok.safetensors");
  EXPECT_EQ(g.tensor("a").numel(), 0);
  EXPECT_EQ(g.tensor("b").item<int64_t>(), 0);
}

TEST(SafeTensorsValidation, NotAFileIsAnIoError) {
  testing::TempDir dir;
  EXPECT_THROW(SafeTensorsFile::open(dir.path()), IoError);
  EXPECT_THROW(SafeTensorsFile::open(dir / "missing.safetensors"), IoError);
}

TEST(SafeTensorsValidation, CommittedBrokenFilesAllFail) {
  auto broken = std::filesystem::path(wick::testing::source_path("tests/io/broken"));
  size_t n = 0;
  for (const auto& e : std::filesystem::directory_iterator(broken)) {
    SCOPED_TRACE(e.path().string());
    std::string m = io_error_of([&] { return SafeTensorsFile::open(e.path()); });
    EXPECT_NE(m.find(e.path().filename().string()), std::string::npos) << "message: " << m;
    ++n;
  }
  EXPECT_GE(n, broken_cases().size());
}

}  // namespace
}  // namespace wick::io
