//! The ONNX backend test suite as runnx sees it: load a case folder, run it,
//! compare with the expected outputs.

pub mod optable;

use bytes::Bytes;
use prost::Message;
use runnx_core::ir::graph::TypeInfo;
use runnx_core::onnx::{proto, DirWeights, NoWeights};
use runnx_core::{DType, Session, SessionOptions, Tensor, Value};
use std::path::{Path, PathBuf};

/// The ONNX runner's default tolerances.
pub const RTOL: f64 = 1e-3;
pub const ATOL: f64 = 1e-7;

pub struct Case {
    pub name: String,
    pub model: PathBuf,
    /// (inputs, expected outputs) per data set; `None` inputs mean "generate".
    pub data_sets: Vec<(Option<Vec<PathBuf>>, Vec<PathBuf>)>,
}

/// The cases of a `node/` folder (one subfolder per case), sorted by name.
pub fn node_cases(dir: &Path) -> std::io::Result<Vec<Case>> {
    let mut cases = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        let model = path.join("model.onnx");
        if !model.is_file() {
            continue;
        }
        let mut sets = Vec::new();
        let mut set_dirs: Vec<PathBuf> = std::fs::read_dir(&path)?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| {
                p.is_dir()
                    && p.file_name()
                        .is_some_and(|n| n.to_string_lossy().starts_with("test_data_set_"))
            })
            .collect();
        set_dirs.sort();
        for d in set_dirs {
            sets.push((Some(numbered(&d, "input_")), numbered(&d, "output_")));
        }
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        cases.push(Case {
            name,
            model,
            data_sets: sets,
        });
    }
    cases.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(cases)
}

/// The `light/` models: `light_X.onnx` with `light_X_output_0.pb`; inputs are generated.
pub fn light_cases(dir: &Path) -> std::io::Result<Vec<Case>> {
    let mut cases = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.extension().is_some_and(|e| e == "onnx") {
            let stem = path
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default();
            let out = dir.join(format!("{stem}_output_0.pb"));
            cases.push(Case {
                name: stem,
                model: path,
                data_sets: vec![(None, vec![out])],
            });
        }
    }
    cases.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(cases)
}

fn numbered(dir: &Path, prefix: &str) -> Vec<PathBuf> {
    (0..)
        .map(|i| dir.join(format!("{prefix}{i}.pb")))
        .take_while(|p| p.is_file())
        .collect()
}

/// Run one case; `Err` carries the reason it failed.
pub fn run_case(case: &Case, threads: usize) -> Result<(), String> {
    let bytes = std::fs::read(&case.model).map_err(|e| format!("read model: {e}"))?;
    let folder = case.model.parent().unwrap_or(Path::new("."));
    let weights = DirWeights::new(folder).map_err(|e| e.to_string())?;
    let options = SessionOptions {
        threads,
        ..Default::default()
    };
    let session =
        Session::from_bytes(bytes, &weights, &options).map_err(|e| format!("load: {e}"))?;
    for (k, (inputs, outputs)) in case.data_sets.iter().enumerate() {
        let feeds = match inputs {
            Some(files) => read_feeds(&session, files)?,
            None => generated_feeds(&session)?,
        };
        let fed_types: Vec<(String, TypeInfo)> = feeds
            .iter()
            .filter_map(|(n, v)| Some((n.clone(), concrete_type(v.as_tensor().ok()?))))
            .collect();
        let got = session.run(feeds).map_err(|e| format!("run: {e}"))?;
        if got.len() != outputs.len() {
            return Err(format!("{} outputs, expected {}", got.len(), outputs.len()));
        }
        check_inference(&session, &fed_types, &got).map_err(|e| format!("data set {k}: {e}"))?;
        for (i, (file, actual)) in outputs.iter().zip(&got).enumerate() {
            let ty = &session.outputs()[i].ty;
            let expected = read_value(file, ty)?;
            compare(&expected, actual, RTOL, ATOL).map_err(|e| {
                format!(
                    "data set {k}, output {i} '{}': {e}",
                    session.outputs()[i].name
                )
            })?;
        }
    }
    Ok(())
}

fn concrete_type(t: &Tensor) -> TypeInfo {
    use runnx_core::ir::graph::Dim;
    TypeInfo::Tensor {
        dtype: Some(t.dtype()),
        shape: Some(t.shape().iter().map(|&d| Dim::Fixed(d)).collect()),
    }
}

/// Static shape inference, given the shapes actually fed, must agree with what
/// the kernels produced: same element type and every dimension it claims to know.
fn check_inference(
    session: &Session,
    fed: &[(String, TypeInfo)],
    got: &[Value],
) -> Result<(), String> {
    use runnx_core::ir::graph::Dim;
    let model = session.model();
    let mut graph = (*model.graph).clone();
    for vi in graph.inputs.iter_mut() {
        if let Some((_, ty)) = fed.iter().find(|(n, _)| *n == vi.name) {
            vi.ty = ty.clone();
        }
    }
    let facts = runnx_core::infer::infer_graph(&graph, &model.opsets);
    for (vi, value) in graph.outputs.iter().zip(got) {
        let (Some(fact), Value::Tensor(t)) = (facts.get(&vi.name), value) else {
            continue;
        };
        let dtype_ok = fact.dtype.is_none_or(|d| d == t.dtype());
        let shape_ok = fact.shape.as_ref().is_none_or(|dims| {
            dims.len() == t.rank()
                && dims.iter().zip(t.shape()).all(|(d, &n)| match d {
                    Dim::Fixed(k) => *k == n,
                    _ => true,
                })
        });
        if !dtype_ok || !shape_ok {
            return Err(format!(
                "shape inference says output '{}' is {}, the kernel made {} {:?}",
                vi.name,
                fact.to_type(),
                t.dtype(),
                t.shape()
            ));
        }
    }
    Ok(())
}

fn read_feeds(session: &Session, files: &[PathBuf]) -> Result<Vec<(String, Value)>, String> {
    let infos = session.inputs();
    if files.len() > infos.len() {
        return Err(format!(
            "{} input files for {} graph inputs",
            files.len(),
            infos.len()
        ));
    }
    files
        .iter()
        .zip(infos)
        .map(|(f, info)| Ok((info.name.clone(), read_value(f, &info.ty)?)))
        .collect()
}

/// The ONNX runner's inputs for light models: arange(n) / n as float32, unknown dims 1.
fn generated_feeds(session: &Session) -> Result<Vec<(String, Value)>, String> {
    use runnx_core::ir::graph::Dim;
    session
        .inputs()
        .iter()
        .map(|info| {
            let TypeInfo::Tensor {
                shape: Some(dims), ..
            } = &info.ty
            else {
                return Err(format!(
                    "cannot generate input '{}' of type {}",
                    info.name, info.ty
                ));
            };
            let shape: Vec<usize> = dims
                .iter()
                .map(|d| if let Dim::Fixed(n) = d { *n } else { 1 })
                .collect();
            let n: usize = shape.iter().product();
            let data: Vec<f32> = (0..n).map(|i| (i as f64 / n as f64) as f32).collect();
            let t = Tensor::new(shape, data).map_err(|e| e.to_string())?;
            Ok((info.name.clone(), Value::Tensor(t)))
        })
        .collect()
}

/// Read a `.pb` value file as the proto its declared type calls for.
pub fn read_value(path: &Path, ty: &TypeInfo) -> Result<Value, String> {
    let bytes = Bytes::from(std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?);
    let bad = |e: String| format!("{}: {e}", path.display());
    match ty {
        TypeInfo::Sequence(_) => {
            let sp = proto::SequenceProto::decode(bytes).map_err(|e| bad(e.to_string()))?;
            runnx_core::onnx::sequence_from_proto(&sp, &NoWeights).map_err(|e| bad(e.to_string()))
        }
        TypeInfo::Optional(_) => {
            let op = proto::OptionalProto::decode(bytes).map_err(|e| bad(e.to_string()))?;
            runnx_core::onnx::optional_from_proto(&op, &NoWeights).map_err(|e| bad(e.to_string()))
        }
        _ => {
            let tp = proto::TensorProto::decode(bytes).map_err(|e| bad(e.to_string()))?;
            runnx_core::onnx::tensor_from_proto(&tp, &NoWeights)
                .map(Value::Tensor)
                .map_err(|e| bad(e.to_string()))
        }
    }
}

/// Compare values like numpy's `assert_allclose` (NaN equals NaN); exact for
/// integers, booleans and strings.
pub fn compare(expected: &Value, actual: &Value, rtol: f64, atol: f64) -> Result<(), String> {
    match (expected, actual) {
        (Value::Tensor(e), Value::Tensor(a)) => compare_tensors(e, a, rtol, atol),
        (Value::Sequence(e), Value::Sequence(a)) => {
            if e.len() != a.len() {
                return Err(format!(
                    "sequence of {} items, expected {}",
                    a.len(),
                    e.len()
                ));
            }
            e.iter().zip(a).enumerate().try_for_each(|(i, (e, a))| {
                compare(e, a, rtol, atol).map_err(|m| format!("item {i}: {m}"))
            })
        }
        (Value::Optional(None), Value::Optional(None)) => Ok(()),
        (Value::Optional(Some(e)), Value::Optional(Some(a))) => compare(e, a, rtol, atol),
        // A present optional compares equal to its content.
        (Value::Optional(Some(e)), a) => compare(e, a, rtol, atol),
        (e, Value::Optional(Some(a))) => compare(e, a, rtol, atol),
        (e, a) => Err(format!("got {}, expected {}", a.kind(), e.kind())),
    }
}

fn compare_tensors(e: &Tensor, a: &Tensor, rtol: f64, atol: f64) -> Result<(), String> {
    if e.dtype() != a.dtype() {
        return Err(format!("type {}, expected {}", a.dtype(), e.dtype()));
    }
    if e.shape() != a.shape() {
        return Err(format!("shape {:?}, expected {:?}", a.shape(), e.shape()));
    }
    if e.dtype() == DType::String {
        let (es, as_) = (
            e.as_slice::<String>().map_err(|x| x.to_string())?,
            a.as_slice::<String>().map_err(|x| x.to_string())?,
        );
        return match es.iter().zip(as_).position(|(x, y)| x != y) {
            None => Ok(()),
            Some(i) => Err(format!("element {i}: {:?}, expected {:?}", as_[i], es[i])),
        };
    }
    if !e.dtype().is_float() {
        let (ev, av) = (
            e.to_f64_vec().map_err(|x| x.to_string())?,
            a.to_f64_vec().map_err(|x| x.to_string())?,
        );
        let ints = |t: &Tensor| {
            if t.dtype() == DType::Bool {
                t.cast(DType::I64)
            } else {
                Ok(t.clone())
            }
        };
        let (ei, ai) = (
            ints(e).and_then(|t| t.to_i64_vec()),
            ints(a).and_then(|t| t.to_i64_vec()),
        );
        if let (Ok(ei), Ok(ai)) = (ei, ai) {
            return match ei.iter().zip(&ai).position(|(x, y)| x != y) {
                None => Ok(()),
                Some(i) => Err(format!("element {i}: {}, expected {}", ai[i], ei[i])),
            };
        }
        let _ = (ev, av);
    }
    let (ev, av) = (
        e.to_f64_vec().map_err(|x| x.to_string())?,
        a.to_f64_vec().map_err(|x| x.to_string())?,
    );
    let mut worst: Option<(usize, f64)> = None;
    let mut bad = 0usize;
    for (i, (&x, &y)) in ev.iter().zip(&av).enumerate() {
        let ok = (x.is_nan() && y.is_nan()) || x == y || (x - y).abs() <= atol + rtol * x.abs();
        if !ok {
            bad += 1;
            let err = if y.is_nan() || x.is_nan() {
                f64::INFINITY
            } else {
                (x - y).abs()
            };
            if worst.is_none_or(|(_, w)| err > w) {
                worst = Some((i, err));
            }
        }
    }
    match worst {
        None => Ok(()),
        Some((i, _)) => Err(format!(
            "{bad} of {} elements differ; worst at {i}: {}, expected {}",
            ev.len(),
            av[i],
            ev[i]
        )),
    }
}
