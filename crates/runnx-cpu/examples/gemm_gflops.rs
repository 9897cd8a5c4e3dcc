//! `gemm_gflops THREADS M,N,K ...`: GFLOP/s of runnx's f32 GEMM (best of several
//! timed batches), one line per shape: `M N K THREADS GFLOPS KERNEL`.
//! `bench/gemm.py` runs it next to numpy on the same shapes.

use runnx_cpu::gemm;
use runnx_cpu::par::Pool;
use std::time::Instant;

fn main() {
    let mut args = std::env::args().skip(1);
    let threads: usize = args.next().and_then(|t| t.parse().ok()).unwrap_or(1);
    let pool = Pool::new(threads);
    for shape in args {
        let dims: Vec<usize> = shape.split(',').filter_map(|d| d.parse().ok()).collect();
        let [m, n, k] = dims[..] else {
            eprintln!("bad shape '{shape}', expected M,N,K");
            std::process::exit(2);
        };
        let a: Vec<f32> = (0..m * k).map(|i| (i % 7) as f32 * 0.25).collect();
        let b: Vec<f32> = (0..k * n).map(|i| (i % 5) as f32 * 0.5).collect();
        let mut c = vec![0f32; m * n];
        let flops = 2.0 * (m * n * k) as f64;
        let reps = (1e9 / flops).clamp(2.0, 5000.0) as usize;
        let best = pool.install(|| {
            let mut best = f64::MAX;
            for _ in 0..5 {
                let t = Instant::now();
                for _ in 0..reps {
                    if let Err(e) = gemm::matmul(m, n, k, &a, &b, &mut c) {
                        eprintln!("{e}");
                        std::process::exit(1);
                    }
                }
                best = best.min(t.elapsed().as_secs_f64() / reps as f64);
            }
            best
        });
        println!(
            "{m} {n} {k} {threads} {:.2} {}",
            flops / best / 1e9,
            gemm::kernel_name().replace(' ', "_")
        );
    }
}
