//! `runnx`: inspect, run and benchmark ONNX models from the command line.

mod bench;
mod inputs;
mod inspect;
mod npy;
mod progress;
mod run;
mod table;

#[global_allocator]
static ALLOCATOR: runnx_core::alloc_meter::Counting = runnx_core::alloc_meter::Counting;

use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "runnx",
    version,
    about = "Run ONNX models with the runnx engine"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Inputs, outputs, opsets, operator histogram and parameter count of a model.
    Inspect { model: PathBuf },
    /// Run a model on input files (or generated inputs) and write its outputs.
    Run(run::RunArgs),
    /// Time a model and profile it per operator type.
    Bench(bench::BenchArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Inspect { model } => inspect::inspect(&model),
        Command::Run(args) => run::run(&args),
        Command::Bench(args) => bench::bench(&args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Load a model from a file, with external data resolved in its folder.
pub fn open_session(path: &std::path::Path, threads: usize) -> Result<runnx_core::Session, String> {
    let bar = progress::Spinner::start(&format!("loading {}", path.display()));
    let bytes = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let folder = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let weights = runnx_core::onnx::DirWeights::new(folder).map_err(|e| e.to_string())?;
    let options = runnx_core::SessionOptions {
        threads,
        ..Default::default()
    };
    let session =
        runnx_core::Session::from_bytes(bytes, &weights, &options).map_err(|e| e.to_string());
    bar.finish();
    session
}
