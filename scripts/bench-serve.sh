#!/usr/bin/env bash
# wick serve benchmarks (docs/performance.md, "Serving"): a random ~124M Llama folder (f32 and
# bf16) and bench/serve_bench.mjs on each. Usage: scripts/bench-serve.sh [BUILD_DIR] [DECODE_TOKENS]
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
build="${1:-$root/build}"
work=$(mktemp -d /tmp/wick-bench-serve.XXXXXX)
trap 'rm -rf "$work"' EXIT
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-passive} OPENBLAS_NUM_THREADS=1
node "$root/bench/serve_model.mjs" "$root/tests/fixtures/models/llama" "$work"
for dt in f32 bf16; do
  echo "== $dt"
  WICK_CLI="$build/wick" node "$root/bench/serve_bench.mjs" "$work/$dt" "${2:-48}"
done
