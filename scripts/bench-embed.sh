#!/usr/bin/env bash
# Sentence-embedding speed: wick (Embedder::encode, bench/embed_bench.cpp) vs PyTorch CPU (Debian
# python3-torch, eager BERT in bench/embed_torch.py) on a random MiniLM-L6-shaped model (hidden
# 384, 6 layers, 12 heads, intermediate 1536), in the same run and with the same thread count:
# texts/s for 100 texts x 128 tokens and latency of one 16-token text. Also checks that both give
# the same vectors. WICK_BENCH_THREADS sets the threads of both (default 2).
set -euo pipefail
cd "$(dirname "$0")/.."
threads="${WICK_BENCH_THREADS:-2}"
# Both sides use libgomp. On a shared, oversubscribed machine its default spin-waiting burns the
# time slices the other threads need (measured here: 2-4x slower for both); sleeping waits are
# fairer there. Set OMP_WAIT_POLICY=active to measure the default.
export OMP_WAIT_POLICY="${OMP_WAIT_POLICY:-passive}"
py=/usr/bin/python3
if ! $py -c 'import torch, numpy' 2>/dev/null; then
  echo "needs Debian's python3-torch: apt-get install -y python3-torch python3-numpy libopenblas0-pthread" >&2
  exit 1
fi
[ -f build/build.ninja ] || cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
ninja -C build embed_bench >/dev/null

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
$py bench/embed_torch.py make "$work/minilm" tests/fixtures/models/bert_mean/tokenizer.json

echo "== OMP_WAIT_POLICY=$OMP_WAIT_POLICY"
echo "== machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), load:$(uptime | sed 's/.*load average://')"
echo "== wick ($threads threads)"
OMP_NUM_THREADS=$threads WICK_EMBED_BENCH_MODEL="$work/minilm" WICK_EMBED_BENCH_DUMP="$work/dump.json" \
  ./build/bench/embed_bench --benchmark_format=console
echo "== pytorch ($threads threads)"
OMP_NUM_THREADS=$threads WICK_BENCH_THREADS=$threads $py bench/embed_torch.py bench "$work/minilm" "$work/dump.json"
echo "== load after: $(uptime | sed 's/.*load average://')"
