//! Feeds for a run: files (.pb protos or .npy) or deterministic random tensors.

use prost::Message;
use runnx_core::ir::graph::{Dim, TypeInfo};
use runnx_core::onnx::{proto, NoWeights};
use runnx_core::{DType, Session, Tensor, Value};
use std::collections::HashMap;
use std::path::Path;

/// Read a value file: `.npy`, or an ONNX TensorProto / SequenceProto / OptionalProto
/// as the input's declared type calls for.
pub fn read_file(path: &Path, ty: &TypeInfo) -> Result<Value, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let err = |e: String| format!("{}: {e}", path.display());
    if path.extension().is_some_and(|e| e == "npy") {
        return crate::npy::read(&bytes).map(Value::Tensor).map_err(err);
    }
    let bytes = bytes::Bytes::from(bytes);
    match ty {
        TypeInfo::Sequence(_) => proto::SequenceProto::decode(bytes)
            .map_err(|e| err(e.to_string()))
            .and_then(|p| {
                runnx_core::onnx::sequence_from_proto(&p, &NoWeights)
                    .map_err(|e| err(e.to_string()))
            }),
        TypeInfo::Optional(_) => proto::OptionalProto::decode(bytes)
            .map_err(|e| err(e.to_string()))
            .and_then(|p| {
                runnx_core::onnx::optional_from_proto(&p, &NoWeights)
                    .map_err(|e| err(e.to_string()))
            }),
        _ => runnx_core::onnx::decode_tensor(bytes)
            .map(Value::Tensor)
            .map_err(|e| err(e.to_string())),
    }
}

/// A small deterministic generator (xorshift64*), so generated inputs are
/// the same on every machine.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// Uniform in [0, 1).
    pub fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// A random tensor for a declared input type: floats uniform in [0, 1), integers in
/// [0, 10), booleans true. Symbolic dimensions come from `dims` (default 1).
pub fn generate(
    name: &str,
    ty: &TypeInfo,
    dims: &HashMap<String, usize>,
    rng: &mut Rng,
) -> Result<Value, String> {
    let TypeInfo::Tensor {
        dtype: Some(dtype),
        shape,
    } = ty
    else {
        return Err(format!(
            "cannot generate input '{name}' of type {ty}; give it with --input"
        ));
    };
    let shape: Vec<usize> = shape
        .as_deref()
        .unwrap_or(&[])
        .iter()
        .map(|d| match d {
            Dim::Fixed(n) => *n,
            Dim::Symbol(s) => dims.get(s).copied().unwrap_or(1),
            Dim::Unknown => 1,
        })
        .collect();
    let n: usize = shape.iter().product();
    let t = match dtype {
        DType::Bool => Tensor::new(shape, vec![true; n]),
        DType::String => Tensor::new(shape, vec![String::new(); n]),
        d if d.is_float() => Tensor::new(shape, (0..n).map(|_| rng.unit()).collect::<Vec<f64>>())
            .and_then(|t| t.cast(*d)),
        d => Tensor::new(
            shape,
            (0..n)
                .map(|_| (rng.unit() * 10.0) as i64)
                .collect::<Vec<i64>>(),
        )
        .and_then(|t| t.cast(*d)),
    };
    t.map(Value::Tensor).map_err(|e| e.to_string())
}

/// Parse `NAME=VALUE` pairs.
pub fn pairs(list: &[String]) -> Result<Vec<(String, String)>, String> {
    list.iter()
        .map(|p| {
            p.split_once('=')
                .map(|(a, b)| (a.to_string(), b.to_string()))
                .ok_or_else(|| format!("expected NAME=VALUE, got '{p}'"))
        })
        .collect()
}

/// Feeds from positional files, named files and generated values, in graph order.
pub fn feeds(
    session: &Session,
    positional: &[std::path::PathBuf],
    named: &[String],
    dims: &[String],
    seed: u64,
) -> Result<Vec<(String, Value)>, String> {
    let infos = session.inputs();
    if positional.len() > infos.len() {
        return Err(format!(
            "{} input files given, the model has {} inputs",
            positional.len(),
            infos.len()
        ));
    }
    let named = pairs(named)?;
    let dims: HashMap<String, usize> = pairs(dims)?
        .into_iter()
        .map(|(k, v)| {
            v.parse()
                .map(|n| (k.clone(), n))
                .map_err(|_| format!("--dim {k}: '{v}' is not a size"))
        })
        .collect::<Result<_, _>>()?;
    for (name, _) in &named {
        if !infos.iter().any(|i| &i.name == name) {
            let all: Vec<&str> = infos.iter().map(|i| i.name.as_str()).collect();
            return Err(format!(
                "--input {name}: the model has no such input (inputs: {})",
                all.join(", ")
            ));
        }
    }
    let mut rng = Rng::new(seed);
    infos
        .iter()
        .enumerate()
        .map(|(k, info)| {
            let value = if let Some(p) = positional.get(k) {
                read_file(p, &info.ty)?
            } else if let Some((_, f)) = named.iter().find(|(n, _)| n == &info.name) {
                read_file(Path::new(f), &info.ty)?
            } else {
                generate(&info.name, &info.ty, &dims, &mut rng)?
            };
            Ok((info.name.clone(), value))
        })
        .collect()
}
