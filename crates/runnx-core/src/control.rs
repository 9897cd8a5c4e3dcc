//! Control flow: If, Loop, Scan and SequenceMap run subgraph plans, so they live
//! in the engine rather than in a backend.

use crate::exec::Bindings;
use crate::plan::{Compiler, Plan};
use runnx_ir::{
    bail, ensure, kernel, DType, Error, Inputs, Kernel, NodeCtx, Result, Tensor, Value,
};
use std::collections::HashMap;
use std::sync::Arc;

/// Compile a control-flow node, or `Ok(None)` if the node is not one.
pub fn compile(
    c: &Compiler,
    ctx: &NodeCtx,
    captured: &[String],
    scope: &dyn Fn(&str) -> bool,
) -> Result<Option<Box<dyn Kernel>>> {
    if !ctx.node.domain.is_empty() {
        return Ok(None);
    }
    let sub = |attr: &str| -> Result<Arc<Plan>> {
        let g = ctx.require(attr, ctx.attr_graph_opt(attr))?;
        c.compile(&g, scope)
            .map(Arc::new)
            .map_err(|e| Error::invalid(format!("subgraph '{attr}': {e}")))
    };
    let body = Body {
        regular: ctx.node.inputs.len(),
        captured: captured.to_vec(),
    };
    Ok(Some(match ctx.node.op_type.as_str() {
        "If" => {
            let (then_b, else_b) = (sub("then_branch")?, sub("else_branch")?);
            kernel(move |i| {
                let cond = i.tensor(0)?;
                let take = cond.cast(DType::Bool)?.scalar_value::<bool>()?;
                let branch = if take { &then_b } else { &else_b };
                run(branch, vec![], &body.captures(i)?)
            })
        }
        "Loop" => {
            let plan = sub("body")?;
            kernel(move |i| run_loop(&plan, i, &body))
        }
        "Scan" => {
            let plan = sub("body")?;
            let attrs = ScanAttrs::parse(ctx, plan.outputs.len())?;
            kernel(move |i| attrs.run(&plan, i, &body))
        }
        "SequenceMap" => {
            let plan = sub("body")?;
            kernel(move |i| sequence_map(&plan, i, &body))
        }
        _ => return Ok(None),
    }))
}

/// How a control node's inputs split into its own and the captured outer values.
struct Body {
    regular: usize,
    captured: Vec<String>,
}

impl Body {
    fn captures<'a>(&self, i: &Inputs<'a>) -> Result<HashMap<&str, &'a Value>> {
        let mut m = HashMap::new();
        for (k, name) in self.captured.iter().enumerate() {
            if let Some(v) = i.opt_value(self.regular + k) {
                m.insert(name.as_str(), v);
            }
        }
        Ok(m)
    }
}

/// Run a subgraph plan with its formal inputs and captured outer values.
fn run(plan: &Plan, inputs: Vec<Value>, captured: &HashMap<&str, &Value>) -> Result<Vec<Value>> {
    ensure!(
        inputs.len() == plan.inputs.len(),
        "subgraph takes {} inputs, given {}",
        plan.inputs.len(),
        inputs.len()
    );
    let mut b: Bindings = plan.bindings();
    for ((_, slot), v) in plan.inputs.iter().zip(inputs) {
        b.values[*slot] = Some(v);
    }
    for (name, slot) in &plan.captures {
        let v = captured.get(name.as_str()).ok_or_else(|| {
            Error::invalid(format!("subgraph reads '{name}', which has no value"))
        })?;
        b.values[*slot] = Some((*v).clone());
    }
    plan.execute(b, &mut ())
}

/// Stack per-iteration tensors along a new axis 0 (empty when nothing ran).
fn stack_or_empty(parts: Vec<Value>, plan: &Plan, output: usize) -> Result<Value> {
    if parts.is_empty() {
        let _ = (plan, output);
        return Ok(Value::Tensor(Tensor::zeros(DType::F32, vec![0])?));
    }
    let tensors = parts
        .into_iter()
        .map(Value::into_tensor)
        .collect::<Result<Vec<_>>>()?;
    Ok(Value::Tensor(Tensor::stack(&tensors, 0)?))
}

fn run_loop(plan: &Plan, i: &Inputs, body: &Body) -> Result<Vec<Value>> {
    let max_trip = match i.opt_tensor(0)? {
        Some(t) => Some(
            t.to_i64_vec()?
                .first()
                .copied()
                .ok_or_else(|| Error::invalid("empty trip count"))?,
        ),
        None => None,
    };
    let mut cond = match i.opt_tensor(1)? {
        Some(t) => t.cast(DType::Bool)?.scalar_value::<bool>()?,
        None => true,
    };
    let mut carried: Vec<Value> = (2..body.regular)
        .map(|k| i.value(k).cloned())
        .collect::<Result<_>>()?;
    let n_carried = carried.len();
    let n_scan = plan
        .outputs
        .len()
        .checked_sub(1 + n_carried)
        .ok_or_else(|| {
            Error::invalid(format!(
                "loop body has {} outputs, needs at least {}",
                plan.outputs.len(),
                1 + n_carried
            ))
        })?;
    let captured = body.captures(i)?;
    let mut scans: Vec<Vec<Value>> = vec![Vec::new(); n_scan];
    let mut iter: i64 = 0;
    while cond && max_trip.is_none_or(|m| iter < m) {
        let mut ins = vec![
            Value::Tensor(Tensor::scalar(iter)),
            Value::Tensor(Tensor::scalar(cond)),
        ];
        ins.extend(carried.iter().cloned());
        let mut outs = run(plan, ins, &captured)?.into_iter();
        let next_cond = outs
            .next()
            .ok_or_else(|| Error::invalid("loop body produced no condition"))?;
        cond = next_cond
            .as_tensor()?
            .cast(DType::Bool)?
            .scalar_value::<bool>()?;
        for c in carried.iter_mut() {
            *c = outs
                .next()
                .ok_or_else(|| Error::invalid("loop body produced too few outputs"))?;
        }
        for s in scans.iter_mut() {
            s.push(
                outs.next()
                    .ok_or_else(|| Error::invalid("loop body produced too few outputs"))?,
            );
        }
        iter += 1;
    }
    let mut result = carried;
    for (k, s) in scans.into_iter().enumerate() {
        result.push(stack_or_empty(s, plan, 1 + n_carried + k)?);
    }
    Ok(result)
}

struct ScanAttrs {
    legacy: bool,
    num_scan_inputs: usize,
    input_axes: Vec<i64>,
    input_reverse: Vec<bool>,
    output_axes: Vec<i64>,
    output_reverse: Vec<bool>,
}

impl ScanAttrs {
    fn parse(ctx: &NodeCtx, body_outputs: usize) -> Result<ScanAttrs> {
        let n = ctx.require("num_scan_inputs", ctx.attr_int_opt("num_scan_inputs"))?;
        ensure!(n >= 0, "num_scan_inputs must not be negative");
        let n = n as usize;
        let legacy = ctx.opset < 9;
        let dirs = |name: &str| -> Result<Vec<bool>> {
            Ok(ctx
                .attr_ints_opt(name)?
                .unwrap_or_default()
                .iter()
                .map(|&d| d == 1)
                .collect())
        };
        let input_reverse = if legacy {
            dirs("directions")?
        } else {
            dirs("scan_input_directions")?
        };
        let _ = body_outputs;
        Ok(ScanAttrs {
            legacy,
            num_scan_inputs: n,
            input_axes: ctx.attr_ints_opt("scan_input_axes")?.unwrap_or_default(),
            input_reverse,
            output_axes: ctx.attr_ints_opt("scan_output_axes")?.unwrap_or_default(),
            output_reverse: dirs("scan_output_directions")?,
        })
    }

    fn run(&self, plan: &Plan, i: &Inputs, body: &Body) -> Result<Vec<Value>> {
        let captured = body.captures(i)?;
        if !self.legacy {
            let all: Vec<Tensor> = (0..body.regular)
                .map(|k| i.tensor(k).cloned())
                .collect::<Result<_>>()?;
            return self.scan(plan, &all, &captured);
        }
        // Opset 8: an optional sequence_lens input, then every tensor has a batch axis 0.
        let all: Vec<Tensor> = (1..body.regular)
            .map(|k| i.tensor(k).cloned())
            .collect::<Result<_>>()?;
        ensure!(
            i.opt_tensor(0)?.is_none(),
            "Scan-8 with sequence_lens is not supported"
        );
        let batch = all
            .first()
            .map(|t| t.shape().first().copied().unwrap_or(0))
            .unwrap_or(0);
        let mut per_batch: Vec<Vec<Value>> = Vec::new();
        for b in 0..batch {
            let slice = all
                .iter()
                .map(|t| t.index_axis(0, b))
                .collect::<Result<Vec<_>>>()?;
            per_batch.push(self.scan(plan, &slice, &captured)?);
        }
        let n_out = plan.outputs.len();
        (0..n_out)
            .map(|k| stack_or_empty(per_batch.iter().map(|o| o[k].clone()).collect(), plan, k))
            .collect()
    }

    fn scan(
        &self,
        plan: &Plan,
        all: &[Tensor],
        captured: &HashMap<&str, &Value>,
    ) -> Result<Vec<Value>> {
        let n_scan = self.num_scan_inputs;
        let n_state = all
            .len()
            .checked_sub(n_scan)
            .ok_or_else(|| Error::invalid("Scan has fewer inputs than num_scan_inputs"))?;
        let (states, scan_in) = all.split_at(n_state);
        let axis_of = |list: &[i64], k: usize, rank: usize| -> Result<usize> {
            let a = list.get(k).copied().unwrap_or(0);
            let r = rank as i64;
            ensure!(
                a >= -r && a < r.max(1),
                "scan axis {} out of range for rank {}",
                a,
                rank
            );
            Ok(if a < 0 { (a + r) as usize } else { a as usize })
        };
        let mut len: Option<usize> = None;
        let mut in_axes = Vec::new();
        for (k, t) in scan_in.iter().enumerate() {
            let ax = axis_of(&self.input_axes, k, t.rank())?;
            let d = t.shape().get(ax).copied().unwrap_or(0);
            ensure!(
                len.is_none_or(|l| l == d),
                "scan inputs have different lengths"
            );
            len = Some(d);
            in_axes.push(ax);
        }
        let len = len.unwrap_or(0);
        let mut state: Vec<Value> = states.iter().cloned().map(Value::Tensor).collect();
        let n_out_scan = plan
            .outputs
            .len()
            .checked_sub(n_state)
            .ok_or_else(|| Error::invalid("scan body has too few outputs"))?;
        let mut outs: Vec<Vec<Tensor>> = vec![Vec::new(); n_out_scan];
        for step in 0..len {
            let mut ins = state.clone();
            for (k, t) in scan_in.iter().enumerate() {
                let idx = if self.input_reverse.get(k).copied().unwrap_or(false) {
                    len - 1 - step
                } else {
                    step
                };
                ins.push(Value::Tensor(t.index_axis(in_axes[k], idx)?));
            }
            let mut res = run(plan, ins, captured)?.into_iter();
            for s in state.iter_mut() {
                *s = res
                    .next()
                    .ok_or_else(|| Error::invalid("scan body produced too few outputs"))?;
            }
            for o in outs.iter_mut() {
                o.push(
                    res.next()
                        .ok_or_else(|| Error::invalid("scan body produced too few outputs"))?
                        .into_tensor()?,
                );
            }
        }
        let mut result = state;
        for (k, mut parts) in outs.into_iter().enumerate() {
            if parts.is_empty() {
                result.push(Value::Tensor(Tensor::zeros(DType::F32, vec![0])?));
                continue;
            }
            if self.output_reverse.get(k).copied().unwrap_or(false) {
                parts.reverse();
            }
            let rank = parts[0].rank() + 1;
            let ax = axis_of(&self.output_axes, k, rank)?;
            result.push(Value::Tensor(Tensor::stack(&parts, ax)?));
        }
        Ok(result)
    }
}

fn sequence_map(plan: &Plan, i: &Inputs, body: &Body) -> Result<Vec<Value>> {
    let captured = body.captures(i)?;
    let first = i.value(0)?.as_sequence()?;
    let extra: Vec<&Value> = (1..body.regular)
        .map(|k| i.value(k))
        .collect::<Result<_>>()?;
    for e in &extra {
        if let Value::Sequence(s) = e {
            ensure!(
                s.len() == first.len(),
                "SequenceMap inputs have different lengths"
            );
        }
    }
    let n_out = plan.outputs.len();
    let mut outs: Vec<Vec<Value>> = vec![Vec::new(); n_out];
    for (k, item) in first.iter().enumerate() {
        let mut ins = vec![item.clone()];
        for e in &extra {
            ins.push(match e {
                Value::Sequence(s) => s[k].clone(),
                Value::Tensor(t) => Value::Tensor(t.clone()),
                other => bail!("SequenceMap cannot take {}", other.kind()),
            });
        }
        for (o, v) in outs.iter_mut().zip(run(plan, ins, &captured)?) {
            o.push(v);
        }
    }
    Ok(outs.into_iter().map(Value::Sequence).collect())
}
