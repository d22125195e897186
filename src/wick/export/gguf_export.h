#pragma once
// Export of a Hugging Face decoder folder (optionally with a LoRA adapter merged in) to one GGUF
// file that llama.cpp loads: architecture metadata, the tokenizer, and the weights under
// llama.cpp's tensor names, as llama.cpp's convert_hf_to_gguf.py lays them out (Llama and
// Mistral as "llama" with Q/K rows permuted for its rotary layout; Qwen2 and Qwen3 as "qwen2" and
// "qwen3"). 2-D weights take the requested type; norms, biases and other 1-D tensors stay f32.
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "wick/io/gguf.h"
#include "wick/io/hf_config.h"

namespace wick::exporter {

/// What to export.
struct GgufExportOptions {
  std::filesystem::path model_dir;    // config.json, safetensors, tokenizer.json
  std::filesystem::path adapter_dir;  // empty: no adapter
  std::filesystem::path out;          // the .gguf file, written atomically
  /// "f32", "f16", "bf16" or "q8_0"; empty: the checkpoint's own float type (f32, f16 or bf16).
  std::string dtype;
};

/// What was written.
struct GgufExportReport {
  std::string architecture;  // general.architecture
  std::string tokenizer;     // tokenizer.ggml.model
  std::string dtype;         // type of the 2-D weights
  int64_t tensors = 0;
  int64_t merged = 0;  // weights changed by the adapter
  uint64_t bytes = 0;
  /// Things the user should know (a fallback type, a feature llama.cpp does not model).
  std::vector<std::string> notes;
};

/// Writes the GGUF file. ValueError for a bad dtype; NotImplemented naming the file and the value
/// for an architecture, activation, rope scaling or tokenizer llama.cpp's formats cannot hold;
/// IoError for missing or malformed files.
GgufExportReport export_gguf(const GgufExportOptions& options);

/// Adds the tokenizer.* metadata of the model folder `dir` (tokenizer.json, tokenizer_config.json
/// and the parsed config.json `config`) to `w`: a byte-level BPE as tokenizer.ggml.model "gpt2"
/// (tokens, token types, merges, pre-tokenizer name), a SentencePiece-style BPE with byte fallback
/// as "llama" (tokens, scores, token types), special token ids, add_bos / add_eos and the chat
/// template. Returns the tokenizer model name.
std::string add_gguf_tokenizer(io::GgufWriter& w, const std::filesystem::path& dir,
                               const io::LlamaConfig& config, std::vector<std::string>& notes);

}  // namespace wick::exporter
