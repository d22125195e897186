// Writing safetensors files and sharded checkpoints, atomically.
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstring>
#include <set>

#include "wick/core/errors.h"
#include "wick/io/atomic_file.h"
#include "wick/io/safetensors.h"

namespace wick::io {

namespace {

constexpr size_t kChunkBytes = size_t(1) << 20;

// Byte size of a tensor to write; throws ValueError naming it when the shape or dtype is invalid.
uint64_t checked_nbytes(const TensorSource& s, const std::string& file) {
  int bits = safetensors_dtype_bits(s.dtype);
  if (bits == 0)
    fail<ValueError>("write_safetensors", "{}: tensor '{}': unknown dtype '{}'", file, s.name,
                     s.dtype);
  uint64_t numel = 1;
  bool zero = false;
  for (int64_t d : s.shape) {
    if (d < 0)
      fail<ValueError>("write_safetensors", "{}: tensor '{}': negative dimension in shape {}", file,
                       s.name, shape_str(s.shape));
    if (d == 0) zero = true;
    if (d != 0 && __builtin_mul_overflow(numel, uint64_t(d), &numel))
      fail<ValueError>("write_safetensors", "{}: tensor '{}': shape {} overflows", file, s.name,
                       shape_str(s.shape));
  }
  if (zero) numel = 0;
  uint64_t nbits = 0;
  if (__builtin_mul_overflow(numel, uint64_t(bits), &nbits) || nbits % 8 != 0)
    fail<ValueError>("write_safetensors", "{}: tensor '{}': {} x {} bits is not a whole byte count",
                     file, s.name, numel, bits);
  return nbits / 8;
}

// Writes a strided tensor's elements in row-major order, a chunk at a time.
void gather_strided(const Tensor& t, const ByteSink& sink) {
  const size_t es = size_of(t.dtype());
  const auto& shape = t.shape();
  const auto& st = t.strides();
  const int nd = t.ndim();
  const uint8_t* base = static_cast<const uint8_t*>(t.raw_data());
  // The innermost axis is copied as one run when its stride is 1.
  const int64_t inner = shape[nd - 1];
  const bool inner_dense = st[nd - 1] == 1;
  std::vector<uint8_t> chunk;
  chunk.reserve(kChunkBytes + size_t(inner) * es);
  std::vector<int64_t> idx(size_t(nd), 0);
  int64_t off = 0;  // element offset of idx with idx[nd-1] = 0
  const int64_t rows = t.numel() / inner;
  for (int64_t r = 0; r < rows; ++r) {
    if (inner_dense) {
      const uint8_t* src = base + off * int64_t(es);
      chunk.insert(chunk.end(), src, src + inner * int64_t(es));
    } else {
      for (int64_t k = 0; k < inner; ++k) {
        const uint8_t* src = base + (off + k * st[nd - 1]) * int64_t(es);
        chunk.insert(chunk.end(), src, src + es);
      }
    }
    if (chunk.size() >= kChunkBytes) {
      sink(chunk.data(), chunk.size());
      chunk.clear();
    }
    for (int d = nd - 2; d >= 0; --d) {
      if (++idx[size_t(d)] < shape[size_t(d)]) {
        off += st[size_t(d)];
        break;
      }
      off -= st[size_t(d)] * (shape[size_t(d)] - 1);
      idx[size_t(d)] = 0;
    }
  }
  if (!chunk.empty()) sink(chunk.data(), chunk.size());
}

std::string header_json(const std::vector<const TensorSource*>& order,
                        const std::vector<uint64_t>& sizes,
                        const std::map<std::string, std::string>& metadata,
                        const std::string& file) {
  nlohmann::ordered_json h = nlohmann::ordered_json::object();
  if (!metadata.empty()) {
    nlohmann::ordered_json m = nlohmann::ordered_json::object();
    for (const auto& [k, v] : metadata) m[k] = v;
    h["__metadata__"] = std::move(m);
  }
  uint64_t at = 0;
  for (size_t i = 0; i < order.size(); ++i) {
    nlohmann::ordered_json e;
    e["dtype"] = order[i]->dtype;
    e["shape"] = order[i]->shape;
    e["data_offsets"] = {at, at + sizes[i]};
    at += sizes[i];
    h[order[i]->name] = std::move(e);
  }
  std::string s;
  try {
    s = h.dump();
  } catch (const nlohmann::json::exception& e) {
    fail<ValueError>("write_safetensors", "{}: a tensor name or metadata string is not UTF-8: {}",
                     file, e.what());
  }
  // Pad with spaces so that the data section starts 8-byte aligned.
  s.append((8 - s.size() % 8) % 8, ' ');
  return s;
}

}  // namespace

TensorSource tensor_source(std::string name, const Tensor& t) {
  if (!t.valid())
    fail<ValueError>("write_safetensors", "tensor '{}': empty (default-constructed) Tensor", name);
  t.eval();
  TensorSource s;
  s.name = std::move(name);
  s.dtype = safetensors_dtype_name(t.dtype());
  s.shape = t.shape();
  s.produce = [src = t](const ByteSink& sink) {
    if (src.numel() == 0) return;
    // A device tensor is copied to the host when its bytes are written (one at a time).
    const Tensor t = src.device().type == DeviceType::cpu ? src : src.to(Device::cpu()).eval();
    if (t.is_contiguous()) {
      sink(t.raw_data(), t.nbytes());
    } else {
      gather_strided(t, sink);
    }
  };
  return s;
}

TensorSource raw_source(std::string name, const RawTensor& raw) {
  TensorSource s;
  s.name = std::move(name);
  s.dtype = raw.info.dtype;
  s.shape = raw.info.shape;
  s.produce = [raw](const ByteSink& sink) {
    if (raw.info.nbytes()) sink(raw.data, raw.info.nbytes());
  };
  return s;
}

void write_safetensors_streamed(const std::filesystem::path& path,
                                const std::vector<TensorSource>& tensors,
                                const std::map<std::string, std::string>& metadata) {
  const std::string file = path.string();
  std::set<std::string> seen;
  for (const auto& t : tensors) {
    if (t.name == "__metadata__")
      fail<ValueError>("write_safetensors", "{}: tensor '__metadata__': the name is reserved",
                       file);
    if (!seen.insert(t.name).second)
      fail<ValueError>("write_safetensors", "{}: tensor '{}': name given twice", file, t.name);
    if (!t.produce)
      fail<ValueError>("write_safetensors", "{}: tensor '{}': no data producer", file, t.name);
  }
  // Like the reference: widest dtypes first, then by name, so every tensor is aligned.
  std::vector<const TensorSource*> order;
  for (const auto& t : tensors) order.push_back(&t);
  std::sort(order.begin(), order.end(), [](const TensorSource* a, const TensorSource* b) {
    int ba = safetensors_dtype_bits(a->dtype), bb = safetensors_dtype_bits(b->dtype);
    return ba != bb ? ba > bb : a->name < b->name;
  });
  std::vector<uint64_t> sizes;
  for (const TensorSource* t : order) sizes.push_back(checked_nbytes(*t, file));
  const std::string header = header_json(order, sizes, metadata, file);

  atomic_write(path, [&](AtomicFile& f) {
    uint64_t n = header.size();
    f.write(&n, 8);
    f.write(header);
    for (size_t i = 0; i < order.size(); ++i) {
      uint64_t got = 0;
      const TensorSource& t = *order[i];
      t.produce([&](const void* data, size_t k) {
        if (k > sizes[i] - got)
          fail<ValueError>("write_safetensors", "{}: tensor '{}': producer gave more than {} bytes",
                           file, t.name, sizes[i]);
        got += k;
        f.write(data, k);
      });
      if (got != sizes[i])
        fail<ValueError>("write_safetensors",
                         "{}: tensor '{}': producer gave {} bytes, expected {}", file, t.name, got,
                         sizes[i]);
    }
  });
}

void write_safetensors(const std::filesystem::path& path,
                       const std::vector<std::pair<std::string, Tensor>>& tensors,
                       const std::map<std::string, std::string>& metadata) {
  std::vector<TensorSource> sources;
  sources.reserve(tensors.size());
  for (const auto& [name, t] : tensors) sources.push_back(tensor_source(name, t));
  write_safetensors_streamed(path, sources, metadata);
}

std::vector<std::filesystem::path> write_checkpoint(
    const std::filesystem::path& dir, const std::vector<TensorSource>& tensors,
    uint64_t max_shard_bytes, const std::map<std::string, std::string>& metadata) {
  const std::filesystem::path single = dir / "model.safetensors";
  const std::filesystem::path index = dir / "model.safetensors.index.json";
  // Group tensors, in the given order, into shards of at most max_shard_bytes (a bigger tensor
  // gets a shard of its own).
  std::vector<std::vector<TensorSource>> shards(1);
  uint64_t in_shard = 0, total = 0;
  for (const auto& t : tensors) {
    uint64_t n = checked_nbytes(t, dir.string());
    if (!shards.back().empty() && in_shard + n > max_shard_bytes) {
      shards.emplace_back();
      in_shard = 0;
    }
    shards.back().push_back(t);
    in_shard += n;
    total += n;
  }
  std::vector<std::filesystem::path> written;
  std::error_code ec;
  if (shards.size() == 1) {
    write_safetensors_streamed(single, shards[0], metadata);
    std::filesystem::remove(index, ec);  // a stale index would describe other weights
    written.push_back(single);
    return written;
  }
  nlohmann::ordered_json wm = nlohmann::ordered_json::object();
  for (size_t i = 0; i < shards.size(); ++i) {
    std::string name = fmt::format("model-{:05d}-of-{:05d}.safetensors", i + 1, shards.size());
    write_safetensors_streamed(dir / name, shards[i], metadata);
    written.push_back(dir / name);
    for (const auto& t : shards[i]) wm[t.name] = name;
  }
  nlohmann::ordered_json j;
  j["metadata"] = {{"total_size", total}};
  j["weight_map"] = std::move(wm);
  atomic_write_file(index, j.dump(2) + "\n");
  std::filesystem::remove(single, ec);  // the loader would prefer a stale single file
  written.push_back(index);
  return written;
}

}  // namespace wick::io
