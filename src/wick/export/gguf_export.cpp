// HF folder -> GGUF. Names, metadata keys and the Q/K permutation follow llama.cpp's converter
// (convert_hf_to_gguf.py) and loader (llama-arch.cpp): facts reused, no code copied.
//   - "llama" (Llama, Mistral) uses rotary pairs (2i, 2i+1) where transformers uses (i, i + Dh/2),
//     so the rows of q_proj / k_proj (weights and biases) are permuted per head:
//     new row h*Dh + 2i + j  <-  old row h*Dh + j*Dh/2 + i   (j in {0, 1}, i < Dh/2).
//   - "qwen2" / "qwen3" use the NeoX rotary layout of transformers: no permutation.
//   - rope "llama3" scaling is a per-frequency divisor tensor rope_freqs.weight [Dh/2].
#include "wick/export/gguf_export.h"

#include <cmath>
#include <cstring>
#include <map>
#include <memory>
#include <numbers>
#include <regex>

#include "wick/core/dtype.h"
#include "wick/core/errors.h"
#include "wick/io/safetensors.h"
#include "wick/lora/base_info.h"
#include "wick/lora/lora.h"

namespace wick::exporter {

namespace fs = std::filesystem;

namespace {

struct GgufArch {
  std::string name;  // general.architecture
  bool permute_qk = false;
};

GgufArch gguf_arch_for(const io::LlamaConfig& c, const fs::path& config_file) {
  const std::string arch = c.architectures.empty() ? "" : c.architectures.front();
  if (c.model_type == "llama" || c.model_type == "mistral") return {"llama", true};
  if (c.model_type == "qwen2") return {"qwen2", false};
  if (c.model_type == "qwen3") return {"qwen3", false};
  fail<NotImplemented>("export",
                       "'{}': model_type '{}' (architecture '{}') has no GGUF export; expected "
                       "llama, mistral, qwen2 or qwen3",
                       config_file.string(), c.model_type, arch);
}

// llama.cpp's file type (llama_ftype) of the dominant weight type.
uint32_t gguf_file_type(io::GgmlType t) {
  switch (t) {
    case io::GgmlType::f32:
      return 0;
    case io::GgmlType::f16:
      return 1;
    case io::GgmlType::q8_0:
      return 7;
    case io::GgmlType::bf16:
      return 32;
  }
  return 0;
}

io::GgmlType gguf_parse_dtype(const std::string& s) {
  if (s == "f32") return io::GgmlType::f32;
  if (s == "f16") return io::GgmlType::f16;
  if (s == "bf16") return io::GgmlType::bf16;
  if (s == "q8_0") return io::GgmlType::q8_0;
  fail<ValueError>("export", "--dtype '{}' is not supported; expected f32, f16, bf16 or q8_0", s);
}

// The GGUF name of a transformers tensor name, or "" for tensors llama.cpp does not read.
std::string gguf_tensor_name(const std::string& hf, bool& known) {
  known = true;
  static const std::map<std::string, std::string> top = {
      {"model.embed_tokens.weight", "token_embd.weight"},
      {"model.norm.weight", "output_norm.weight"},
      {"lm_head.weight", "output.weight"},
  };
  if (auto it = top.find(hf); it != top.end()) return it->second;
  static const std::regex layer_re(R"(model\.layers\.(\d+)\.(.+)\.(weight|bias))");
  static const std::map<std::string, std::string> per_layer = {
      {"input_layernorm", "attn_norm"},    {"post_attention_layernorm", "ffn_norm"},
      {"self_attn.q_proj", "attn_q"},      {"self_attn.k_proj", "attn_k"},
      {"self_attn.v_proj", "attn_v"},      {"self_attn.o_proj", "attn_output"},
      {"self_attn.q_norm", "attn_q_norm"}, {"self_attn.k_norm", "attn_k_norm"},
      {"mlp.gate_proj", "ffn_gate"},       {"mlp.up_proj", "ffn_up"},
      {"mlp.down_proj", "ffn_down"},
  };
  std::smatch m;
  if (std::regex_match(hf, m, layer_re)) {
    if (m[2] == "self_attn.rotary_emb") {  // inv_freq buffers of old checkpoints
      known = false;
      return "";
    }
    auto it = per_layer.find(m[2]);
    if (it != per_layer.end()) return "blk." + m[1].str() + "." + it->second + "." + m[3].str();
  }
  known = false;
  return hf.ends_with("rotary_emb.inv_freq") ? "" : hf;
}

// Rows of q/k (or their biases) from the transformers rotary layout to llama.cpp's.
std::vector<float> gguf_permute_rows(const std::vector<float>& x, int64_t rows, int64_t n_head) {
  const int64_t hd = rows / n_head, half = hd / 2, cols = int64_t(x.size()) / rows;
  std::vector<float> out(x.size());
  for (int64_t h = 0; h < n_head; ++h)
    for (int64_t i = 0; i < half; ++i)
      for (int64_t j = 0; j < 2; ++j) {
        const int64_t dst = h * hd + 2 * i + j, src = h * hd + j * half + i;
        std::copy_n(x.begin() + src * cols, cols, out.begin() + dst * cols);
      }
  return out;
}

std::vector<uint8_t> gguf_encode(const std::vector<float>& x, io::GgmlType t) {
  std::vector<uint8_t> out;
  switch (t) {
    case io::GgmlType::f32:
      out.resize(x.size() * 4);
      std::memcpy(out.data(), x.data(), out.size());
      break;
    case io::GgmlType::f16:
    case io::GgmlType::bf16:
      out.resize(x.size() * 2);
      for (size_t i = 0; i < x.size(); ++i) {
        const uint16_t h = t == io::GgmlType::f16 ? float_to_f16_bits(x[i]) : to_bf16(x[i]).bits;
        out[2 * i] = uint8_t(h & 0xff);
        out[2 * i + 1] = uint8_t(h >> 8);
      }
      break;
    case io::GgmlType::q8_0:
      out.reserve(io::ggml_row_bytes(t, x.size()));
      io::quantize_q8_0(x.data(), int64_t(x.size()), out);
      break;
  }
  return out;
}

// rope_freqs.weight for transformers' "llama3" rope scaling: the divisor of each frequency
// (1 above the high-frequency band, `factor` below the low one, interpolated between).
std::vector<float> gguf_llama3_rope_factors(const io::LlamaConfig& c) {
  const auto& s = c.rope_scaling;
  const int64_t dim = c.head_dim;
  const double old_ctx = double(s.original_max_position_embeddings);
  const double low_wavelen = old_ctx / s.low_freq_factor,
               high_wavelen = old_ctx / s.high_freq_factor;
  std::vector<float> out;
  for (int64_t i = 0; i < dim; i += 2) {
    const double freq = 1.0 / std::pow(c.rope_theta, double(i) / double(dim));
    const double wavelen = 2 * std::numbers::pi / freq;
    if (wavelen < high_wavelen) {
      out.push_back(1.0f);
    } else if (wavelen > low_wavelen) {
      out.push_back(float(s.factor));
    } else {
      const double smooth =
          (old_ctx / wavelen - s.low_freq_factor) / (s.high_freq_factor - s.low_freq_factor);
      out.push_back(float(1.0 / ((1 - smooth) / s.factor + smooth)));
    }
  }
  return out;
}

}  // namespace

GgufExportReport export_gguf(const GgufExportOptions& o) {
  const fs::path config_file = o.model_dir / "config.json";
  const io::LlamaConfig c = io::load_llama_config(o.model_dir);
  const GgufArch arch = gguf_arch_for(c, config_file);
  if (c.hidden_act != "silu")
    fail<NotImplemented>("export", "'{}': hidden_act '{}' has no GGUF export; expected silu",
                         config_file.string(), c.hidden_act);
  GgufExportReport rep;
  rep.architecture = arch.name;
  if (c.rope_scaling.type == io::RopeScaling::Type::llama3 && arch.name != "llama")
    fail<NotImplemented>("export",
                         "'{}': rope scaling llama3 on model_type '{}' has no GGUF export",
                         config_file.string(), c.model_type);
  if (c.sliding_window && *c.sliding_window < c.max_position_embeddings)
    rep.notes.push_back(fmt::format(
        "sliding_window {} is not stored: llama.cpp's {} attends to the whole context, so "
        "outputs differ from wick's beyond {} tokens",
        *c.sliding_window, arch.name, *c.sliding_window));

  io::Checkpoint ck = io::load_checkpoint(o.model_dir);
  std::map<std::string, Tensor> merged;
  if (!o.adapter_dir.empty()) {
    lora::check_adapter_base(o.adapter_dir, c, o.model_dir.string());
    merged = lora::merged_weights(ck, o.model_dir, o.adapter_dir);
    rep.merged = int64_t(merged.size());
  }
  // The 2-D weight type: --dtype, else the checkpoint's float type.
  io::GgmlType wtype = io::GgmlType::f32;
  if (!o.dtype.empty()) {
    wtype = gguf_parse_dtype(o.dtype);
  } else if (ck.contains("model.embed_tokens.weight")) {
    const std::string st = ck.info("model.embed_tokens.weight").dtype;
    wtype = st == "BF16" ? io::GgmlType::bf16 : st == "F16" ? io::GgmlType::f16 : io::GgmlType::f32;
  }
  rep.dtype = io::ggml_type_name(wtype);

  io::GgufWriter w;
  const std::string a = arch.name;
  w.add("general.architecture", io::GgufValue::str(a));
  fs::path name = fs::absolute(o.model_dir).lexically_normal();
  if (!name.has_filename()) name = name.parent_path();  // "DIR/"
  w.add("general.name", io::GgufValue::str(name.filename().string()));
  w.add("general.file_type", io::GgufValue::u32(gguf_file_type(wtype)));
  w.add("general.quantization_version", io::GgufValue::u32(2));
  w.add(a + ".context_length", io::GgufValue::u32(uint32_t(c.max_position_embeddings)));
  w.add(a + ".embedding_length", io::GgufValue::u32(uint32_t(c.hidden_size)));
  w.add(a + ".block_count", io::GgufValue::u32(uint32_t(c.num_hidden_layers)));
  w.add(a + ".feed_forward_length", io::GgufValue::u32(uint32_t(c.intermediate_size)));
  w.add(a + ".attention.head_count", io::GgufValue::u32(uint32_t(c.num_attention_heads)));
  w.add(a + ".attention.head_count_kv", io::GgufValue::u32(uint32_t(c.num_key_value_heads)));
  w.add(a + ".attention.key_length", io::GgufValue::u32(uint32_t(c.head_dim)));
  w.add(a + ".attention.value_length", io::GgufValue::u32(uint32_t(c.head_dim)));
  w.add(a + ".rope.dimension_count", io::GgufValue::u32(uint32_t(c.head_dim)));
  w.add(a + ".rope.freq_base", io::GgufValue::f32(float(c.rope_theta)));
  w.add(a + ".attention.layer_norm_rms_epsilon", io::GgufValue::f32(float(c.rms_norm_eps)));
  w.add(a + ".vocab_size", io::GgufValue::u32(uint32_t(c.vocab_size)));
  if (c.rope_scaling.type == io::RopeScaling::Type::linear) {
    w.add(a + ".rope.scaling.type", io::GgufValue::str("linear"));
    w.add(a + ".rope.scaling.factor", io::GgufValue::f32(float(c.rope_scaling.factor)));
  }
  rep.tokenizer = add_gguf_tokenizer(w, o.model_dir, c, rep.notes);

  if (c.rope_scaling.type == io::RopeScaling::Type::llama3) {
    auto factors = gguf_llama3_rope_factors(c);
    const int64_t n = int64_t(factors.size());
    w.add_tensor({"rope_freqs.weight", {n}, io::GgmlType::f32, [factors] {
                    return gguf_encode(factors, io::GgmlType::f32);
                  }});
    ++rep.tensors;
  }
  bool fallback_noted = false;
  for (const std::string& name : ck.names()) {
    bool known = false;
    const std::string gname = gguf_tensor_name(name, known);
    if (gname.empty()) continue;
    if (!known)
      fail<NotImplemented>("export", "'{}': tensor '{}' has no llama.cpp name for architecture {}",
                           ck.source().string(), name, a);
    const auto& info = ck.info(name);
    const Shape shape = info.shape;
    io::GgmlType t = shape.size() >= 2 ? wtype : io::GgmlType::f32;
    if (t == io::GgmlType::q8_0 && shape.back() % io::kQ8Block != 0) {
      t = io::GgmlType::f16;  // as llama.cpp's converter: rows q8_0 cannot split stay f16
      if (!fallback_noted)
        rep.notes.push_back(
            fmt::format("'{}' has rows of {} (not a multiple of 32): written as "
                        "f16, as are other such tensors",
                        name, shape.back()));
      fallback_noted = true;
    }
    const bool is_q =
        name.ends_with("self_attn.q_proj.weight") || name.ends_with("self_attn.q_proj.bias");
    const bool is_k =
        name.ends_with("self_attn.k_proj.weight") || name.ends_with("self_attn.k_proj.bias");
    const int64_t heads = !arch.permute_qk ? 0
                          : is_q           ? c.num_attention_heads
                          : is_k           ? c.num_key_value_heads
                                           : 0;
    Tensor src = merged.count(name) ? merged.at(name) : Tensor();
    w.add_tensor({gname, std::vector<int64_t>(shape.begin(), shape.end()), t,
                  [ck, name, src, heads, t, rows = shape.empty() ? 1 : shape[0]] {
                    std::vector<float> x = src.valid()
                                               ? src.to_vector<float>()
                                               : ck.tensor(name, DType::f32).to_vector<float>();
                    if (heads > 0) x = gguf_permute_rows(x, rows, heads);
                    try {
                      return gguf_encode(x, t);
                    } catch (const ValueError& e) {
                      fail<ValueError>("export", "tensor '{}': {}", name, e.what());
                    }
                  }});
    ++rep.tensors;
  }
  if (!ck.contains("model.embed_tokens.weight"))
    fail<IoError>("export", "'{}' has no tensor 'model.embed_tokens.weight'", ck.source().string());
  // llama.cpp sizes every tensor from the metadata: catch a config that disagrees here, by name.
  const Shape emb = ck.info("model.embed_tokens.weight").shape;
  if (emb != Shape{c.vocab_size, c.hidden_size})
    fail<IoError>("export",
                  "'{}': model.embed_tokens.weight is {}; config.json (vocab_size, hidden_size) "
                  "expects [{}, {}]",
                  ck.source().string(), shape_str(emb), c.vocab_size, c.hidden_size);
  if (!ck.contains("lm_head.weight") && !c.tie_word_embeddings)
    fail<IoError>("export", "'{}' has no 'lm_head.weight' and config.json does not tie embeddings",
                  ck.source().string());
  if (fs::exists(o.out) && fs::is_directory(o.out))
    fail<IoError>("export", "--out '{}' is a folder; expected a .gguf file path", o.out.string());
  w.write(o.out);
  rep.bytes = fs::file_size(o.out);
  return rep;
}

}  // namespace wick::exporter
