//! The native session and the two tasks that run on the libuv pool: load and run.
//! The JavaScript thread only converts arguments and results.

use crate::convert::{feed_to_value, value_to_output, Feed, Output};
use crate::guard::guarded;
use napi::bindgen_prelude::{AsyncTask, Either, Uint8Array};
use napi::{Env, Task};
use runnx_core::ir::graph::{Dim, TypeInfo};
use runnx_core::onnx::{DirWeights, NoWeights};
use runnx_core::{Error, IoInfo, SessionOptions, Value};
use std::path::Path;
use std::sync::Arc;

/// Options the JavaScript layer resolved from onnxruntime-style session options.
#[napi(object)]
pub struct NativeOptions {
    /// Intra-op threads; 0 = one per core.
    pub threads: u32,
    /// Run the graph optimisation passes.
    pub optimize: bool,
}

/// What the JavaScript layer needs to know about a graph input or output.
#[napi(object)]
pub struct ValueInfo {
    pub name: String,
    pub is_tensor: bool,
    /// onnxruntime's element type name; absent when unknown or not a tensor.
    #[napi(js_name = "type")]
    pub kind: Option<String>,
    /// Dimensions: a number, a symbol's name, or null when unknown; absent when the rank is unknown.
    pub shape: Option<Vec<Either<f64, Option<String>>>>,
}

#[napi]
pub struct NativeSession {
    inner: Option<Arc<runnx_core::Session>>,
}

#[napi]
impl NativeSession {
    #[napi(getter)]
    pub fn inputs(&self) -> napi::Result<Vec<ValueInfo>> {
        let s = self.session()?;
        guarded(|| Ok(s.inputs().iter().map(value_info).collect()))
    }

    #[napi(getter)]
    pub fn outputs(&self) -> napi::Result<Vec<ValueInfo>> {
        let s = self.session()?;
        guarded(|| Ok(s.outputs().iter().map(value_info).collect()))
    }

    /// Threads the session's kernels use.
    #[napi(getter)]
    pub fn threads(&self) -> napi::Result<u32> {
        Ok(self.session()?.threads() as u32)
    }

    /// Run on the libuv pool. `fetches` names the outputs to return (all when empty).
    #[napi(ts_return_type = "Promise<Output[]>")]
    pub fn run(&self, feeds: Vec<Feed>, fetches: Vec<String>) -> napi::Result<AsyncTask<RunTask>> {
        Ok(AsyncTask::new(RunTask {
            session: self.session()?,
            feeds: Some(feeds),
            fetches,
        }))
    }

    /// Drop this handle's reference; runs already started keep the model until they end.
    #[napi]
    pub fn release(&mut self) {
        self.inner = None;
    }

    fn session(&self) -> napi::Result<Arc<runnx_core::Session>> {
        self.inner
            .clone()
            .ok_or_else(|| napi::Error::from_reason("runnx: the session was released"))
    }
}

/// Load and plan a model on the libuv pool: from a file path (external data in its
/// folder) or from bytes (copied once: the session keeps views into them, and the
/// caller stays free to reuse the buffer).
#[napi(ts_return_type = "Promise<NativeSession>")]
pub fn create_session(
    source: Either<String, Uint8Array>,
    options: NativeOptions,
) -> AsyncTask<CreateTask> {
    let source = match source {
        Either::A(path) => Source::Path(path),
        Either::B(bytes) => Source::Bytes(bytes),
    };
    AsyncTask::new(CreateTask {
        source: Some(source),
        options: SessionOptions {
            threads: options.threads as usize,
            optimize: options.optimize,
        },
    })
}

enum Source {
    Path(String),
    /// Copied on the pool thread, not on the JavaScript thread.
    Bytes(Uint8Array),
}

pub struct CreateTask {
    source: Option<Source>,
    options: SessionOptions,
}

impl Task for CreateTask {
    type Output = runnx_core::Session;
    type JsValue = NativeSession;

    fn compute(&mut self) -> napi::Result<Self::Output> {
        let source = self.source.take();
        let options = &self.options;
        guarded(|| match source {
            Some(Source::Path(path)) => load_file(Path::new(&path), options),
            Some(Source::Bytes(bytes)) => {
                runnx_core::Session::from_bytes(bytes.to_vec(), &NoWeights, options)
            }
            None => Err(Error::invalid("the model source was already consumed")),
        })
    }

    fn resolve(&mut self, _env: Env, session: Self::Output) -> napi::Result<NativeSession> {
        Ok(NativeSession {
            inner: Some(Arc::new(session)),
        })
    }
}

fn load_file(path: &Path, options: &SessionOptions) -> Result<runnx_core::Session, Error> {
    let bytes = std::fs::read(path)
        .map_err(|e| Error::Model(format!("cannot read {}: {e}", path.display())))?;
    let folder = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    runnx_core::Session::from_bytes(bytes, &DirWeights::new(folder)?, options)
}

pub struct RunTask {
    session: Arc<runnx_core::Session>,
    feeds: Option<Vec<Feed>>,
    fetches: Vec<String>,
}

impl Task for RunTask {
    type Output = Vec<(String, Value)>;
    type JsValue = Vec<Output>;

    fn compute(&mut self) -> napi::Result<Self::Output> {
        let feeds = self.feeds.take().unwrap_or_default();
        let session = &self.session;
        let fetches = &self.fetches;
        guarded(|| {
            let feeds = feeds
                .into_iter()
                .map(feed_to_value)
                .collect::<Result<Vec<_>, _>>()?;
            let values = session.run(feeds)?;
            let named = session
                .outputs()
                .iter()
                .map(|info| info.name.clone())
                .zip(values)
                .filter(|(name, _)| fetches.is_empty() || fetches.contains(name))
                .collect();
            Ok(named)
        })
    }

    fn resolve(&mut self, _env: Env, outputs: Self::Output) -> napi::Result<Vec<Output>> {
        guarded(|| {
            outputs
                .into_iter()
                .map(|(name, value)| value_to_output(name, value))
                .collect()
        })
    }
}

fn value_info(info: &IoInfo) -> ValueInfo {
    let (is_tensor, kind, shape) = match &info.ty {
        TypeInfo::Tensor { dtype, shape } => (
            true,
            dtype.and_then(crate::convert::js_type).map(str::to_string),
            shape.as_ref().map(|dims| {
                dims.iter()
                    .map(|d| match d {
                        Dim::Fixed(n) => Either::A(*n as f64),
                        Dim::Symbol(s) => Either::B(Some(s.clone())),
                        Dim::Unknown => Either::B(None),
                    })
                    .collect()
            }),
        ),
        _ => (false, None, None),
    };
    ValueInfo {
        name: info.name.clone(),
        is_tensor,
        kind,
        shape,
    }
}
