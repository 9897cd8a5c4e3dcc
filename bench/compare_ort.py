"""runnx vs onnxruntime (Python, CPU provider) on the same models and inputs, at 1
and 2 threads, in one run. Writes a markdown table with the ratio runnx/onnxruntime
(below 1.0 means runnx is faster) and, per model, runnx's per-operator profile.

    python3 bench/compare_ort.py [--runs N] [--rounds N] [--out bench/results-cpu.md] MODEL_OR_DIR...
"""
import argparse
import datetime
import glob
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np
import onnx
import onnxruntime as ort

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tests", "models"))
from check_models import make_input  # noqa: E402


def ort_median(path, feeds, threads, runs, warmup):
    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    sess = ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])
    for _ in range(warmup):
        sess.run(None, feeds)
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        sess.run(None, feeds)
        times.append((time.perf_counter() - t) * 1e3)
    return statistics.median(times)


def runnx_bench(runnx, path, files, threads, runs, warmup):
    proc = subprocess.run(
        [runnx, "bench", path, *files, "--threads", str(threads), "--runs", str(runs), "--warmup", str(warmup)],
        capture_output=True, text=True, check=True)
    median = float(re.search(r"^median\s+([0-9.]+) ms", proc.stdout, re.M).group(1))
    profile = proc.stdout.split("\n\n", 1)[1] if "\n\n" in proc.stdout else ""
    return median, profile


def cpu_name():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runnx", default="target/release/runnx")
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--out", default="bench/results-cpu.md")
    ap.add_argument("paths", nargs="+")
    args = ap.parse_args()
    models = []
    for p in args.paths:
        models += sorted(glob.glob(os.path.join(p, "*.onnx"))) if os.path.isdir(p) else [p]
    rows, profiles = [], []
    for path in models:
        name = os.path.basename(path)
        model = onnx.load(path, load_external_data=False)
        inits = {i.name for i in model.graph.initializer}
        inputs = [i for i in model.graph.input if i.name not in inits]
        rng = np.random.default_rng(0)
        feeds = {i.name: make_input(name, i, rng) for i in inputs}
        with tempfile.TemporaryDirectory() as tmp:
            files = []
            for i in inputs:
                f = os.path.join(tmp, f"{len(files)}.npy")
                np.save(f, feeds[i.name])
                files.append(f)
            for threads in [int(t) for t in args.threads.split(",")]:
                # Alternate the engines over several rounds so that a burst of load on
                # this shared machine hits both; report the median of the rounds.
                ours_r, theirs_r = [], []
                for _ in range(args.rounds):
                    ours_i, profile = runnx_bench(args.runnx, path, files, threads, args.runs, args.warmup)
                    ours_r.append(ours_i)
                    theirs_r.append(ort_median(path, feeds, threads, args.runs, args.warmup))
                ours, theirs = statistics.median(ours_r), statistics.median(theirs_r)
                rows.append((name, threads, ours, theirs, ours / theirs))
                print(f"{name:40s} threads={threads}  runnx {ours:9.3f} ms  onnxruntime {theirs:9.3f} ms  ratio {ours / theirs:5.2f}", flush=True)
                if threads == 1:
                    profiles.append((name, profile))
    lines = [
        "# runnx vs onnxruntime (CPU)",
        "",
        f"Measured {datetime.date.today()} on {cpu_name()}, onnxruntime {ort.__version__} (Python, CPUExecutionProvider, "
        f"sequential execution), same inputs: each engine's median of {args.runs} runs after {args.warmup} warm-up runs, "
        f"measured in {args.rounds} alternating rounds; the table gives the median round.",
        "",
        "Command: `python3 bench/compare_ort.py " + " ".join(args.paths) + "`",
        "",
        "| model | threads | runnx ms | onnxruntime ms | runnx / onnxruntime |",
        "|---|---:|---:|---:|---:|",
    ]
    lines += [f"| {n} | {t} | {a:.3f} | {b:.3f} | {r:.2f} |" for n, t, a, b, r in rows]
    lines += ["", "## Where runnx spends its time (1 thread)", ""]
    for name, profile in profiles:
        lines += [f"### {name}", "", "```", profile.strip(), "```", ""]
    with open(args.out, "w") as f:
        f.write("\n".join(lines) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
