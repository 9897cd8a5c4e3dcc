"""Run real models through runnx (the CLI) and onnxruntime on the same inputs and
compare every output (rtol 1e-3, atol 1e-4).

    python3 tests/models/check_models.py [--runnx target/release/runnx] MODEL_OR_DIR...

Inputs are made per model from a fixed seed: audio-like noise for Silero VAD,
image-like tensors for the OCR and vision models, token ids for BERT-like models.
Prints one line per model and a closing "N passed, N failed".
"""
import argparse
import glob
import os
import subprocess
import sys
import tempfile

import numpy as np
import onnx
import onnxruntime as ort

RTOL, ATOL = 1e-3, 1e-4
NP_TYPES = {1: np.float32, 6: np.int32, 7: np.int64, 9: np.bool_, 10: np.float16, 11: np.float64}
# Concrete sizes for symbolic dimensions, by model file name.
DIMS = {
    "ch_PP-OCRv4_det_infer.onnx": [1, 3, 320, 320],
    "ch_PP-OCRv4_rec_infer.onnx": [1, 3, 48, 320],
    "ch_ppocr_mobile_v2.0_cls_infer.onnx": [1, 3, 48, 192],
    "tiny_bert.onnx": [2, 16],
}


def make_input(model_name, inp, rng):
    t = inp.type.tensor_type
    dtype = NP_TYPES[t.elem_type]
    dims = [d.dim_value if d.HasField("dim_value") else None for d in t.shape.dim]
    if model_name in DIMS and len(dims) == len(DIMS[model_name]):
        dims = DIMS[model_name]
    name = inp.name.lower()
    if name == "sr":
        return np.array(16000, dtype=dtype)
    if "vad" in model_name and name in ("state", "h", "c"):
        return np.zeros([d or 1 for d in dims], dtype=dtype)
    if "vad" in model_name and name == "input":
        # One chunk of audio: 512 samples at 16 kHz unless the model fixes the length.
        shape = [dims[0] or 1, dims[1] or 512]
        return (rng.standard_normal(shape) * 0.1).astype(dtype)
    dims = [d or 1 for d in dims]
    if "mask" in name:
        return np.ones(dims, dtype=dtype)
    if "token_type" in name:
        return np.zeros(dims, dtype=dtype)
    if np.issubdtype(dtype, np.integer):
        return rng.integers(0, 1000, size=dims).astype(dtype)
    return rng.random(dims).astype(dtype)


def check(runnx, path):
    name = os.path.basename(path)
    model = onnx.load(path, load_external_data=False)
    inits = {i.name for i in model.graph.initializer}
    inputs = [i for i in model.graph.input if i.name not in inits]
    rng = np.random.default_rng(0)
    feeds = {i.name: make_input(name, i, rng) for i in inputs}
    sess = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    expected = sess.run(None, feeds)
    with tempfile.TemporaryDirectory() as tmp:
        files = []
        for i in inputs:
            f = os.path.join(tmp, f"{len(files)}.npy")
            np.save(f, feeds[i.name])
            files.append(f)
        out = os.path.join(tmp, "out")
        proc = subprocess.run([runnx, "run", path, *files, "-o", out, "--format", "npy", "--threads", "1"],
                              capture_output=True, text=True)
        if proc.returncode != 0:
            return f"runnx failed: {proc.stderr.strip()[-300:]}"
        for k, e in enumerate(expected):
            got = np.load(os.path.join(out, f"output_{k}.npy"))
            e = np.asarray(e)
            if got.shape != e.shape:
                return f"output {k}: shape {got.shape}, onnxruntime {e.shape}"
            if not np.allclose(got, e, rtol=RTOL, atol=ATOL, equal_nan=True):
                diff = np.abs(got.astype(np.float64) - e.astype(np.float64)).max()
                return f"output {k}: max abs difference {diff:.3e}"
    return None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runnx", default="target/release/runnx")
    ap.add_argument("paths", nargs="+")
    args = ap.parse_args()
    models = []
    for p in args.paths:
        models += sorted(glob.glob(os.path.join(p, "*.onnx"))) if os.path.isdir(p) else [p]
    passed = failed = 0
    for m in models:
        try:
            err = check(args.runnx, m)
        except Exception as e:  # a reference that cannot run the model is a failed check too
            err = f"{type(e).__name__}: {str(e)[:200]}"
        if err is None:
            passed += 1
            print(f"PASS {os.path.basename(m)}")
        else:
            failed += 1
            print(f"FAIL {os.path.basename(m)}: {err}")
    print(f"{passed} passed, {failed} failed")
    sys.exit(1 if failed or not models else 0)


if __name__ == "__main__":
    main()
