// wick serve: HTTP wiring, models, embeddings, health and metrics (see server.h).
#include "wick/serve/server.h"

#include <fmt/format.h>

#include "wick/core/errors.h"
#include "wick/generate/generator.h"
#include "wick/ops.h"
#include "wick/serve/server_impl.h"

namespace wick::serve {

namespace {

constexpr const char* kServeOp = "serve";

int64_t unix_seconds(std::chrono::system_clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count();
}

// Constant-time comparison, so the key cannot be guessed byte by byte from timings.
bool same_secret(const std::string& a, const std::string& b) {
  unsigned char diff = a.size() == b.size() ? 0 : 1;
  for (size_t i = 0; i < a.size(); ++i) diff |= uint8_t(a[i]) ^ uint8_t(i < b.size() ? b[i] : 0);
  return diff == 0;
}

void handle_embeddings(Server::Impl& s, const httplib::Request& req, httplib::Response& res) {
  const auto body = parse_body(req.body);
  const EmbeddingRequest r = parse_embedding_request(body);
  if (r.model != s.name)
    throw ApiError(404,
                   fmt::format("the model '{}' does not exist or has no embeddings; "
                               "expected '{}'",
                               r.model, s.name),
                   "model", "invalid_request_error", "model_not_found");
  std::lock_guard<std::mutex> lock(s.embed_mu);
  if (!s.embedder) {
    std::lock_guard<std::mutex> compute(s.compute_mu);
    embed::EmbedOptions eo;
    eo.device = s.opt.device;
    s.embedder = embed::Embedder::load(s.opt.model_dir, eo);
  }
  const auto ids = s.embedder->token_ids(r.input);
  int64_t tokens = 0;
  for (const auto& v : ids) {
    tokens += int64_t(v.size());
    if (int64_t(v.size()) > s.embedder->max_length())
      throw ApiError(400,
                     fmt::format("input of {} tokens exceeds the model's {} tokens", v.size(),
                                 s.embedder->max_length()),
                     "input", "invalid_request_error", "context_length_exceeded");
  }
  std::vector<float> v;
  int64_t dim = 0;
  {
    std::lock_guard<std::mutex> compute(s.compute_mu);
    Tensor e = s.embedder->encode(r.input);
    dim = e.shape(1);
    v = astype(e, DType::f32).to_vector<float>();
  }
  const size_t D = size_t(dim);
  nlohmann::json data = nlohmann::json::array();
  for (size_t i = 0; i < r.input.size(); ++i) {
    nlohmann::json item = {{"object", "embedding"}, {"index", i}};
    if (r.base64)
      item["embedding"] = base64_encode(v.data() + i * D, D * sizeof(float));
    else
      item["embedding"] =
          std::vector<float>(v.begin() + ptrdiff_t(i * D), v.begin() + ptrdiff_t((i + 1) * D));
    data.push_back(item);
  }
  s.metrics.tokens(tokens, 0);
  res.set_content(dump_json({{"object", "list"},
                             {"data", data},
                             {"model", s.name},
                             {"usage", {{"prompt_tokens", tokens}, {"total_tokens", tokens}}}}),
                  "application/json");
}

}  // namespace

void set_error(httplib::Response& res, const ApiError& e) {
  res.status = e.status;
  res.set_content(dump_json(error_body(e)), "application/json");
}

std::string dump_json(const nlohmann::json& j) {
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

const std::pair<int64_t, models::LoraFactors>* Server::Impl::resolve_model(
    const std::string& m) const {
  if (m == name) return nullptr;
  auto it = adapters.find(m);
  if (it != adapters.end()) return &it->second;
  std::string known = name;
  for (const auto& [n, a] : adapters) known += ", " + n;
  throw ApiError(404, fmt::format("the model '{}' does not exist; expected one of: {}", m, known),
                 "model", "invalid_request_error", "model_not_found");
}

Server::Server(ServeOptions options) : impl_(std::make_unique<Impl>()) {
  Impl& s = *impl_;
  s.opt = std::move(options);
  s.name = s.opt.model_dir.filename().string();
  if (s.name.empty()) s.name = s.opt.model_dir.parent_path().filename().string();
  models::LoadOptions lo;
  lo.dtype = s.opt.dtype;
  s.model = models::load_causal_lm(s.opt.model_dir, lo);
  s.model->to(s.opt.device);
  s.tokenizer = Tokenizer::from_file(s.opt.model_dir.string());
  s.eos_ids = generate::default_eos_ids(s.opt.model_dir, s.model->config());
  try {
    s.chat_template = ChatTemplate::from_folder(s.opt.model_dir);
  } catch (const std::exception& e) {
    s.chat_template_error = e.what();  // chat requests get this error; completions still work
  }
  int64_t id = 0;
  for (const auto& [n, dir] : s.opt.adapters) {
    if (n.empty() || n == s.name || s.adapters.count(n))
      fail<ValueError>(kServeOp, "adapter name '{}' is empty or used twice", n);
    s.adapters.emplace(n, std::make_pair(id++, models::load_lora_factors(*s.model, dir)));
  }
  s.engine = std::make_unique<generate::BatchEngine>(*s.model, s.tokenizer, s.opt.engine);
}

Server::~Server() {
  Impl& s = *impl_;
  s.stop_engine = true;
  s.wake();
  if (s.engine_thread.joinable()) s.engine_thread.join();
}

const std::string& Server::model_name() const { return impl_->name; }

void Server::shutdown() {
  Impl& s = *impl_;
  if (s.draining.exchange(true)) return;
  std::thread([&s] {
    const auto until = std::chrono::steady_clock::now() +
                       std::chrono::milliseconds(int64_t(s.opt.drain_seconds * 1000));
    while (s.in_flight > 0 && std::chrono::steady_clock::now() < until)
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    s.http.stop();
  }).detach();
}

void Server::run(const std::function<void(int)>& on_ready) {
  Impl& s = *impl_;
  s.engine_thread = std::thread([&s] {
    while (!s.stop_engine) {
      {
        std::unique_lock<std::mutex> lock(s.wake_mu);
        s.wake_cv.wait(lock, [&s] { return s.stop_engine || !s.engine->idle(); });
      }
      if (s.stop_engine) break;
      std::lock_guard<std::mutex> compute(s.compute_mu);
      s.engine->step();
    }
  });
  const int64_t threads = s.opt.http_threads;
  s.http.new_task_queue = [threads] { return new httplib::ThreadPool(size_t(threads)); };
  s.http.set_payload_max_length(s.opt.max_body_bytes);
  s.http.set_pre_routing_handler([&s](const httplib::Request& req, httplib::Response& res) {
    if (s.opt.api_key.empty()) return httplib::Server::HandlerResponse::Unhandled;
    const std::string auth = req.get_header_value("Authorization");
    const std::string prefix = "Bearer ";
    if (auth.rfind(prefix, 0) == 0 && same_secret(auth.substr(prefix.size()), s.opt.api_key))
      return httplib::Server::HandlerResponse::Unhandled;
    set_error(res, ApiError(401, "invalid or missing API key (Authorization: Bearer KEY)", "",
                            "invalid_request_error", "invalid_api_key"));
    s.metrics.request(req.path, 401);
    return httplib::Server::HandlerResponse::Handled;
  });
  s.http.set_error_handler(httplib::Server::HandlerWithResponse(
      [&s](const httplib::Request& req, httplib::Response& res) {
        if (!res.body.empty()) return httplib::Server::HandlerResponse::Unhandled;
        std::string msg = fmt::format("the request failed with HTTP status {}", res.status);
        if (res.status == 400) msg = "malformed HTTP request";
        if (res.status == 404) msg = fmt::format("no route for {} {}", req.method, req.path);
        if (res.status == 413)
          msg = fmt::format("the request body exceeds {} bytes", s.opt.max_body_bytes);
        set_error(res, ApiError(res.status, msg));
        return httplib::Server::HandlerResponse::Handled;
      }));
  s.http.set_exception_handler(
      [](const httplib::Request&, httplib::Response& res, std::exception_ptr ep) {
        try {
          std::rethrow_exception(ep);
        } catch (const std::exception& e) {
          set_error(res, ApiError(500, e.what(), "", "server_error"));
        } catch (...) {
          set_error(res, ApiError(500, "unknown error", "", "server_error"));
        }
      });
  // Every API handler answers errors as OpenAI error objects and counts itself.
  auto api = [&s](const std::string& endpoint, auto fn) {
    return [&s, endpoint, fn](const httplib::Request& req, httplib::Response& res) {
      try {
        fn(req, res);
      } catch (const ApiError& e) {
        set_error(res, e);
      } catch (const NotImplemented& e) {
        set_error(res, ApiError(400, e.what()));
      } catch (const ValueError& e) {
        set_error(res, ApiError(400, e.what()));
      } catch (const std::exception& e) {
        set_error(res, ApiError(500, e.what(), "", "server_error"));
      }
      // httplib leaves the status at -1 for a success until it writes the answer.
      s.metrics.request(endpoint, res.status < 0 ? 200 : res.status);
    };
  };
  s.http.Post("/v1/chat/completions",
              api("/v1/chat/completions", [&s](const httplib::Request& q, httplib::Response& r) {
                s.handle_generation(q, r, true);
              }));
  s.http.Post("/v1/completions",
              api("/v1/completions", [&s](const httplib::Request& q, httplib::Response& r) {
                s.handle_generation(q, r, false);
              }));
  s.http.Post("/v1/embeddings",
              api("/v1/embeddings", [&s](const httplib::Request& q, httplib::Response& r) {
                handle_embeddings(s, q, r);
              }));
  s.http.Get("/v1/models", api("/v1/models", [&s](const httplib::Request&, httplib::Response& r) {
               const int64_t t = unix_seconds(s.started);
               nlohmann::json data = nlohmann::json::array(
                   {{{"id", s.name}, {"object", "model"}, {"created", t}, {"owned_by", "wick"}}});
               for (const auto& [n, a] : s.adapters)
                 data.push_back({{"id", n},
                                 {"object", "model"},
                                 {"created", t},
                                 {"owned_by", "wick"},
                                 {"parent", s.name}});
               r.set_content(dump_json({{"object", "list"}, {"data", data}}), "application/json");
             }));
  s.http.Get(
      "/health", api("/health", [&s](const httplib::Request&, httplib::Response& r) {
        if (s.draining) r.status = 503;
        r.set_content(dump_json({{"status", s.draining ? "draining" : "ok"}}), "application/json");
      }));
  s.http.Get("/metrics", api("/metrics", [&s](const httplib::Request&, httplib::Response& r) {
               r.set_content(s.metrics.render(s.engine->stats(), s.in_flight),
                             "text/plain; version=0.0.4");
             }));
  const int port = s.opt.port == 0
                       ? s.http.bind_to_any_port(s.opt.host)
                       : (s.http.bind_to_port(s.opt.host, s.opt.port) ? s.opt.port : -1);
  if (port < 0) {
    s.stop_engine = true;
    s.wake();
    s.engine_thread.join();
    fail<IoError>(kServeOp, "cannot listen on {}:{}", s.opt.host, s.opt.port);
  }
  if (on_ready) on_ready(port);
  s.http.listen_after_bind();
  s.stop_engine = true;
  s.wake();
  s.engine_thread.join();
}

}  // namespace wick::serve
