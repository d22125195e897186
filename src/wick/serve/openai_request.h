#pragma once
// OpenAI API requests: parsing and validation of the JSON bodies of /v1/chat/completions,
// /v1/completions and /v1/embeddings into typed requests, and OpenAI-style error objects.
// Known fields of the wrong type or out of range are 400 errors naming the field; unknown fields
// are ignored (as vLLM does).
#include <nlohmann/json.hpp>

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace wick::serve {

/// An error answered as {"error": {"message", "type", "param", "code"}} with an HTTP status.
class ApiError : public std::runtime_error {
 public:
  ApiError(int status, const std::string& message, std::string param = {},
           std::string type = "invalid_request_error", std::string code = {});
  int status;
  std::string param, type, code;
};
/// The JSON body of an ApiError.
nlohmann::json error_body(const ApiError& e);

/// Sampling and output settings shared by chat and text completions.
struct GenerationRequest {
  std::string model;
  std::optional<int64_t> max_tokens;  // absent: up to the context length
  double temperature = 1.0;
  double top_p = 1.0;
  int64_t top_k = 0;
  double min_p = 0.0;
  double presence_penalty = 0.0, frequency_penalty = 0.0, repetition_penalty = 1.0;
  std::vector<std::string> stop;
  std::optional<int64_t> seed;
  int64_t n = 1;
  bool stream = false;
  bool include_usage = false;
  bool logprobs = false;
  int64_t top_logprobs = 0;
  bool ignore_eos = false;           // vLLM's extension: generate through eos ids (benchmarks)
  nlohmann::json messages;           // chat: the validated messages
  std::vector<std::string> prompts;  // completions: one or more prompts
};

/// Parses a /v1/chat/completions body (ApiError 400 naming the field when invalid).
GenerationRequest parse_chat_request(const nlohmann::json& body);
/// Parses a /v1/completions body.
GenerationRequest parse_completion_request(const nlohmann::json& body);

struct EmbeddingRequest {
  std::string model;
  std::vector<std::string> input;
  bool base64 = false;  // encoding_format "base64" (little-endian f32) instead of "float"
};
/// Parses a /v1/embeddings body.
EmbeddingRequest parse_embedding_request(const nlohmann::json& body);

/// Parses a request body as a JSON object (ApiError 400 when malformed or not an object).
nlohmann::json parse_body(const std::string& body);
/// Standard base64 of bytes.
std::string base64_encode(const void* data, size_t size);

}  // namespace wick::serve
