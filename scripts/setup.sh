#!/usr/bin/env bash
# Installs what runnx's tests need and builds the workspace once (release).
# Safe to re-run: downloads are cached under .cache/.
set -euo pipefail
cd "$(dirname "$0")/.."
CACHE=.cache
mkdir -p "$CACHE"

echo "== python references (onnx, onnxruntime, numpy, scikit-learn)"
python3 -m pip install -q --disable-pip-version-check -r scripts/requirements.txt

echo "== ONNX backend test data (onnx 1.22.0 wheel)"
if [ ! -d "$CACHE/onnx-data/node" ]; then
  rm -rf "$CACHE/wheels/onnx" "$CACHE/onnx-unpack"
  python3 -m pip download -q --disable-pip-version-check --no-deps onnx==1.22.0 -d "$CACHE/wheels/onnx"
  python3 - "$CACHE" <<'PY'
import glob, os, sys, zipfile
cache = sys.argv[1]
wheel = glob.glob(os.path.join(cache, "wheels/onnx/onnx-1.22.0-*.whl"))[0]
prefix = "onnx/backend/test/data/"
with zipfile.ZipFile(wheel) as z:
    for name in z.namelist():
        if not name.endswith("/") and (name.startswith(prefix + "node/") or name.startswith(prefix + "light/")):
            target = os.path.join(cache, "onnx-data", name[len(prefix):])
            os.makedirs(os.path.dirname(target), exist_ok=True)
            with z.open(name) as src, open(target, "wb") as dst:
                dst.write(src.read())
PY
fi
echo "   $(ls "$CACHE/onnx-data/node" | wc -l) node cases, $(ls "$CACHE"/onnx-data/light/*.onnx | wc -l) light models"

echo "== real models from registry packages (silero-vad, rapidocr-onnxruntime)"
if [ ! -f "$CACHE/models/ch_PP-OCRv4_det_infer.onnx" ] || [ ! -f "$CACHE/models/silero_vad.onnx" ]; then
  python3 -m pip download -q --disable-pip-version-check --no-deps silero-vad==6.2.3 rapidocr-onnxruntime==1.4.4 -d "$CACHE/wheels/models"
  python3 - "$CACHE" <<'PY'
import glob, os, sys, zipfile
cache = sys.argv[1]
os.makedirs(os.path.join(cache, "models"), exist_ok=True)
for wheel in glob.glob(os.path.join(cache, "wheels/models/*.whl")):
    with zipfile.ZipFile(wheel) as z:
        for name in z.namelist():
            if name.endswith(".onnx"):
                with z.open(name) as src, open(os.path.join(cache, "models", os.path.basename(name)), "wb") as dst:
                    dst.write(src.read())
PY
fi

echo "== build (release)"
cargo build --release --workspace --quiet

echo "== tiny BERT-like test model (tests/models/make_transformer.py)"
[ -f "$CACHE/models/tiny_bert.onnx" ] || python3 tests/models/make_transformer.py "$CACHE/models/tiny_bert.onnx"
mkdir -p "$CACHE/models-external"   # the same model with its weights in an external-data file
[ -f "$CACHE/models-external/tiny_bert.onnx" ] || python3 tests/models/make_transformer.py --external-data "$CACHE/models-external/tiny_bert.onnx"

echo "== JavaScript packages (npm workspaces) and the Node addon"
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  if command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -q nodejs npm; fi
fi
node -e 'if (+process.versions.node.split(".")[0] < 18) { console.error("Node.js >= 18 is needed, found " + process.version); process.exit(1) }'
npm ci --no-audit --no-fund --loglevel=error
npm run build --silent   # runnx-common (tsc -> ESM, CJS, .d.ts); runnx-node (cargo release build above, copied to runnx_node.node; tsc)

echo "== WebAssembly toolchain"
bash scripts/setup-wasm.sh

echo "== WebAssembly builds (npm/runnx-web/dist)"
bash scripts/build-wasm.sh

echo "== Browser: chromium for the headless tests (playwright-core comes with npm ci), runnx-web"
if ! command -v chromium >/dev/null && [ ! -x /usr/bin/chromium ]; then
  if command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -q chromium; else echo "no chromium: install it (or set CHROMIUM=path) for tests/browser" >&2; fi
fi
npm run build -w runnx-web --silent   # tsc -> npm/runnx-web/lib (needs npm/runnx-web/dist from build-wasm.sh)

echo "== Vite app over runnx-web (tests/vite-app: vite, and runnx-web linked from the workspace)"
(cd tests/vite-app && npm ci --no-audit --no-fund --loglevel=error)
