// wick serve driven by the official OpenAI Node.js client (tests/serve/*.mjs): API results equal
// wick generate / wick embed, a battery of bad requests, queue limit / disconnect / drain, and a
// short bounded load test (8 clients x 5 s; tests/serve/run_load_full.sh runs 32 x 60 s). The
// scripts need `npm ci` in tests/serve (scripts/install-reference.sh runs it).
#include <gtest/gtest.h>

#include <sys/wait.h>
#include <cstdlib>
#include <filesystem>
#include <string>

#include "testing/testing.h"

namespace wick::testing {
namespace {

// AddressSanitizer keeps freed memory in quarantine, so a sanitized server's RSS grows by design:
// the load test's memory-flat check is meaningful only without it.
#if defined(__SANITIZE_ADDRESS__)
constexpr const char* kSanitizedEnv = "WICK_SANITIZED=1 ";
#else
constexpr const char* kSanitizedEnv = "";
#endif

int run_serve_script(const std::string& script, const std::string& args = "") {
  const std::string dir = source_path("tests/serve");
  const std::string cmd = std::string(kSanitizedEnv) + "WICK_CLI='" + std::string(WICK_CLI_PATH) +
                          "' WICK_MODEL='" + (fixtures_dir() / "models" / "llama").string() +
                          "' WICK_ADAPTER='" +
                          (fixtures_dir() / "adapters" / "llama_lora_qv").string() + "' node '" +
                          dir + "/" + script + "' " + args;
  const int rc = std::system(cmd.c_str());
  return WIFEXITED(rc) ? WEXITSTATUS(rc) : 128;
}

bool serve_scripts_ready() {
  return std::filesystem::exists(source_path("tests/serve/node_modules/openai/package.json"));
}

TEST(Serve, OpenAIClientMatchesGenerateAndEmbed) {
  if (!serve_scripts_ready())
    GTEST_SKIP() << "run scripts/install-reference.sh (npm ci in tests/serve)";
  EXPECT_EQ(run_serve_script("openai_client.mjs"), 0);
}

TEST(Serve, BadRequestBattery) {
  if (!serve_scripts_ready())
    GTEST_SKIP() << "run scripts/install-reference.sh (npm ci in tests/serve)";
  EXPECT_EQ(run_serve_script("bad_requests.mjs"), 0);
}

TEST(Serve, QueueLimitDisconnectAndDrain) {
  if (!serve_scripts_ready())
    GTEST_SKIP() << "run scripts/install-reference.sh (npm ci in tests/serve)";
  EXPECT_EQ(run_serve_script("limits.mjs"), 0);
}

TEST(Serve, ShortLoadTest) {
  if (!serve_scripts_ready())
    GTEST_SKIP() << "run scripts/install-reference.sh (npm ci in tests/serve)";
  EXPECT_EQ(run_serve_script("load.mjs", "8 5"), 0);
}

}  // namespace
}  // namespace wick::testing
