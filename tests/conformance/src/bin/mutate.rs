//! `mutate [--count N] [--seed S] MODEL...`: load (and, where that succeeds, run)
//! thousands of corrupted copies of real models and fail if any of them panics.
//! Corruptions: truncation, bit flips, random byte runs, zeroed runs, repeated chunks.

use runnx_core::ir::graph::{Dim, TypeInfo};
use runnx_core::onnx::NoWeights;
use runnx_core::{Session, SessionOptions, Tensor, Value};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::process::ExitCode;

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

fn mutate(original: &[u8], rng: &mut Rng) -> Vec<u8> {
    let mut b = original.to_vec();
    let len = b.len().max(1);
    match rng.below(5) {
        0 => b.truncate(rng.below(len)),
        1 => {
            for _ in 0..1 + rng.below(8) {
                let i = rng.below(len);
                if let Some(x) = b.get_mut(i) {
                    *x ^= 1 << rng.below(8);
                }
            }
        }
        2 => {
            let start = rng.below(len);
            let end = (start + 1 + rng.below(16)).min(b.len());
            for x in b.iter_mut().take(end).skip(start) {
                *x = rng.next() as u8;
            }
        }
        3 => {
            let start = rng.below(len);
            let end = (start + 1 + rng.below(64)).min(b.len());
            for x in b.iter_mut().take(end).skip(start) {
                *x = 0;
            }
        }
        _ => {
            let start = rng.below(len);
            let end = (start + 1 + rng.below(256)).min(b.len());
            let chunk = b.get(start..end).unwrap_or_default().to_vec();
            let at = rng.below(len);
            b.splice(at.min(b.len())..at.min(b.len()), chunk);
        }
    }
    b
}

/// Small inputs for whatever the (possibly corrupted) model declares.
fn feeds(session: &Session) -> Option<Vec<(String, Value)>> {
    session
        .inputs()
        .iter()
        .map(|i| {
            let TypeInfo::Tensor {
                dtype: Some(dtype),
                shape,
            } = &i.ty
            else {
                return None;
            };
            let shape: Vec<usize> = shape
                .as_deref()
                .unwrap_or(&[])
                .iter()
                .map(|d| if let Dim::Fixed(n) = d { *n } else { 1 })
                .collect();
            let n = shape.iter().try_fold(1usize, |a, &d| a.checked_mul(d))?;
            if n > 1 << 22 {
                return None;
            }
            let t = Tensor::zeros(*dtype, shape).ok()?;
            Some((i.name.clone(), Value::Tensor(t)))
        })
        .collect()
}

fn main() -> ExitCode {
    let mut count = 1000usize;
    let mut seed = 0x5EEDu64;
    let mut models = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--count" => count = args.next().and_then(|v| v.parse().ok()).unwrap_or(count),
            "--seed" => seed = args.next().and_then(|v| v.parse().ok()).unwrap_or(seed),
            path => models.push(path.to_string()),
        }
    }
    std::panic::set_hook(Box::new(|_| {}));
    let (mut passed, mut panicked, mut loaded) = (0usize, 0usize, 0usize);
    for path in &models {
        let original = match std::fs::read(path) {
            Ok(b) => b,
            Err(e) => {
                eprintln!("{path}: {e}");
                return ExitCode::from(2);
            }
        };
        let mut rng = Rng(seed | 1);
        for i in 0..count {
            let bytes = mutate(&original, &mut rng);
            let outcome = catch_unwind(AssertUnwindSafe(|| {
                let options = SessionOptions {
                    threads: 1,
                    ..Default::default()
                };
                let session = Session::from_bytes(bytes, &NoWeights, &options).ok()?;
                let feeds = feeds(&session)?;
                // The engine turns a kernel panic into an "internal error"; it still counts.
                Some(
                    session
                        .run(feeds)
                        .err()
                        .map(|e| e.to_string())
                        .filter(|e| e.contains("internal error")),
                )
            }));
            match outcome {
                Ok(Some(Some(internal))) => {
                    panicked += 1;
                    println!("PANIC {path} mutation {i}: {internal}");
                }
                Ok(ran) => {
                    passed += 1;
                    loaded += ran.is_some() as usize;
                }
                Err(p) => {
                    panicked += 1;
                    println!(
                        "PANIC {path} mutation {i}: {}",
                        runnx_core::exec::panic_message(&p)
                    );
                }
            }
        }
    }
    eprintln!("{loaded} mutated models loaded and ran; the rest were rejected with errors");
    println!("{passed} passed, {panicked} failed");
    if panicked == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
