#!/usr/bin/env bash
# The main job on a model the repository makes itself: train a small digit
# classifier on scikit-learn's bundled digits, export it to ONNX, classify the
# held-out digits with runnx and check the answers against the true labels and
# against onnxruntime.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m pip install -q --disable-pip-version-check -r scripts/requirements.txt
cargo build --release --quiet -p runnx-cli
OUT=.cache/demo
python3 examples/digits/train.py "$OUT"
./target/release/runnx inspect "$OUT/digits.onnx"
echo
./target/release/runnx run "$OUT/digits.onnx" "$OUT/images.npy" -o "$OUT/out" --format npy --threads 1
echo
python3 examples/digits/report.py "$OUT"
