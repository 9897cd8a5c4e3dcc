"""GFLOP/s of runnx's f32 GEMM next to numpy's (OpenBLAS) on the same shapes, at 1
and 2 threads: square 256..2048 and the BERT / MobileNetV2 shapes. Writes
bench/results-gemm.md.

    python3 bench/gemm.py

OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE are unset for the numpy side (they pin an
older, slower OpenBLAS kernel on some machines); threadpoolctl sets its threads.
"""
import datetime
import os
import subprocess
import sys
import time

SHAPES = [
    ("square", 256, 256, 256), ("square", 512, 512, 512), ("square", 1024, 1024, 1024), ("square", 2048, 2048, 2048),
    ("BERT QKV/out proj", 128, 384, 384), ("BERT FFN up", 128, 1536, 384), ("BERT FFN down", 128, 384, 1536),
    ("BERT scores QK^T (per head)", 128, 128, 32), ("BERT context (per head)", 128, 32, 128),
    ("MobileNetV2 1x1 16->96 @112", 96, 12544, 16), ("MobileNetV2 1x1 144->24 @56", 24, 3136, 144),
    ("MobileNetV2 1x1 320->1280 @7", 1280, 49, 320), ("classifier 1280->1000", 1, 1000, 1280),
]


def numpy_gflops(threads):
    env = dict(os.environ)
    env.pop("OPENBLAS_CORETYPE", None)
    env.pop("OPENBLAS_L2_SIZE", None)
    code = r"""
import sys, time, numpy as np
from threadpoolctl import threadpool_limits
threads = int(sys.argv[1])
with threadpool_limits(limits=threads):
    for arg in sys.argv[2:]:
        m, n, k = map(int, arg.split(","))
        a = np.random.rand(m, k).astype(np.float32); b = np.random.rand(k, n).astype(np.float32)
        flops = 2.0 * m * n * k
        reps = int(min(5000, max(2, 1e9 / flops)))
        best = 1e9
        for _ in range(5):
            t = time.perf_counter()
            for _ in range(reps):
                a @ b
            best = min(best, (time.perf_counter() - t) / reps)
        print(m, n, k, flops / best / 1e9)
"""
    shapes = [f"{m},{n},{k}" for _, m, n, k in SHAPES]
    out = subprocess.run([sys.executable, "-c", code, str(threads), *shapes], env=env, capture_output=True, text=True, check=True)
    return [float(line.split()[3]) for line in out.stdout.splitlines()]


def runnx_gflops(threads):
    shapes = [f"{m},{n},{k}" for _, m, n, k in SHAPES]
    out = subprocess.run(["target/release/examples/gemm_gflops", str(threads), *shapes], capture_output=True, text=True, check=True)
    lines = out.stdout.splitlines()
    return [float(line.split()[4]) for line in lines], lines[0].split()[5]


def main():
    subprocess.run(["cargo", "build", "--release", "-q", "-p", "runnx-cpu", "--example", "gemm_gflops"], check=True)
    rows = []
    kernel = "?"
    for threads in (1, 2):
        ours, kernel = runnx_gflops(threads)
        theirs = numpy_gflops(threads)
        for (label, m, n, k), a, b in zip(SHAPES, ours, theirs):
            rows.append((label, m, n, k, threads, a, b))
            print(f"{label:32s} {m}x{n}x{k} t={threads}: runnx {a:7.1f}  numpy {b:7.1f}  ratio {a / b:5.2f}", flush=True)
    import numpy, threadpoolctl
    info = [p for p in threadpoolctl.threadpool_info() if p.get("internal_api") == "openblas"]
    blas = f"{info[0].get('version')} ({info[0].get('architecture')})" if info else "?"
    lines = [
        "# f32 GEMM: runnx vs numpy (OpenBLAS)", "",
        f"Measured {datetime.date.today()}; runnx kernel `{kernel}`, numpy {numpy.__version__} with OpenBLAS {blas}. "
        "GFLOP/s, best of 5 timed batches, C = A B with row-major A [M,K] and B [K,N].", "",
        "Command: `python3 bench/gemm.py`", "",
        "| shape | M x N x K | threads | runnx GFLOP/s | numpy GFLOP/s | runnx / numpy |", "|---|---|---:|---:|---:|---:|",
    ]
    lines += [f"| {l} | {m}x{n}x{k} | {t} | {a:.1f} | {b:.1f} | {a / b:.2f} |" for l, m, n, k, t, a, b in rows]
    with open("bench/results-gemm.md", "w") as f:
        f.write("\n".join(lines) + "\n")
    print("wrote bench/results-gemm.md")


if __name__ == "__main__":
    main()
