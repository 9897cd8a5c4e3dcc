#!/usr/bin/env bash
# Every test of runnx, from a fresh clone: installs and builds what it needs first.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
DATA=.cache/onnx-data

echo "== unit and integration tests"
cargo test --release --workspace --quiet

echo "== single-threaded build (no rayon)"
cargo test --release -p runnx-core --no-default-features --features fs --quiet

echo "== clippy"
cargo clippy --release --workspace --all-targets --quiet -- -D warnings

echo "== ONNX node conformance (every case in tests/conformance/passing-node.txt must pass)"
./target/release/conformance --quiet --data "$DATA/node" --expect tests/conformance/passing-node.txt

echo "== ONNX light models"
./target/release/conformance --light "$DATA/light" --expect tests/conformance/passing-light.txt

echo "== real models against onnxruntime"
python3 tests/models/check_models.py .cache/models

echo "== no panic on mutated and truncated models"
./target/release/mutate --count 3000 .cache/models/silero_vad.onnx "$DATA"/light/light_squeezenet.onnx "$DATA"/node/test_lstm_defaults/model.onnx

echo "== demo"
bash scripts/demo.sh

echo "== Node: runnx-common and runnx-node (node --test)"
npm test --silent

echo "== Node: the Express example under a bounded load (loopback, 20 s, 16 connections)"
node node-addon/examples/express/loadtest.mjs --duration 20 --connections 16 \
  .cache/models/tiny_bert.onnx .cache/models/ch_ppocr_mobile_v2.0_cls_infer.onnx

echo "== WebAssembly in Node: API, then the ONNX node cases (simd, and threads on one thread)"
node tests/wasm/api.mjs
node tests/wasm/conformance.mjs --expect tests/wasm/passing-node.txt
node tests/wasm/conformance.mjs --build threads --expect tests/wasm/passing-node.txt

echo "== Browser: runnx-web in headless Chromium (SIMD, threads, proxy worker, service workers, error paths, README example)"
node tests/browser/run.mjs

echo "== Browser: runnx-web through a bundler (vite build of tests/vite-app, checked in headless Chromium)"
node tests/vite-app/test.mjs
