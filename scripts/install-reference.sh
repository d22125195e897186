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
echo "install-reference: ready in $ref (node_modules/, build/)"
