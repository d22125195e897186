#!/usr/bin/env bash
# The GPU benchmarks (called by scripts/gpu-run.sh): the PyTorch reference makes the model folder
# and measures, then wick on the same folder and card. Results: $2/bench.jsonl.
#   bench/gpu/run.sh BUILD_DIR OUT_DIR [shape]
set -uo pipefail
B=$1; OUT=$2; SHAPE=${3:-qwen2-0.5b}
M=/tmp/wick-bench-$SHAPE
mkdir -p "$M"
python3 bench/gpu/torch_ref.py "$M" "$SHAPE" 2>"$OUT/torch_ref.err" | tee -a "$OUT/bench.jsonl"
tail -3 "$OUT/torch_ref.err"
"$B/wick_gpu_bench" "$M" cuda 512 128 8 512 2>&1 | tee -a "$OUT/bench.jsonl"
