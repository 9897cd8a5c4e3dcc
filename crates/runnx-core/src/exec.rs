//! Running a plan: fill the slots, run each step, hand back the outputs.

use crate::plan::Plan;
use runnx_ir::{Error, Inputs, Result, Value};
use std::panic::{catch_unwind, AssertUnwindSafe};

/// Observes each step (for profiling); `()` observes nothing.
pub trait StepObserver {
    fn step(&mut self, _op: &str, _node: &str, _seconds: f64) {}
}

impl StepObserver for () {}

/// Values bound to a plan's inputs and captures, by slot.
pub struct Bindings {
    pub values: Vec<Option<Value>>,
}

impl Plan {
    /// Fresh slots with the constants in place.
    pub fn bindings(&self) -> Bindings {
        let mut values: Vec<Option<Value>> = vec![None; self.slots];
        for (slot, v) in &self.consts {
            values[*slot] = Some(v.clone());
        }
        Bindings { values }
    }

    /// Run all steps; returns the graph outputs in order.
    pub fn execute(&self, mut b: Bindings, observer: &mut dyn StepObserver) -> Result<Vec<Value>> {
        let values = &mut b.values;
        for step in &self.steps {
            let start = observer_clock();
            let outs = {
                let ins: Vec<Option<&Value>> = step
                    .inputs
                    .iter()
                    .map(|s| s.and_then(|s| values[s].as_ref()))
                    .collect();
                if let Some(pos) = step
                    .inputs
                    .iter()
                    .zip(&ins)
                    .position(|(s, v)| s.is_some() && v.is_none())
                {
                    return Err(Error::Node {
                        node: step.node.clone(),
                        op: step.op.clone(),
                        msg: format!(
                            "input {pos} has no value (an optional output that was not produced?)"
                        ),
                    });
                }
                let inputs = Inputs::new(&ins);
                match catch_unwind(AssertUnwindSafe(|| step.kernel.run(&inputs))) {
                    Ok(r) => r.map_err(|e| e.at_node(&step.node, &step.op))?,
                    Err(panic) => {
                        return Err(Error::Node {
                            node: step.node.clone(),
                            op: step.op.clone(),
                            msg: format!("internal error: {}", panic_message(&panic)),
                        })
                    }
                }
            };
            if outs.len()
                < step
                    .outputs
                    .iter()
                    .rposition(Option::is_some)
                    .map_or(0, |p| p + 1)
            {
                return Err(Error::Node {
                    node: step.node.clone(),
                    op: step.op.clone(),
                    msg: format!(
                        "produced {} outputs, the graph expects {}",
                        outs.len(),
                        step.outputs.len()
                    ),
                });
            }
            for (slot, v) in step.outputs.iter().zip(outs) {
                if let Some(s) = slot {
                    values[*s] = Some(v);
                }
            }
            for s in &step.frees {
                if let Some(v) = values[*s].take() {
                    runnx_ir::buffers::recycle(v);
                }
            }
            if let Some(start) = start {
                observer.step(&step.op, &step.node, start.elapsed().as_secs_f64());
            }
        }
        self.outputs
            .iter()
            .map(|(name, s)| {
                values[*s]
                    .clone()
                    .ok_or_else(|| Error::Model(format!("graph output '{name}' was not produced")))
            })
            .collect()
    }
}

#[cfg(not(target_arch = "wasm32"))]
fn observer_clock() -> Option<std::time::Instant> {
    Some(std::time::Instant::now())
}

#[cfg(target_arch = "wasm32")]
fn observer_clock() -> Option<std::time::Instant> {
    None
}

pub fn panic_message(p: &Box<dyn std::any::Any + Send>) -> String {
    if let Some(s) = p.downcast_ref::<&str>() {
        s.to_string()
    } else if let Some(s) = p.downcast_ref::<String>() {
        s.clone()
    } else {
        "panic".to_string()
    }
}
