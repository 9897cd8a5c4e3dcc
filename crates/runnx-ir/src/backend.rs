//! The contract between the engine and its backends.
//!
//! A backend compiles a node (its attributes and opset known, shapes known at
//! run time) into a [`Kernel`]; the engine owns scheduling and values.

use crate::attr::Attribute;
use crate::error::{Error, Result};
use crate::graph::{Graph, Node};
use crate::tensor::Tensor;
use crate::value::Value;
use std::sync::Arc;

/// What a backend sees of a node when compiling it.
pub struct NodeCtx<'a> {
    pub node: &'a Node,
    /// Opset version of the node's domain.
    pub opset: i64,
}

macro_rules! attr_getter {
    ($opt:ident, $get:ident, $variant:ident, $t:ty, $conv:expr, $what:literal) => {
        /// The attribute if present; an error if it has another type.
        pub fn $opt(&self, name: &str) -> Result<Option<$t>> {
            match self.node.attr(name) {
                None => Ok(None),
                Some(Attribute::$variant(v)) => Ok(Some($conv(v))),
                Some(other) => Err(Error::invalid(format!(
                    "attribute '{name}' must be {}, got {}",
                    $what,
                    other.type_name()
                ))),
            }
        }

        /// The attribute, or `default` when absent.
        pub fn $get(&self, name: &str, default: $t) -> Result<$t> {
            Ok(self.$opt(name)?.unwrap_or(default))
        }
    };
}

impl<'a> NodeCtx<'a> {
    attr_getter!(attr_int_opt, attr_int, Int, i64, |v: &i64| *v, "an int");
    attr_getter!(
        attr_float_opt,
        attr_float,
        Float,
        f32,
        |v: &f32| *v,
        "a float"
    );
    attr_getter!(
        attr_ints_opt,
        attr_ints,
        Ints,
        Vec<i64>,
        |v: &Vec<i64>| v.clone(),
        "a list of ints"
    );
    attr_getter!(
        attr_floats_opt,
        attr_floats,
        Floats,
        Vec<f32>,
        |v: &Vec<f32>| v.clone(),
        "a list of floats"
    );
    attr_getter!(
        attr_tensor_opt,
        attr_tensor,
        Tensor,
        Tensor,
        |v: &Tensor| v.clone(),
        "a tensor"
    );
    attr_getter!(
        attr_graph_opt,
        attr_graph,
        Graph,
        Arc<Graph>,
        |v: &Arc<Graph>| v.clone(),
        "a graph"
    );

    /// A string attribute (UTF-8), or `default` when absent.
    pub fn attr_str(&self, name: &str, default: &str) -> Result<String> {
        Ok(self
            .attr_str_opt(name)?
            .unwrap_or_else(|| default.to_string()))
    }

    pub fn attr_str_opt(&self, name: &str) -> Result<Option<String>> {
        match self.node.attr(name) {
            None => Ok(None),
            Some(Attribute::String(b)) => String::from_utf8(b.clone())
                .map(Some)
                .map_err(|_| Error::invalid(format!("attribute '{name}' is not UTF-8"))),
            Some(other) => Err(Error::invalid(format!(
                "attribute '{name}' must be a string, got {}",
                other.type_name()
            ))),
        }
    }

    pub fn attr_strings_opt(&self, name: &str) -> Result<Option<Vec<String>>> {
        match self.node.attr(name) {
            None => Ok(None),
            Some(Attribute::Strings(v)) => v
                .iter()
                .map(|b| String::from_utf8(b.clone()))
                .collect::<Result<Vec<_>, _>>()
                .map(Some)
                .map_err(|_| Error::invalid(format!("attribute '{name}' is not UTF-8"))),
            Some(other) => Err(Error::invalid(format!(
                "attribute '{name}' must be a list of strings, got {}",
                other.type_name()
            ))),
        }
    }

    /// A required attribute: error if absent.
    pub fn require<T>(&self, name: &str, v: Result<Option<T>>) -> Result<T> {
        v?.ok_or_else(|| Error::invalid(format!("missing required attribute '{name}'")))
    }

    /// Number of inputs the node names (including omitted optional ones).
    pub fn input_count(&self) -> usize {
        self.node.inputs.len()
    }

    /// Whether input `i` is given (named and not "").
    pub fn has_input(&self, i: usize) -> bool {
        self.node.inputs.get(i).is_some_and(|n| !n.is_empty())
    }

    pub fn output_count(&self) -> usize {
        self.node.outputs.len()
    }
}

/// The values a kernel receives, with accessors that produce clear errors.
pub struct Inputs<'a> {
    values: &'a [Option<&'a Value>],
}

impl<'a> Inputs<'a> {
    pub fn new(values: &'a [Option<&'a Value>]) -> Self {
        Inputs { values }
    }

    pub fn len(&self) -> usize {
        self.values.len()
    }

    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// Input `i`, or `None` when omitted.
    pub fn opt_value(&self, i: usize) -> Option<&'a Value> {
        self.values.get(i).copied().flatten()
    }

    pub fn value(&self, i: usize) -> Result<&'a Value> {
        self.opt_value(i)
            .ok_or_else(|| Error::invalid(format!("input {i} is required")))
    }

    pub fn tensor(&self, i: usize) -> Result<&'a Tensor> {
        self.value(i)?
            .as_tensor()
            .map_err(|e| Error::invalid(format!("input {i}: {e}")))
    }

    pub fn opt_tensor(&self, i: usize) -> Result<Option<&'a Tensor>> {
        match self.opt_value(i) {
            None => Ok(None),
            Some(v) => v
                .as_tensor()
                .map(Some)
                .map_err(|e| Error::invalid(format!("input {i}: {e}"))),
        }
    }

    /// All given inputs from `start` on, as tensors (variadic ops).
    pub fn tensors_from(&self, start: usize) -> Result<Vec<&'a Tensor>> {
        (start..self.len()).map(|i| self.tensor(i)).collect()
    }
}

/// A compiled node, ready to run on concrete inputs.
pub trait Kernel: Send + Sync {
    fn run(&self, inputs: &Inputs) -> Result<Vec<Value>>;
}

struct FnKernel<F>(F);

impl<F> Kernel for FnKernel<F>
where
    F: Fn(&Inputs) -> Result<Vec<Value>> + Send + Sync,
{
    fn run(&self, inputs: &Inputs) -> Result<Vec<Value>> {
        (self.0)(inputs)
    }
}

/// A kernel from a closure.
pub fn kernel<F>(f: F) -> Box<dyn Kernel>
where
    F: Fn(&Inputs) -> Result<Vec<Value>> + Send + Sync + 'static,
{
    Box::new(FnKernel(f))
}

/// A place nodes run: the CPU (always), a GPU, ...
pub trait Backend: Send + Sync {
    fn name(&self) -> &'static str;
    /// Compile the node, or `Ok(None)` if this backend has no kernel for it.
    fn compile(&self, ctx: &NodeCtx) -> Result<Option<Box<dyn Kernel>>>;
}
