#!/usr/bin/env bash
# The full load test of issue 14: 32 concurrent streaming clients for 60 s with a mix of adapters,
# against 127.0.0.1 only. Usage: tests/serve/run_load_full.sh [BUILD_DIR] (default build).
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
build="${1:-$root/build}"
WICK_CLI="$build/wick" WICK_MODEL="$root/tests/fixtures/models/llama" \
  WICK_ADAPTER="$root/tests/fixtures/adapters/llama_lora_qv" node "$root/tests/serve/load.mjs" 32 60
