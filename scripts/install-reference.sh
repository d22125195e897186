#!/usr/bin/env bash
# Installs the npm reference tokenizers (tests/reference/package-lock.json) and builds the derived
# tokenizer files (Llama 2, GPT-2, BERT) into tests/reference/build/. Idempotent; CI runs it after
# scripts/install-deps.sh. Needs node >= 18 and npm.
set -euo pipefail
ref="$(cd "$(dirname "$0")/../tests/reference" && pwd)"
cd "$ref"
stamp=node_modules/.wick-lock-stamp
if [ ! -f "$stamp" ] || ! cmp -s package-lock.json "$stamp"; then
  npm ci --no-audit --no-fund --loglevel=error
  cp package-lock.json "$stamp"
fi
stamp=build/.wick-derived-stamp
if [ ! -f "$stamp" ] || [ build_derived.mjs -nt "$stamp" ] || [ variants.mjs -nt "$stamp" ] ||
  [ package-lock.json -nt "$stamp" ]; then
  node build_derived.mjs
  touch "$stamp"
fi
# The OpenAI Node.js client that drives `wick serve` in tests/serve.
serve="$ref/../serve"
stamp="$serve/node_modules/.wick-lock-stamp"
if [ ! -f "$stamp" ] || ! cmp -s "$serve/package-lock.json" "$stamp"; then
  (cd "$serve" && npm ci --no-audit --no-fund --loglevel=error)
  cp "$serve/package-lock.json" "$stamp"
fi
# llama.cpp's prebuilt CPU library (node-llama-cpp, pinned 3.21.1) that loads `wick export --format
# gguf` files in tests/gguf. --omit=optional: only the linux-x64 CPU build (a dependency there),
# not the CUDA/Vulkan/other-platform builds (83 MB instead of several hundred).
gguf="$ref/../gguf"
stamp="$gguf/node_modules/.wick-lock-stamp"
if [ ! -f "$stamp" ] || ! cmp -s "$gguf/package-lock.json" "$stamp"; then
  (cd "$gguf" && NODE_LLAMA_CPP_SKIP_DOWNLOAD=true npm ci --omit=optional --no-audit --no-fund \
    --loglevel=error)
  cp "$gguf/package-lock.json" "$stamp"
fi
echo "install-reference: ready in $ref (node_modules/, build/)"
