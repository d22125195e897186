#!/usr/bin/env bash
# Installs wick's build and test dependencies from Debian's packages (one list, used by .ci/run
# and the README). Pass --with-reference to also install the npm reference tokenizers (tests/reference).
set -euo pipefail
sudo=""
if [ "$(id -u)" != 0 ]; then sudo=sudo; fi
pkgs=(
  build-essential cmake ninja-build pkg-config ccache clang clang-format libclang-rt-14-dev
  libopenblas-openmp-dev libopenblas0-openmp
  nlohmann-json3-dev libcli11-dev libfmt-dev libpcre2-dev libutf8proc-dev libyaml-cpp-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  libomp-dev fortunes bible-kjv wordnet-base
  libcpp-httplib-dev
)
# Node.js + npm run the reference tokenizers; the machine image ships them (nodesource), and
# Debian's npm package conflicts with that nodejs, so Debian's are used only when none is there.
if ! command -v npm >/dev/null 2>&1; then pkgs+=(nodejs npm); fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${pkgs[@]}" >/dev/null
echo "install-deps: installed ${#pkgs[@]} packages"
