#!/usr/bin/env bash
# Extra CI step: builds the libFuzzer targets with clang (ASan + UBSan) and fuzzes each for a
# bounded time, starting from the seed corpus and the known-broken files. Any crash, sanitizer
# report or unexpected exception fails CI; the input that caused it is left in build-fuzz/.
# WICK_FUZZ_SECONDS sets the time per target (default 45); WICK_FUZZ_CMAKE_ARGS adds cmake arguments.
set -euo pipefail
cd "$(dirname "$0")/.."
secs="${WICK_FUZZ_SECONDS:-45}"

# clang's OpenMP runtime (the library links OpenMP) is not in install-deps.sh's list.
if ! echo 'int main(){}' | clang++ -fopenmp -x c++ - -o /dev/null >/dev/null 2>&1; then
  sudo=""
  if [ "$(id -u)" != 0 ]; then sudo=sudo; fi
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends libomp-dev >/dev/null
fi

echo "== fuzz build (clang, libFuzzer + ASan + UBSan)"
# shellcheck disable=SC2086  # WICK_FUZZ_CMAKE_ARGS holds extra cmake arguments, split on spaces
CXX=clang++ cmake -S . -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DWICK_BUILD_FUZZ=ON -DWICK_BUILD_TESTS=OFF -DWICK_BUILD_BENCH=OFF ${WICK_FUZZ_CMAKE_ARGS:-} >/dev/null
targets=(safetensors_header_fuzz tokenizer_json_fuzz config_json_fuzz adapter_config_fuzz
         train_jsonl_fuzz)
cmake --build build-fuzz --target "${targets[@]}"

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
# fuzz TARGET CORPUS-DIR [extra libFuzzer arguments]
fuzz() {
  local target="$1" corpus="$2"
  shift 2
  echo "== fuzz $target for ${secs}s"
  mkdir -p "$work/$target"
  cp -r "$corpus/." "$work/$target/"
  "./build-fuzz/fuzz/$target" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
    -print_final_stats=1 -artifact_prefix="build-fuzz/$target-" "$@" "$work/$target"
}
fuzz safetensors_header_fuzz fuzz/corpus/safetensors -dict=fuzz/safetensors.dict tests/io/broken
fuzz tokenizer_json_fuzz fuzz/corpus/tokenizer -max_len=16384
fuzz config_json_fuzz fuzz/corpus/config
fuzz adapter_config_fuzz fuzz/corpus/adapter
fuzz train_jsonl_fuzz fuzz/corpus/jsonl
echo "== fuzzing found no crash"
