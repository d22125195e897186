#!/usr/bin/env bash
# One command on the GPU host: unpack the carried Debian packages (.device-deps, see
# ../shared/gpu/README.md and docs/performance.md), build wick with CUDA (sm_90 unless
# CUDA_ARCH says otherwise), run the CUDA test suite (the backend harness over every primitive,
# the model/LoRA goldens on the GPU, compute-sanitizer on a slice of the op suite), then the
# benchmarks with the PyTorch reference in the same run. Results go to $OUT (or gpu-results/).
#   scripts/gpu-run.sh [build] [test] [sanitize] [profile] [formats] [bench]
#   (default: build test bench)
set -uo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-$PWD/gpu-results}
mkdir -p "$OUT"
stages=${*:-build test bench}
log() { echo "== $(date -u +%H:%M:%S) $*" | tee -a "$OUT/summary.txt"; }

if [ -d .device-deps ]; then
  mkdir -p /opt/deps
  for f in .device-deps/*.deb; do dpkg -x "$f" /opt/deps; done
  export CMAKE_PREFIX_PATH=/opt/deps/usr
  export PKG_CONFIG_PATH=/opt/deps/usr/lib/x86_64-linux-gnu/openblas-openmp/pkgconfig:/opt/deps/usr/lib/x86_64-linux-gnu/pkgconfig:/opt/deps/usr/share/pkgconfig
  export PKG_CONFIG_SYSROOT_DIR=/opt/deps
  export LD_LIBRARY_PATH=/opt/deps/usr/lib/x86_64-linux-gnu:/opt/deps/usr/lib/x86_64-linux-gnu/openblas-openmp:${LD_LIBRARY_PATH:-}
  export LIBRARY_PATH=/opt/deps/usr/lib/x86_64-linux-gnu:/opt/deps/usr/lib/x86_64-linux-gnu/openblas-openmp
fi
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader | tee "$OUT/card.txt"
B=build-cuda
for s in $stages; do
  case $s in
    build)
      log "configure + build (CUDA_ARCH=${CUDA_ARCH:-90})"
      cmake -S . -B $B -G Ninja -DCMAKE_BUILD_TYPE=Release -DWICK_CUDA=ON \
        -DCMAKE_CUDA_ARCHITECTURES="${CUDA_ARCH:-90}" -DWICK_BUILD_BENCH=OFF \
        -DWICK_BUILD_EXAMPLES=OFF -DWICK_WERROR=OFF >"$OUT/configure.log" 2>&1 || { tail -30 "$OUT/configure.log"; exit 1; }
      ninja -C $B -j"$(nproc)" wick_cli wick_backend_tests wick_models_tests wick_gpu_bench wick_logits >"$OUT/build.log" 2>&1 || { grep -E "error|FAILED" -A5 "$OUT/build.log" | head -60; exit 1; }
      log "built" ;;
    test)
      log "backend harness (every primitive on cuda vs the CPU)"
      $B/tests/wick_backend_tests --gtest_brief=1 >"$OUT/backend_tests.txt" 2>&1
      log "backend harness rc=$?"; grep -E "FAILED|PASSED|Failure|Expected|Which is|worst" "$OUT/backend_tests.txt" | head -80
      log "model goldens on the GPU"
      $B/tests/wick_models_tests --gtest_filter='CudaDevice.*:CheckedDevice.*' >"$OUT/model_tests.txt" 2>&1
      log "model tests rc=$?"; grep -E "OK|FAILED|Failure|fallback|Expected|Which is|worst|SKIP" "$OUT/model_tests.txt" | head -60 ;;
    sanitize)
      log "compute-sanitizer on the op suite (a slice)"
      compute-sanitizer --tool memcheck --error-exitcode 9 $B/tests/wick_backend_tests \
        --gtest_filter="${SANITIZE_FILTER:-*}" --gtest_brief=1 >"$OUT/sanitizer.txt" 2>&1
      log "compute-sanitizer rc=$?"; tail -20 "$OUT/sanitizer.txt" ;;
    profile)
      log "nsys profile of wick's decode and training step (Qwen2-0.5B shape)"
      M=/tmp/wick-bench-qwen2-0.5b; mkdir -p $M
      [ -f $M/model.safetensors ] || python3 bench/gpu/torch_ref.py $M qwen2-0.5b --make-only 2>/dev/null
      NSYS=$(command -v nsys || ls /usr/local/cuda/bin/nsys /opt/nvidia/nsight-systems/*/bin/nsys 2>/dev/null | head -1)
      if [ -n "$NSYS" ]; then
        for w in "decode:16 64 0 0" "train:16 1 8 512"; do
          name=${w%%:*}; args=${w#*:}
          "$NSYS" profile -o "$OUT/prof_$name" --force-overwrite true -t cuda,osrt \
            $B/wick_gpu_bench $M cuda $args >"$OUT/profile_$name.txt" 2>&1
          "$NSYS" stats -r cuda_gpu_kern_sum,cuda_api_sum -f csv -o "$OUT/prof_$name" \
            "$OUT/prof_$name.nsys-rep" >/dev/null 2>&1
          rm -f "$OUT/prof_$name.nsys-rep" "$OUT"/*.sqlite
          cat "$OUT/profile_$name.txt"
          for f in "$OUT"/prof_"$name"_*.csv; do echo "-- $f"; head -16 "$f" | cut -c1-200; done
        done
      else log "no nsys on this host"; fi ;;
    formats)
      log "formats both ways: PEFT loads wick's adapter, transformers loads wick's merge"
      bash bench/gpu/formats_check.sh $B "$OUT"
      log "formats rc=$?" ;;
    bench)
      log "benchmarks"
      if [ -x bench/gpu/run.sh ]; then bash bench/gpu/run.sh $B "$OUT"; else log "no bench/gpu/run.sh"; fi ;;
  esac
done
log "done"
