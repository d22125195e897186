#!/usr/bin/env bash
# Extra CI step: builds the libFuzzer targets with clang (ASan + UBSan) and fuzzes each for a
# bounded time, starting from the seed corpus and the known-broken files. Any crash, sanitizer
# report or unexpected exception fails CI; the input that caused it is left in build-fuzz/.
# WICK_FUZZ_SECONDS sets the time per target (default 60); WICK_FUZZ_CMAKE_ARGS adds cmake arguments.
set -euo pipefail
cd "$(dirname "$0")/.."
secs="${WICK_FUZZ_SECONDS:-60}"

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
cmake --build build-fuzz --target safetensors_header_fuzz

echo "== fuzz safetensors_header_fuzz for ${secs}s"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cp -r fuzz/corpus/safetensors/. "$work/"
./build-fuzz/fuzz/safetensors_header_fuzz -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
  -print_final_stats=1 -dict=fuzz/safetensors.dict -artifact_prefix=build-fuzz/ \
  "$work" tests/io/broken
echo "== fuzzing found no crash"
