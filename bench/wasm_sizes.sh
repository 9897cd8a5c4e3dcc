#!/usr/bin/env bash
# Writes bench/wasm-sizes.md: raw and gzip (-9) sizes of runnx's WebAssembly
# artifacts (wasm + JS glue, from scripts/build-wasm.sh) next to onnxruntime-web's.
#   bash bench/wasm_sizes.sh   (build first: bash scripts/build-wasm.sh; npm run build -w runnx-web)
set -euo pipefail
cd "$(dirname "$0")/.."
ORT_VERSION=1.31.1
DIST=npm/runnx-web/dist
ORT=bench/.wasm-sizes/node_modules/onnxruntime-web/dist
[ -f "$DIST/simd/web/runnx_bg.wasm" ] || { echo "run scripts/build-wasm.sh first" >&2; exit 1; }
if [ ! -f "$ORT/ort-wasm-simd-threaded.wasm" ]; then
  npm install --silent --no-audit --no-fund --prefix bench/.wasm-sizes "onnxruntime-web@$ORT_VERSION"
fi

raw() { wc -c <"$1"; }
gz() { gzip -9c "$1" | wc -c; }
kb() { awk -v b="$1" 'BEGIN { printf "%.0f", b / 1024 }'; }
# row NAME FILE... : one line per artifact, wasm + glue summed.
row() {
  local name=$1 r=0 g=0 parts=() f
  shift
  for f in "$@"; do
    r=$((r + $(raw "$f"))); g=$((g + $(gz "$f")))
    parts+=("$(basename "$f") $(kb "$(raw "$f")")/$(kb "$(gz "$f")")")
  done
  local IFS=';'
  echo "| $name | $(kb $r) | $(kb $g) | ${parts[*]} |" | sed 's/;/, /g'
}

# The threads build's pool: runnx-web's pool starter and pool worker script (npm run build -w runnx-web).
pool=(npm/runnx-web/lib/pool.js npm/runnx-web/lib/workers/pool-worker.js)
[ -f "${pool[1]}" ] || { echo "run npm run build -w runnx-web first" >&2; exit 1; }
{
  echo "# WebAssembly artifact sizes"
  echo
  echo "Made by \`bash bench/wasm_sizes.sh\` after \`bash scripts/build-wasm.sh\`"
  echo "(wasm-opt ${WASM_OPT_LEVEL:--O1}, its default; gzip -9). KiB; the last column lists each file as raw/gzip."
  echo "onnxruntime-web $ORT_VERSION from npm. runnx has one engine with every operator it"
  echo "knows in each artifact; onnxruntime-web's files also hold every CPU operator."
  echo
  echo "| artifact | raw KiB | gzip KiB | files |"
  echo "|---|---:|---:|---|"
  row "runnx simd (web glue)" "$DIST/simd/web/runnx_bg.wasm" "$DIST/simd/web/runnx.js"
  row "runnx simd (no-modules glue)" "$DIST/simd/no-modules/runnx_bg.wasm" "$DIST/simd/no-modules/runnx.js"
  row "runnx threads (web glue + pool scripts)" "$DIST/threads/web/runnx_bg.wasm" "$DIST/threads/web/runnx.js" "${pool[@]}"
  row "onnxruntime-web simd-threaded" "$ORT/ort-wasm-simd-threaded.wasm" "$ORT/ort-wasm-simd-threaded.mjs" "$ORT/ort.wasm.min.mjs"
  row "onnxruntime-web simd-threaded jsep (WebGPU)" "$ORT/ort-wasm-simd-threaded.jsep.wasm" "$ORT/ort-wasm-simd-threaded.jsep.mjs" "$ORT/ort.min.mjs"
  row "onnxruntime-web simd-threaded asyncify" "$ORT/ort-wasm-simd-threaded.asyncify.wasm" "$ORT/ort-wasm-simd-threaded.asyncify.mjs"
  row "onnxruntime-web simd-threaded jspi" "$ORT/ort-wasm-simd-threaded.jspi.wasm" "$ORT/ort-wasm-simd-threaded.jspi.mjs" "$ORT/ort.jspi.min.mjs"
} >bench/wasm-sizes.md
cat bench/wasm-sizes.md
