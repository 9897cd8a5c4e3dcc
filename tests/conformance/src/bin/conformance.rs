//! `conformance [--data NODE_DIR] [--light LIGHT_DIR] [--filter S]... [--expect FILE] [--write FILE]`
//!
//! Runs ONNX backend test cases through runnx and prints one line per case and a
//! closing `N passed, N failed`. With `--expect`, exits non-zero if a case listed in
//! FILE (one name per line) no longer passes; `--write` saves the passing names;
//! `--table` writes the operator table (SUPPORTED-OPS.md).

use runnx_conformance::{light_cases, node_cases, run_case, Case};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

fn main() -> ExitCode {
    let mut data: Vec<PathBuf> = Vec::new();
    let mut light: Vec<PathBuf> = Vec::new();
    let mut filters: Vec<String> = Vec::new();
    let mut expect: Option<PathBuf> = None;
    let mut write: Option<PathBuf> = None;
    let mut table: Option<PathBuf> = None;
    let mut threads = 1usize;
    let mut quiet = false;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut value = || args.next().unwrap_or_default();
        match a.as_str() {
            "--data" => data.push(value().into()),
            "--light" => light.push(value().into()),
            "--filter" => filters.push(value()),
            "--expect" => expect = Some(value().into()),
            "--write" => write = Some(value().into()),
            "--table" => table = Some(value().into()),
            "--threads" => threads = value().parse().unwrap_or(1),
            "--quiet" => quiet = true,
            other => {
                eprintln!("unknown argument '{other}'");
                return ExitCode::from(2);
            }
        }
    }
    let mut cases: Vec<Case> = Vec::new();
    for d in &data {
        match node_cases(d) {
            Ok(c) => cases.extend(c),
            Err(e) => {
                eprintln!("cannot read {}: {e}", d.display());
                return ExitCode::from(2);
            }
        }
    }
    for d in &light {
        match light_cases(d) {
            Ok(c) => cases.extend(c),
            Err(e) => {
                eprintln!("cannot read {}: {e}", d.display());
                return ExitCode::from(2);
            }
        }
    }
    if !filters.is_empty() {
        cases.retain(|c| filters.iter().any(|f| c.name.contains(f.as_str())));
    }
    // Kernels must not panic, but a panic here should be reported as a failure, quietly.
    std::panic::set_hook(Box::new(|_| {}));
    let mut passed = Vec::new();
    let mut failed = Vec::new();
    let start = Instant::now();
    for case in &cases {
        let t = Instant::now();
        let result = catch_unwind(AssertUnwindSafe(|| run_case(case, threads)))
            .unwrap_or_else(|p| Err(format!("PANIC: {}", runnx_core::exec::panic_message(&p))));
        let ms = t.elapsed().as_secs_f64() * 1e3;
        match result {
            Ok(()) => {
                if !quiet {
                    println!("PASS {} ({ms:.0} ms)", case.name);
                }
                passed.push(case.name.clone());
            }
            Err(e) => {
                let e: String = e.chars().take(300).collect();
                println!("FAIL {}: {e}", case.name);
                failed.push(case.name.clone());
            }
        }
    }
    eprintln!(
        "ran {} cases in {:.1} s",
        cases.len(),
        start.elapsed().as_secs_f64()
    );
    if let Some(path) = write {
        let mut text = passed.join("\n");
        text.push('\n');
        if let Err(e) = std::fs::write(&path, text) {
            eprintln!("cannot write {}: {e}", path.display());
            return ExitCode::from(2);
        }
    }
    if let Some(path) = table {
        let names = passed.iter().cloned().collect();
        if let Err(e) = std::fs::write(&path, runnx_conformance::optable::render(&cases, &names)) {
            eprintln!("cannot write {}: {e}", path.display());
            return ExitCode::from(2);
        }
    }
    let mut regressions = Vec::new();
    if let Some(path) = expect {
        let listed = std::fs::read_to_string(&path).unwrap_or_default();
        for name in listed
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
        {
            if !passed.iter().any(|p| p == name) {
                regressions.push(name.to_string());
            }
        }
        for r in &regressions {
            println!(
                "REGRESSION {r}: listed in {} but did not pass",
                path.display()
            );
        }
    }
    println!("{} passed, {} failed", passed.len(), failed.len());
    if regressions.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
