#!/usr/bin/env bash
# Builds the two WebAssembly artifacts of crates/runnx-wasm into npm/runnx-web/dist/
# (layout in crates/runnx-wasm/README.md):
#   simd     +simd128, single-threaded          glue: web, no-modules
#   threads  +simd128,+atomics,+bulk-memory,+mutable-globals, rayon on a Web Worker pool
#            (browsers, cross-origin isolated)  glue: web
# Usage: scripts/build-wasm.sh [simd|threads]...   (default: both)
# Env: WASM_PROFILE (default wasm-release; "release" skips LTO while iterating),
#      WASM_OPT_LEVEL (default -O1: measured on the simd build, -O3 and -Oz run no
#      faster in V8 (matmul 512^3 ~9 ms, sigmoid 1M ~2.7 ms for all three) and give a
#      *larger* gzip (1.34 MB vs 1.29 MB; raw 5.22 / 5.15 vs 5.37 MB) while taking
#      200-290 s instead of 25 s on 2 cores; LLVM has already optimised with fat LTO).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/wasm-env.sh
wasm_env_detect || { echo "no wasm toolchain: run scripts/setup-wasm.sh" >&2; exit 1; }

PROFILE="${WASM_PROFILE:-wasm-release}"
OPT="${WASM_OPT_LEVEL:--O1}"
DIST=npm/runnx-web/dist
# Features every build has (rustc's wasm32 defaults) plus SIMD; wasm-opt must know them.
OPT_FEATURES=(--enable-simd --enable-bulk-memory --enable-sign-ext --enable-mutable-globals
  --enable-nontrapping-float-to-int --enable-multivalue --enable-reference-types)

build() {
  local flavor=$1 rustflags features=() opt_features=("${OPT_FEATURES[@]}") targets=(web)
  case $flavor in
    simd)
      rustflags="-C target-feature=+simd128"
      targets=(web no-modules) ;;
    threads)
      rustflags="-C target-feature=+simd128,+atomics,+bulk-memory,+mutable-globals"
      features=(--features threads)
      opt_features+=(--enable-threads) ;;
    *) echo "unknown build '$flavor' (simd or threads)" >&2; exit 1 ;;
  esac
  # One target dir per flag set and compiler (each rebuilds std).
  local dir="target/wasm-$flavor" start=$SECONDS
  [ "$WASM_ROUTE" = rustup ] || dir="$dir-$WASM_ROUTE"
  echo "== wasm $flavor ($WASM_ROUTE rustc, profile $PROFILE)"
  # std is rebuilt with the same target features (atomics need it; simd128 gains).
  RUSTC="$WASM_RUSTC" RUSTC_BOOTSTRAP=1 RUSTFLAGS="$rustflags" CARGO_TARGET_DIR="$dir" \
    nice cargo build --quiet --profile "$PROFILE" -Zbuild-std=std,panic_abort \
    --target wasm32-unknown-unknown -p runnx-wasm "${features[@]}"
  local wasm="$dir/wasm32-unknown-unknown/$PROFILE/runnx_wasm.wasm"
  # The glue differs per target, the wasm does not: optimise it once.
  local first=""
  for t in "${targets[@]}"; do
    local out="$DIST/$flavor/$t"
    rm -rf "$out"
    wasm-bindgen --target "$t" --out-dir "$out" --out-name runnx \
      --remove-name-section --remove-producers-section "$wasm"
    if [ -z "$first" ]; then
      wasm-opt "$OPT" "${opt_features[@]}" --strip-debug --strip-producers \
        "$out/runnx_bg.wasm" -o "$out/runnx_bg.wasm"
      first="$out/runnx_bg.wasm"
    else
      cp "$first" "$out/runnx_bg.wasm"
    fi
  done
  echo '{"type":"module"}' >"$DIST/package.json" # Node: the web glue is an ES module
  echo "   $DIST/$flavor: $(wc -c <"$DIST/$flavor/web/runnx_bg.wasm") bytes wasm, $((SECONDS - start)) s"
}

flavors=("$@")
[ ${#flavors[@]} -gt 0 ] || flavors=(simd threads)
for f in "${flavors[@]}"; do build "$f"; done
