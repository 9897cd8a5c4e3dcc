#!/usr/bin/env bash
# Installs the WebAssembly toolchain: a rustc that can build std for wasm32
# (rustup's target + rust-src, else Debian's rustc-web + rust-web-src + lld-19),
# wasm-bindgen-cli 0.2.130 (the version the crate pins) and wasm-opt (npm binaryen).
# Idempotent: a second run only checks.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/wasm-env.sh

WASM_BINDGEN_VERSION=0.2.130
BINARYEN_VERSION=132.0.0
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"

if ! wasm_env_detect; then
  echo "== wasm32 std sources"
  if command -v rustup >/dev/null 2>&1 \
    && rustup target add wasm32-unknown-unknown >/dev/null 2>&1 \
    && rustup component add rust-src >/dev/null 2>&1; then
    echo "   rustup: wasm32-unknown-unknown + rust-src"
  else
    echo "   rustup cannot add wasm32: apt rustc-web rust-web-src lld-19"
    $SUDO apt-get update -qq
    $SUDO apt-get install -y -qq rustc-web rust-web-src lld-19 >/dev/null
  fi
  wasm_env_detect || { echo "no wasm32 toolchain after installing" >&2; exit 1; }
fi
echo "== wasm toolchain: $WASM_ROUTE ($("$WASM_RUSTC" --version))"

if [ "$(wasm-bindgen --version 2>/dev/null || true)" != "wasm-bindgen $WASM_BINDGEN_VERSION" ]; then
  echo "== wasm-bindgen-cli $WASM_BINDGEN_VERSION"
  # --locked first (reproducible); without it when the registry lacks a locked version.
  cargo install -q wasm-bindgen-cli --version "$WASM_BINDGEN_VERSION" --locked \
    || cargo install -q wasm-bindgen-cli --version "$WASM_BINDGEN_VERSION"
fi

if [ "$(wasm-opt --version 2>/dev/null | grep -o 'version [0-9]*' || true)" != "version ${BINARYEN_VERSION%%.*}" ]; then
  echo "== wasm-opt (npm binaryen@$BINARYEN_VERSION)"
  mkdir -p "$WASM_TOOLS"
  npm install --silent --no-audit --no-fund --prefix "$WASM_TOOLS" "binaryen@$BINARYEN_VERSION"
fi
echo "   $(wasm-bindgen --version), wasm-opt $(wasm-opt --version | grep -o 'version [0-9]*')"
