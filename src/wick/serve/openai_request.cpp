// OpenAI request validation (see openai_request.h).
#include "wick/serve/openai_request.h"

#include <fmt/format.h>
#include <cmath>

namespace wick::serve {

namespace {

using nlohmann::json;

[[noreturn]] void bad_field(const std::string& field, const std::string& what) {
  throw ApiError(400, fmt::format("'{}' {}", field, what), field);
}

const json* find_field(const json& body, const char* key) {
  auto it = body.find(key);
  if (it == body.end() || it->is_null()) return nullptr;
  return &*it;
}

std::optional<double> number_in(const json& body, const char* key, double lo, double hi) {
  const json* v = find_field(body, key);
  if (!v) return std::nullopt;
  if (!v->is_number()) bad_field(key, fmt::format("must be a number, got {}", v->type_name()));
  const double x = v->get<double>();
  if (!std::isfinite(x) || x < lo || x > hi)
    bad_field(key, fmt::format("must be between {} and {}, got {}", lo, hi, x));
  return x;
}

std::optional<int64_t> integer_in(const json& body, const char* key, int64_t lo, int64_t hi) {
  const json* v = find_field(body, key);
  if (!v) return std::nullopt;
  if (!v->is_number_integer()) bad_field(key, fmt::format("must be an integer, got {}", v->dump()));
  const int64_t x = v->is_number_unsigned() && v->get<uint64_t>() > uint64_t(INT64_MAX)
                        ? INT64_MAX
                        : v->get<int64_t>();
  if (x < lo || x > hi) bad_field(key, fmt::format("must be between {} and {}, got {}", lo, hi, x));
  return x;
}

std::optional<bool> boolean(const json& body, const char* key) {
  const json* v = find_field(body, key);
  if (!v) return std::nullopt;
  if (!v->is_boolean()) bad_field(key, fmt::format("must be a boolean, got {}", v->type_name()));
  return v->get<bool>();
}

std::string model_of(const json& body) {
  const json* v = find_field(body, "model");
  if (!v) bad_field("model", "is required");
  if (!v->is_string() || v->get<std::string>().empty())
    bad_field("model", "must be a non-empty string");
  return v->get<std::string>();
}

// Fields shared by chat and text completions.
void parse_common(const json& body, GenerationRequest& r, const char* max_key) {
  r.model = model_of(body);
  r.max_tokens = integer_in(body, max_key, 1, 1 << 20);
  if (!r.max_tokens && std::string(max_key) == "max_completion_tokens")
    r.max_tokens = integer_in(body, "max_tokens", 1, 1 << 20);
  if (auto x = number_in(body, "temperature", 0, 2)) r.temperature = *x;
  if (auto x = number_in(body, "top_p", 0, 1)) {
    if (*x <= 0) bad_field("top_p", "must be greater than 0");
    r.top_p = *x;
  }
  if (auto x = integer_in(body, "top_k", -1, 1 << 20)) r.top_k = *x < 0 ? 0 : *x;
  if (auto x = number_in(body, "min_p", 0, 1)) r.min_p = *x;
  if (auto x = number_in(body, "presence_penalty", -2, 2)) r.presence_penalty = *x;
  if (auto x = number_in(body, "frequency_penalty", -2, 2)) r.frequency_penalty = *x;
  if (auto x = number_in(body, "repetition_penalty", 0, 10)) {
    if (*x <= 0) bad_field("repetition_penalty", "must be greater than 0");
    r.repetition_penalty = *x;
  }
  r.seed = integer_in(body, "seed", INT64_MIN, INT64_MAX);
  if (auto x = boolean(body, "ignore_eos")) r.ignore_eos = *x;
  if (auto x = integer_in(body, "n", 1, 16)) r.n = *x;
  if (auto x = boolean(body, "stream")) r.stream = *x;
  if (const json* so = find_field(body, "stream_options")) {
    if (!so->is_object()) bad_field("stream_options", "must be an object");
    if (!r.stream) bad_field("stream_options", "is only allowed when 'stream' is true");
    if (auto x = boolean(*so, "include_usage")) r.include_usage = *x;
  }
  if (const json* st = find_field(body, "stop")) {
    if (st->is_string()) {
      r.stop.push_back(st->get<std::string>());
    } else if (st->is_array()) {
      if (st->size() > 4)
        bad_field("stop", fmt::format("takes at most 4 strings, got {}", st->size()));
      for (const auto& s : *st) {
        if (!s.is_string()) bad_field("stop", "must be a string or a list of strings");
        r.stop.push_back(s.get<std::string>());
      }
    } else {
      bad_field("stop",
                fmt::format("must be a string or a list of strings, got {}", st->type_name()));
    }
    for (const auto& s : r.stop)
      if (s.empty()) bad_field("stop", "must not contain an empty string");
  }
}

std::string content_text(const json& content, size_t i) {
  const std::string field = fmt::format("messages[{}].content", i);
  if (content.is_string()) return content.get<std::string>();
  if (content.is_array()) {
    std::string text;
    for (const auto& part : content) {
      if (!part.is_object() || part.value("type", "") != "text" || !part.contains("text") ||
          !part["text"].is_string())
        bad_field(field, "parts must be {\"type\": \"text\", \"text\": string}");
      text += part["text"].get<std::string>();
    }
    return text;
  }
  bad_field(field,
            fmt::format("must be a string or a list of text parts, got {}", content.type_name()));
}

}  // namespace

ApiError::ApiError(int status_, const std::string& message, std::string param_, std::string type_,
                   std::string code_)
    : std::runtime_error(message),
      status(status_),
      param(std::move(param_)),
      type(std::move(type_)),
      code(std::move(code_)) {}

json error_body(const ApiError& e) {
  json err = {{"message", e.what()}, {"type", e.type}, {"param", nullptr}, {"code", nullptr}};
  if (!e.param.empty()) err["param"] = e.param;
  if (!e.code.empty()) err["code"] = e.code;
  return {{"error", err}};
}

json parse_body(const std::string& body) {
  json j = json::parse(body, nullptr, false);
  if (j.is_discarded()) throw ApiError(400, "the request body is not valid JSON");
  if (!j.is_object())
    throw ApiError(400,
                   fmt::format("the request body must be a JSON object, got {}", j.type_name()));
  return j;
}

GenerationRequest parse_chat_request(const json& body) {
  GenerationRequest r;
  parse_common(body, r, "max_completion_tokens");
  const json* msgs = find_field(body, "messages");
  if (!msgs) bad_field("messages", "is required");
  if (!msgs->is_array() || msgs->empty()) bad_field("messages", "must be a non-empty list");
  r.messages = json::array();
  for (size_t i = 0; i < msgs->size(); ++i) {
    const json& m = (*msgs)[i];
    const std::string field = fmt::format("messages[{}]", i);
    if (!m.is_object()) bad_field(field, "must be an object");
    if (!m.contains("role") || !m["role"].is_string())
      bad_field(field + ".role", "is required and must be a string");
    const std::string role = m["role"].get<std::string>();
    if (role != "system" && role != "user" && role != "assistant" && role != "developer" &&
        role != "tool")
      bad_field(field + ".role",
                fmt::format("must be system, developer, user, assistant or tool; got '{}'", role));
    json out = {{"role", role == "developer" ? "system" : role}};
    if (m.contains("content") && !m["content"].is_null())
      out["content"] = content_text(m["content"], i);
    else if (role == "assistant")
      out["content"] = "";
    else
      bad_field(field + ".content", "is required");
    r.messages.push_back(out);
  }
  if (auto x = boolean(body, "logprobs")) r.logprobs = *x;
  if (auto x = integer_in(body, "top_logprobs", 0, 20)) {
    if (!r.logprobs) bad_field("top_logprobs", "needs 'logprobs': true");
    r.top_logprobs = *x;
  }
  return r;
}

GenerationRequest parse_completion_request(const json& body) {
  GenerationRequest r;
  parse_common(body, r, "max_tokens");
  const json* p = find_field(body, "prompt");
  if (!p) bad_field("prompt", "is required");
  if (p->is_string()) {
    r.prompts.push_back(p->get<std::string>());
  } else if (p->is_array() && !p->empty()) {
    if (p->size() > 64)
      bad_field("prompt", fmt::format("takes at most 64 prompts, got {}", p->size()));
    for (const auto& s : *p) {
      if (!s.is_string()) bad_field("prompt", "must be a string or a list of strings");
      r.prompts.push_back(s.get<std::string>());
    }
  } else {
    bad_field("prompt", "must be a string or a non-empty list of strings");
  }
  for (const auto& s : r.prompts)
    if (s.empty()) bad_field("prompt", "must not be empty");
  if (auto x = integer_in(body, "logprobs", 0, 5)) {
    r.logprobs = true;
    r.top_logprobs = *x;
  }
  if (auto x = boolean(body, "echo"); x && *x) bad_field("echo", "is not supported");
  return r;
}

EmbeddingRequest parse_embedding_request(const json& body) {
  EmbeddingRequest r;
  r.model = model_of(body);
  const json* in = find_field(body, "input");
  if (!in) bad_field("input", "is required");
  if (in->is_string()) {
    r.input.push_back(in->get<std::string>());
  } else if (in->is_array() && !in->empty()) {
    if (in->size() > 2048)
      bad_field("input", fmt::format("takes at most 2048 texts, got {}", in->size()));
    for (const auto& s : *in) {
      if (!s.is_string()) bad_field("input", "must be a string or a list of strings");
      r.input.push_back(s.get<std::string>());
    }
  } else {
    bad_field("input", "must be a string or a non-empty list of strings");
  }
  for (const auto& s : r.input)
    if (s.empty()) bad_field("input", "must not contain an empty string");
  if (const json* f = find_field(body, "encoding_format")) {
    if (!f->is_string() || (*f != "float" && *f != "base64"))
      bad_field("encoding_format", "must be 'float' or 'base64'");
    r.base64 = *f == "base64";
  }
  if (find_field(body, "dimensions")) bad_field("dimensions", "is not supported");
  return r;
}

std::string base64_encode(const void* data, size_t size) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  const auto* p = static_cast<const unsigned char*>(data);
  std::string out;
  out.reserve((size + 2) / 3 * 4);
  for (size_t i = 0; i < size; i += 3) {
    const uint32_t b0 = p[i], b1 = i + 1 < size ? p[i + 1] : 0, b2 = i + 2 < size ? p[i + 2] : 0;
    const uint32_t v = (b0 << 16) | (b1 << 8) | b2;
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += i + 1 < size ? kAlphabet[(v >> 6) & 63] : '=';
    out += i + 2 < size ? kAlphabet[v & 63] : '=';
  }
  return out;
}

}  // namespace wick::serve
