// Merging at the checkpoint level: no model class is needed, so any architecture whose adapted
// layers are plain linear weights [Out, In] (PEFT's LoRA on nn.Linear) can be merged.
#include <unistd.h>
#include <fstream>
#include <map>
#include <sstream>

#include "wick/io/atomic_file.h"
#include "wick/io/safetensors.h"
#include "wick/lora/lora.h"
#include "wick/ops.h"

namespace wick::lora {

namespace fs = std::filesystem;

std::map<std::string, Tensor> merged_weights(const io::Checkpoint& ck, const fs::path& model_dir,
                                             const fs::path& adapter_dir) {
  const LoraConfig cfg = read_adapter_config(adapter_dir);
  auto ad = io::SafeTensorsFile::open(adapter_dir / "adapter_model.safetensors");
  const std::string prefix = "base_model.model.";
  // layer path -> (A name, B name)
  std::map<std::string, std::pair<std::string, std::string>> layers;
  for (const auto& name : ad.names()) {
    std::string key = name.rfind(prefix, 0) == 0 ? name.substr(prefix.size()) : name;
    for (const char* which : {".lora_A.weight", ".lora_B.weight"}) {
      if (!key.ends_with(which)) continue;
      std::string path = key.substr(0, key.size() - std::string(which).size());
      (which[6] == 'A' ? layers[path].first : layers[path].second) = name;
      key.clear();
      break;
    }
    if (!key.empty())
      fail<IoError>("merge", "'{}': tensor '{}' is not a LoRA A/B weight", ad.label(), name);
  }
  if (layers.empty()) fail<IoError>("merge", "'{}' holds no LoRA weights", ad.label());
  std::map<std::string, Tensor> merged;
  for (const auto& [path, ab] : layers) {
    if (ab.first.empty() || ab.second.empty())
      fail<IoError>("merge", "'{}': layer '{}' lacks its lora_{} weight", ad.label(), path,
                    ab.first.empty() ? "A" : "B");
    const std::string wkey = path + ".weight";
    if (!ck.contains(wkey))
      fail<IoError>("merge", "the model in '{}' has no tensor '{}' for adapter layer '{}'",
                    model_dir.string(), wkey, path);
    const auto& info = ck.info(wkey);
    auto stored = io::wick_dtype_for(info.dtype);
    if (!stored || !is_floating(*stored))
      fail<DtypeError>("merge", "'{}' is stored as {}, which cannot be merged", wkey, info.dtype);
    const DType ct = *stored == DType::f64 ? DType::f64 : DType::f32;
    Tensor W = ck.tensor(wkey, ct);
    Tensor A = ad.tensor(ab.first, ct), B = ad.tensor(ab.second, ct);
    if (W.ndim() != 2 || A.ndim() != 2 || B.ndim() != 2 || A.shape(1) != W.shape(1) ||
        B.shape(0) != W.shape(0) || B.shape(1) != A.shape(0))
      fail<IoError>("merge", "layer '{}': weight {}, lora_A {}, lora_B {} do not fit", path,
                    shape_str(W.shape()), shape_str(A.shape()), shape_str(B.shape()));
    // Per layer: rank_pattern / alpha_pattern may give this layer its own scale.
    if (A.shape(0) != cfg.rank_for(path))
      fail<IoError>("merge", "layer '{}': lora_A has rank {}, the adapter config says {}", path,
                    A.shape(0), cfg.rank_for(path));
    Tensor m = astype(W + matmul(B, A) * cfg.scale_for(path), *stored);
    m.eval();
    merged[wkey] = m;
  }
  return merged;
}

int64_t merge_adapter_into_checkpoint(const fs::path& model_dir, const fs::path& adapter_dir,
                                      const fs::path& out_dir) {
  auto ck = io::load_checkpoint(model_dir);
  const std::map<std::string, Tensor> merged = merged_weights(ck, model_dir, adapter_dir);
  if (fs::exists(out_dir) && !(fs::is_directory(out_dir) && fs::is_empty(out_dir)))
    fail<IoError>("merge", "output folder '{}' exists and is not empty", out_dir.string());
  fs::path tmp = out_dir;
  tmp += ".tmp-" + std::to_string(::getpid());
  fs::remove_all(tmp);
  fs::create_directories(tmp);
  try {
    std::vector<io::TensorSource> sources;
    for (const auto& name : ck.names()) {
      auto it = merged.find(name);
      sources.push_back(it != merged.end() ? io::tensor_source(name, it->second)
                                           : io::raw_source(name, ck.raw(name)));
    }
    io::write_checkpoint(tmp, sources);
    for (const auto& e : fs::directory_iterator(model_dir)) {
      if (!e.is_regular_file()) continue;
      const std::string fn = e.path().filename().string();
      if (fn.ends_with(".safetensors") || fn == "model.safetensors.index.json" ||
          fn.ends_with(".bin") || fn.ends_with(".pt"))
        continue;
      std::ifstream in(e.path(), std::ios::binary);
      std::stringstream ss;
      ss << in.rdbuf();
      io::atomic_write_file(tmp / fn, ss.str());
    }
    if (fs::exists(out_dir)) fs::remove(out_dir);
    fs::rename(tmp, out_dir);
  } catch (...) {
    std::error_code ec;
    fs::remove_all(tmp, ec);
    throw;
  }
  return int64_t(merged.size());
}

}  // namespace wick::lora
