#pragma once
// Decoders of tokenizer.json ("decoder"): ByteLevel, WordPiece, Metaspace, ByteFallback, Fuse,
// Strip, Replace, BPEDecoder and Sequence.
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace wick::tok {

/// Turns a list of token strings into text pieces (joined by the caller).
class Decoder {
 public:
  virtual ~Decoder() = default;
  /// Rewrites the token strings in place (the HF decode_chain).
  virtual void decode_chain(std::vector<std::string>& tokens) const = 0;
};

/// Builds a decoder from its JSON object; null JSON gives nullptr.
std::unique_ptr<Decoder> make_decoder(const nlohmann::json& j);

}  // namespace wick::tok
