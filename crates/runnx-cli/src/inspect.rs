//! `runnx inspect`: what a model is made of.

use crate::table::Table;
use runnx_core::ir::graph::Graph;
use std::collections::BTreeMap;
use std::path::Path;

pub fn inspect(path: &Path) -> Result<(), String> {
    let session = crate::open_session(path, 1)?;
    let model = session.model();
    println!("model      {}", path.display());
    println!(
        "producer   {}",
        if model.producer.is_empty() {
            "-"
        } else {
            &model.producer
        }
    );
    println!("ir version {}", model.ir_version);
    let mut opsets: Vec<String> = model
        .opsets
        .iter()
        .map(|(d, v)| format!("{}={v}", if d.is_empty() { "ai.onnx" } else { d }))
        .collect();
    opsets.sort();
    println!("opsets     {}", opsets.join(", "));
    println!();
    let mut io = Table::new(&["", "name", "type"]);
    for i in session.inputs() {
        io.row(vec!["input".into(), i.name.clone(), i.ty.to_string()]);
    }
    for o in session.outputs() {
        io.row(vec!["output".into(), o.name.clone(), o.ty.to_string()]);
    }
    print!("{}", io.render());

    // Histogram and parameters of the model as written (before optimisation).
    let bytes = std::fs::read(path).map_err(|e| e.to_string())?;
    let folder = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let weights = runnx_core::onnx::DirWeights::new(folder).map_err(|e| e.to_string())?;
    let original =
        runnx_core::onnx::load_model(bytes.into(), &weights).map_err(|e| e.to_string())?;
    let mut hist = BTreeMap::new();
    let (nodes, params) = census(&original.graph, &mut hist);
    println!();
    println!(
        "nodes      {nodes} ({} steps after optimisation)",
        session.plan_len()
    );
    println!("parameters {params} ({})", human(params));
    println!();
    let mut ops: Vec<(String, usize)> = hist.into_iter().collect();
    ops.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    let mut t = Table::new(&["operator", "count"]).right_align(&[1]);
    for (op, n) in ops {
        t.row(vec![op, n.to_string()]);
    }
    print!("{}", t.render());
    Ok(())
}

/// Node count and parameter count of a graph and its subgraphs.
fn census(g: &Graph, hist: &mut BTreeMap<String, usize>) -> (usize, usize) {
    let mut nodes = g.nodes.len();
    let mut params: usize = g.initializers.values().map(|t| t.len()).sum();
    for n in &g.nodes {
        let key = if n.domain.is_empty() {
            n.op_type.clone()
        } else {
            format!("{}:{}", n.domain, n.op_type)
        };
        *hist.entry(key).or_default() += 1;
        for sub in n.subgraphs() {
            let (a, b) = census(sub, hist);
            nodes += a;
            params += b;
        }
    }
    (nodes, params)
}

fn human(n: usize) -> String {
    match n {
        n if n >= 1_000_000 => format!("{:.1} M", n as f64 / 1e6),
        n if n >= 1_000 => format!("{:.1} k", n as f64 / 1e3),
        n => n.to_string(),
    }
}
