//! `Session`: create from model bytes with options, describe inputs and outputs,
//! run with feeds, release.

use crate::{js_error, panic, tensor};
use runnx_core::ir::graph::{Dim, TypeInfo};
use runnx_core::onnx::NoWeights;
use runnx_core::{IoInfo, SessionOptions};
use serde::{Deserialize, Serialize};
use wasm_bindgen::prelude::*;

/// Options of [`Session::create`] (every field optional).
#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct Options {
    /// Accepted for onnxruntime compatibility; kernels use the realm's one pool (built
    /// with `threads::PoolBuilder`; rayon cannot build per-session pools on wasm32), so
    /// only the threaded build, once that pool runs, uses more than one thread.
    threads: Option<usize>,
    /// Run runnx's graph optimisations (default true).
    optimize: Option<bool>,
    /// onnxruntime's names: 'verbose', 'info', 'warning' (default), 'error', 'fatal'.
    log_level: Option<String>,
}

#[derive(Clone, Copy, PartialEq, PartialOrd)]
enum LogLevel {
    Verbose,
    Info,
    Warning,
}

impl Options {
    fn log_level(&self) -> Result<LogLevel, JsError> {
        Ok(match self.log_level.as_deref() {
            Some("verbose") => LogLevel::Verbose,
            Some("info") => LogLevel::Info,
            None | Some("warning" | "error" | "fatal") => LogLevel::Warning,
            Some(other) => {
                return Err(JsError::new(&format!(
                "logLevel must be 'verbose', 'info', 'warning', 'error' or 'fatal', got '{other}'"
            )))
            }
        })
    }
}

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_namespace = console, js_name = log)]
    fn console_log(msg: &str);
    #[wasm_bindgen(js_namespace = Date, js_name = now)]
    fn date_now() -> f64;
}

/// One input or output as onnxruntime's `inputMetadata` describes it: `type` and
/// `shape` (sizes, symbolic names, or null for unknown) for tensors; `kind` says
/// 'tensor', 'sequence', 'optional' or 'map', `element` describes what a sequence
/// or optional holds.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Metadata {
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<String>,
    is_tensor: bool,
    kind: &'static str,
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    ty: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    shape: Option<Vec<DimJs>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    element: Option<Box<Metadata>>,
}

#[derive(Serialize)]
#[serde(untagged)]
enum DimJs {
    Size(usize),
    Symbol(String),
    Unknown(Option<()>),
}

fn metadata(name: Option<&str>, ty: &TypeInfo) -> Metadata {
    let mut m = Metadata {
        name: name.map(str::to_string),
        is_tensor: false,
        kind: "map",
        ty: None,
        shape: None,
        element: None,
    };
    match ty {
        TypeInfo::Tensor { dtype, shape } => {
            m.is_tensor = true;
            m.kind = "tensor";
            m.ty = dtype.map(tensor::type_name);
            m.shape = shape.as_ref().map(|dims| {
                dims.iter()
                    .map(|d| match d {
                        Dim::Fixed(n) => DimJs::Size(*n),
                        Dim::Symbol(s) => DimJs::Symbol(s.clone()),
                        Dim::Unknown => DimJs::Unknown(None),
                    })
                    .collect()
            });
        }
        TypeInfo::Sequence(item) => {
            m.kind = "sequence";
            m.element = Some(Box::new(metadata(None, item)));
        }
        TypeInfo::Optional(inner) => {
            m.kind = "optional";
            m.element = Some(Box::new(metadata(None, inner)));
        }
        _ => {}
    }
    m
}

#[wasm_bindgen]
pub struct Session {
    inner: Option<runnx_core::Session>,
    log: bool,
}

#[wasm_bindgen]
impl Session {
    /// Load and plan a model. `options`: `{ threads, optimize, logLevel }` (or undefined).
    /// The bytes are copied into WebAssembly memory once (`Vec<u8>`) and weights stay
    /// views into that copy.
    pub fn create(model: Vec<u8>, options: JsValue) -> Result<Session, JsError> {
        panic::check()?;
        let opts: Options = if options.is_undefined() || options.is_null() {
            Options::default()
        } else {
            serde_wasm_bindgen::from_value(options)
                .map_err(|e| JsError::new(&format!("invalid session options: {e}")))?
        };
        let level = opts.log_level()?;
        let session_options = SessionOptions {
            threads: opts.threads.unwrap_or(0),
            optimize: opts.optimize.unwrap_or(true),
        };
        let t0 = date_now();
        let model_len = model.len();
        let inner = runnx_core::Session::from_bytes(model, &NoWeights, &session_options)
            .map_err(js_error)?;
        if level <= LogLevel::Info {
            console_log(&format!(
                "runnx: model of {} bytes planned in {:.1} ms: {} steps, {} thread(s), gemm {}",
                model_len,
                date_now() - t0,
                inner.plan_len(),
                inner.threads(),
                runnx_cpu::gemm::kernel_name()
            ));
        }
        Ok(Session {
            inner: Some(inner),
            log: level <= LogLevel::Verbose,
        })
    }

    fn session(&self) -> Result<&runnx_core::Session, JsError> {
        panic::check()?;
        self.inner
            .as_ref()
            .ok_or_else(|| JsError::new("this session has been released"))
    }

    #[wasm_bindgen(getter, js_name = inputNames)]
    pub fn input_names(&self) -> Result<Vec<String>, JsError> {
        Ok(names(self.session()?.inputs()))
    }

    #[wasm_bindgen(getter, js_name = outputNames)]
    pub fn output_names(&self) -> Result<Vec<String>, JsError> {
        Ok(names(self.session()?.outputs()))
    }

    #[wasm_bindgen(getter, js_name = inputMetadata)]
    pub fn input_metadata(&self) -> Result<JsValue, JsError> {
        describe(self.session()?.inputs())
    }

    #[wasm_bindgen(getter, js_name = outputMetadata)]
    pub fn output_metadata(&self) -> Result<JsValue, JsError> {
        describe(self.session()?.outputs())
    }

    /// Run with `feeds` (`{ inputName: tensor, ... }`); returns `{ outputName: value }`.
    pub fn run(&self, feeds: JsValue) -> Result<JsValue, JsError> {
        let session = self.session()?;
        if !feeds.is_object() {
            return Err(JsError::new(
                "feeds must be an object { inputName: tensor }",
            ));
        }
        let entries = js_sys::Object::entries(feeds.unchecked_ref());
        let mut values = Vec::with_capacity(entries.length() as usize);
        for entry in entries.iter() {
            let pair: js_sys::Array = entry.unchecked_into();
            let name = pair.get(0).as_string().unwrap_or_default();
            // Unknown names pass through: the session reports them with the input list.
            let ty = session.inputs().iter().find(|i| i.name == name).map_or(
                TypeInfo::Tensor {
                    dtype: None,
                    shape: None,
                },
                |i| i.ty.clone(),
            );
            let what = format!("input '{name}'");
            values.push((
                name,
                tensor::from_js(&pair.get(1), &ty, &what).map_err(js_error)?,
            ));
        }
        let t0 = date_now();
        let outs = session.run(values).map_err(js_error)?;
        if self.log {
            console_log(&format!("runnx: run took {:.2} ms", date_now() - t0));
        }
        let result = js_sys::Object::new();
        for (info, v) in session.outputs().iter().zip(&outs) {
            js_sys::Reflect::set(
                &result,
                &JsValue::from_str(&info.name),
                &tensor::to_js(v).map_err(js_error)?,
            )
            .map_err(|_| JsError::new("cannot build the result object"))?;
        }
        Ok(result.into())
    }

    /// Free the model and plan now (the object itself is freed by `free()` or GC).
    pub fn release(&mut self) {
        self.inner = None;
    }
}

fn names(infos: &[IoInfo]) -> Vec<String> {
    infos.iter().map(|i| i.name.clone()).collect()
}

fn describe(infos: &[IoInfo]) -> Result<JsValue, JsError> {
    let list: Vec<Metadata> = infos
        .iter()
        .map(|i| metadata(Some(&i.name), &i.ty))
        .collect();
    serde_wasm_bindgen::to_value(&list).map_err(js_error)
}
