#pragma once
// Byte-level BPE trainer: learns merges from texts and writes a tokenizer.json that the Hugging
// Face tokenizers library loads and encodes exactly like wick (Llama-3-style split regex +
// ByteLevel, no normalizer, special tokens first).
#include <cstdint>
#include <string>
#include <vector>

namespace wick {

/// Options of train_bpe.
struct BpeTrainerOptions {
  size_t min_frequency = 2;  // stop when the most frequent pair occurs fewer times than this
  int num_threads = 0;       // 0: OpenMP default (word counting is parallel)
};

/// Trains a byte-level BPE of vocab_size entries (special tokens + 256 bytes + merges) and returns
/// the tokenizer.json text.
std::string train_bpe(const std::vector<std::string>& texts, size_t vocab_size,
                      const std::vector<std::string>& special_tokens = {},
                      const BpeTrainerOptions& options = {});

/// Trains like train_bpe and writes the tokenizer.json to path (IoError if it cannot be written).
void train_bpe_to_file(const std::vector<std::string>& texts, size_t vocab_size,
                       const std::vector<std::string>& special_tokens, const std::string& path,
                       const BpeTrainerOptions& options = {});

}  // namespace wick
