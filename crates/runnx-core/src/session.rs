//! A session: a model planned once, run many times (concurrently if wanted).

use crate::exec::StepObserver;
use crate::passes;
use crate::plan::{Compiler, Plan};
use bytes::Bytes;
use runnx_cpu::{par::Pool, CpuBackend};
use runnx_ir::buffers::{self, BufferPool};
use runnx_ir::graph::{Dim, Model, TypeInfo};
use runnx_ir::{Backend, Error, Result, Value};
use runnx_onnx::WeightSource;
use std::collections::HashMap;
use std::sync::Arc;

#[derive(Debug, Clone)]
pub struct SessionOptions {
    /// Threads for intra-op parallelism; 0 means one per core.
    pub threads: usize,
    /// Run the graph optimisation passes (constant folding, fusions, ...).
    pub optimize: bool,
}

impl Default for SessionOptions {
    fn default() -> Self {
        SessionOptions {
            threads: 0,
            optimize: true,
        }
    }
}

/// Name and declared type of a graph input or output.
#[derive(Debug, Clone)]
pub struct IoInfo {
    pub name: String,
    pub ty: TypeInfo,
}

pub struct Session {
    model: Model,
    plan: Plan,
    pool: Pool,
    /// Intermediate buffers freed by one step and reused by later ones (and runs).
    buffers: Arc<BufferPool>,
    inputs: Vec<IoInfo>,
    outputs: Vec<IoInfo>,
}

impl Session {
    /// Load and plan a model from its bytes; external data comes from `weights`.
    pub fn from_bytes(
        bytes: impl Into<Bytes>,
        weights: &dyn WeightSource,
        options: &SessionOptions,
    ) -> Result<Session> {
        let model = runnx_onnx::load_model(bytes.into(), weights)?;
        Session::from_model(model, options)
    }

    pub fn from_model(mut model: Model, options: &SessionOptions) -> Result<Session> {
        let backends: Vec<Arc<dyn Backend>> = vec![Arc::new(CpuBackend::new())];
        let inputs = model
            .graph
            .inputs
            .iter()
            .map(|v| IoInfo {
                name: v.name.clone(),
                ty: v.ty.clone(),
            })
            .collect();
        let outputs = model
            .graph
            .outputs
            .iter()
            .map(|v| IoInfo {
                name: v.name.clone(),
                ty: v.ty.clone(),
            })
            .collect();
        let compiler = Compiler {
            backends,
            opsets: model.opsets.clone(),
        };
        if options.optimize {
            let graph = passes::optimize(&model.graph, &compiler)?;
            model.graph = Arc::new(graph);
        }
        let plan = compiler.compile(&model.graph, &|_| false)?;
        Ok(Session {
            model,
            plan,
            pool: Pool::new(options.threads),
            buffers: BufferPool::new(),
            inputs,
            outputs,
        })
    }

    pub fn model(&self) -> &Model {
        &self.model
    }

    pub fn inputs(&self) -> &[IoInfo] {
        &self.inputs
    }

    pub fn outputs(&self) -> &[IoInfo] {
        &self.outputs
    }

    /// Threads this session's kernels may use.
    pub fn threads(&self) -> usize {
        self.pool.threads()
    }

    /// Number of steps (kernels) in the plan after optimisation.
    pub fn plan_len(&self) -> usize {
        self.plan.steps.len()
    }

    /// Run with named feeds; returns the graph outputs in declaration order.
    pub fn run(&self, feeds: Vec<(String, Value)>) -> Result<Vec<Value>> {
        self.run_observed(feeds, &mut ())
    }

    /// Like [`run`](Self::run), reporting each step to `observer` (profiling).
    pub fn run_observed(
        &self,
        feeds: Vec<(String, Value)>,
        observer: &mut (dyn StepObserver + Send),
    ) -> Result<Vec<Value>> {
        let mut b = self.plan.bindings();
        let mut symbols: HashMap<String, usize> = HashMap::new();
        let mut fed = vec![false; self.plan.inputs.len()];
        for (name, value) in feeds {
            if let Some(k) = self.plan.inputs.iter().position(|(n, _)| *n == name) {
                check_feed(&name, &value, &self.inputs[k].ty, &mut symbols)?;
                b.values[self.plan.inputs[k].1] = Some(value);
                fed[k] = true;
            } else if let Some((_, slot)) = self.plan.overridable.iter().find(|(n, _)| *n == name) {
                b.values[*slot] = Some(value);
            } else {
                let names: Vec<&str> = self.inputs.iter().map(|i| i.name.as_str()).collect();
                return Err(Error::Input(format!(
                    "'{name}' is not an input of this model (inputs: {})",
                    names.join(", ")
                )));
            }
        }
        if let Some(k) = fed.iter().position(|f| !f) {
            return Err(Error::Input(format!(
                "missing input '{}' ({})",
                self.inputs[k].name, self.inputs[k].ty
            )));
        }
        self.pool
            .install(|| buffers::scope(&self.buffers, || self.plan.execute(b, observer)))
    }
}

/// A feed must match the declared type: element type, rank and fixed dimensions,
/// and a symbolic dimension must have one size across all feeds of a run.
fn check_feed(
    name: &str,
    value: &Value,
    ty: &TypeInfo,
    symbols: &mut HashMap<String, usize>,
) -> Result<()> {
    let mismatch = |what: String| {
        Err(Error::Input(format!(
            "input '{name}': expected {ty}, got {what}"
        )))
    };
    match (ty, value) {
        (TypeInfo::Tensor { dtype, shape }, Value::Tensor(t)) => {
            if dtype.is_some_and(|d| d != t.dtype()) {
                return mismatch(value.kind());
            }
            if let Some(dims) = shape {
                if dims.len() != t.rank() {
                    return mismatch(value.kind());
                }
                for (d, &actual) in dims.iter().zip(t.shape()) {
                    match d {
                        Dim::Fixed(n) if *n != actual => return mismatch(value.kind()),
                        Dim::Symbol(s) => {
                            let bound = *symbols.entry(s.clone()).or_insert(actual);
                            if bound != actual {
                                return Err(Error::Input(format!(
                                    "input '{name}': dimension '{s}' is {actual} here but {bound} in another input"
                                )));
                            }
                        }
                        _ => {}
                    }
                }
            }
            Ok(())
        }
        (TypeInfo::Tensor { .. }, other) => mismatch(other.kind()),
        (TypeInfo::Sequence(_), Value::Sequence(_))
        | (TypeInfo::Optional(_), Value::Optional(_)) => Ok(()),
        (TypeInfo::Sequence(_), other) => mismatch(other.kind()),
        _ => Ok(()),
    }
}
