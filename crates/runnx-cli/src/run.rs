//! `runnx run`: feed a model, write its outputs.

use crate::inputs;
use prost::Message;
use runnx_core::{Tensor, Value};
use std::path::PathBuf;

#[derive(clap::Args)]
pub struct RunArgs {
    /// The .onnx model.
    model: PathBuf,
    /// Input files (.pb TensorProto/SequenceProto/OptionalProto, or .npy), in graph input order.
    inputs: Vec<PathBuf>,
    /// An input by name: NAME=FILE.
    #[arg(long = "input", value_name = "NAME=FILE")]
    named: Vec<String>,
    /// Folder for the outputs (output_K.pb / .npy).
    #[arg(short = 'o', long = "out", value_name = "DIR")]
    out: Option<PathBuf>,
    /// Output file format.
    #[arg(long, value_enum, default_value = "pb")]
    format: Format,
    /// Size of a symbolic dimension for generated inputs: NAME=N.
    #[arg(long = "dim", value_name = "NAME=N")]
    dims: Vec<String>,
    /// Seed for generated inputs.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Threads (0 = one per core).
    #[arg(long, default_value_t = 0)]
    threads: usize,
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum Format {
    Pb,
    Npy,
}

pub fn run(args: &RunArgs) -> Result<(), String> {
    let session = crate::open_session(&args.model, args.threads)?;
    let feeds = inputs::feeds(&session, &args.inputs, &args.named, &args.dims, args.seed)?;
    let outputs = session.run(feeds).map_err(|e| e.to_string())?;
    if let Some(dir) = &args.out {
        std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    }
    for (k, (info, value)) in session.outputs().iter().zip(&outputs).enumerate() {
        println!("{}: {}", info.name, describe(value));
        if let Some(dir) = &args.out {
            let (bytes, ext) = encode(&info.name, value, args.format)?;
            let path = dir.join(format!("output_{k}.{ext}"));
            std::fs::write(&path, bytes).map_err(|e| format!("{}: {e}", path.display()))?;
        }
    }
    Ok(())
}

fn encode(name: &str, value: &Value, format: Format) -> Result<(Vec<u8>, &'static str), String> {
    match (value, format) {
        (Value::Tensor(t), Format::Npy) => crate::npy::write(t).map(|b| (b, "npy")),
        (Value::Tensor(t), Format::Pb) => runnx_core::onnx::encode_tensor(name, t)
            .map(|b| (b, "pb"))
            .map_err(|e| e.to_string()),
        (Value::Sequence(items), Format::Pb) => {
            let tensors = items
                .iter()
                .map(|v| {
                    v.as_tensor()
                        .and_then(|t| runnx_core::onnx::tensor_to_proto("", t))
                })
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| e.to_string())?;
            let sp = runnx_core::onnx::proto::SequenceProto {
                name: name.to_string(),
                elem_type: runnx_core::onnx::proto::value_elem_type::TENSOR,
                tensor_values: tensors,
                ..Default::default()
            };
            Ok((sp.encode_to_vec(), "pb"))
        }
        (other, _) => Err(format!(
            "output '{name}' is a {}; write it with --format pb",
            other.kind()
        )),
    }
}

/// One line: type, shape and the first few values.
pub fn describe(value: &Value) -> String {
    match value {
        Value::Tensor(t) => format!("{} {:?} {}", t.dtype(), t.shape(), preview(t)),
        other => other.kind(),
    }
}

fn preview(t: &Tensor) -> String {
    const SHOW: usize = 8;
    let text: Vec<String> = match t.dtype() {
        runnx_core::DType::String => t
            .as_slice::<String>()
            .map(|s| s.iter().take(SHOW).map(|x| format!("{x:?}")).collect())
            .unwrap_or_default(),
        d if d.is_float() => t
            .to_f64_vec()
            .map(|v| v.iter().take(SHOW).map(|x| format!("{x:.5}")).collect())
            .unwrap_or_default(),
        _ => t
            .cast(runnx_core::DType::I64)
            .and_then(|c| c.to_i64_vec())
            .map(|v| v.iter().take(SHOW).map(|x| x.to_string()).collect())
            .unwrap_or_default(),
    };
    let more = if t.len() > SHOW { " ..." } else { "" };
    format!("[{}{more}]", text.join(", "))
}
