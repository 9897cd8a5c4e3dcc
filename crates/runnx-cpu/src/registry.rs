//! The operator table: (domain, op type, opset range) -> kernel constructor.

use runnx_ir::{Kernel, NodeCtx, Result};
use std::collections::HashMap;

pub type Build = fn(&NodeCtx) -> Result<Box<dyn Kernel>>;

#[derive(Clone)]
pub struct OpEntry {
    pub domain: &'static str,
    pub op_type: &'static str,
    /// Oldest opset this constructor handles (it reads `ctx.opset` for older behaviour).
    pub since: i64,
    pub build: Build,
}

#[derive(Default)]
pub struct Registry {
    ops: HashMap<(String, String), Vec<OpEntry>>,
}

impl Registry {
    pub fn with_all_ops() -> Registry {
        let mut r = Registry::default();
        crate::ops::register_all(&mut r);
        r
    }

    /// Register an op of the default ONNX domain for all opsets.
    pub fn add(&mut self, op_type: &'static str, build: Build) {
        self.add_in("", op_type, 1, build);
    }

    /// Register an op of a domain, from opset `since` on (newer entries win).
    pub fn add_in(
        &mut self,
        domain: &'static str,
        op_type: &'static str,
        since: i64,
        build: Build,
    ) {
        let list = self
            .ops
            .entry((domain.to_string(), op_type.to_string()))
            .or_default();
        list.push(OpEntry {
            domain,
            op_type,
            since,
            build,
        });
        list.sort_by_key(|e| std::cmp::Reverse(e.since));
    }

    pub fn find(&self, domain: &str, op_type: &str, opset: i64) -> Option<&OpEntry> {
        let list = self.ops.get(&(domain.to_string(), op_type.to_string()))?;
        list.iter().find(|e| e.since <= opset).or(list.last())
    }

    /// Every registered (domain, op type), sorted.
    pub fn entries(&self) -> Vec<&OpEntry> {
        let mut v: Vec<&OpEntry> = self.ops.values().filter_map(|l| l.last()).collect();
        v.sort_by_key(|e| (e.domain, e.op_type));
        v
    }
}
