//! `runnx bench`: latency statistics and a per-operator profile.

use crate::inputs;
use crate::progress::Bar;
use crate::table::Table;
use runnx_core::alloc_meter::allocated_by;
use runnx_core::exec::StepObserver;
use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Instant;

#[derive(clap::Args)]
pub struct BenchArgs {
    model: PathBuf,
    /// Threads (0 = one per core).
    #[arg(long, default_value_t = 1)]
    threads: usize,
    /// Timed runs.
    #[arg(long, default_value_t = 20)]
    runs: usize,
    /// Untimed runs first.
    #[arg(long, default_value_t = 3)]
    warmup: usize,
    /// Size of a symbolic dimension: NAME=N.
    #[arg(long = "dim", value_name = "NAME=N")]
    dims: Vec<String>,
    /// Also list the N slowest nodes.
    #[arg(long, value_name = "N", default_value_t = 0)]
    nodes: usize,
    /// Input files in graph order (generated when absent).
    inputs: Vec<PathBuf>,
}

/// Seconds and calls per operator type, and seconds per node (with its op).
#[derive(Default)]
struct Profile {
    by_op: HashMap<String, (f64, usize)>,
    by_node: HashMap<String, (String, f64)>,
}

impl StepObserver for Profile {
    fn step(&mut self, op: &str, node: &str, seconds: f64) {
        let e = self.by_op.entry(op.to_string()).or_default();
        e.0 += seconds;
        e.1 += 1;
        let n = self
            .by_node
            .entry(node.to_string())
            .or_insert_with(|| (op.to_string(), 0.0));
        n.1 += seconds;
    }
}

pub fn bench(args: &BenchArgs) -> Result<(), String> {
    let session = crate::open_session(&args.model, args.threads)?;
    let feeds = inputs::feeds(&session, &args.inputs, &[], &args.dims, 0)?;
    // Two untimed runs measure what the first and a steady-state run allocate.
    let measured = || {
        let feeds = feeds.clone();
        allocated_by(|| session.run(feeds)).1
    };
    let first_bytes = measured();
    let steady_bytes = measured();
    let bar = Bar::new("warm-up", args.warmup);
    for i in 0..args.warmup {
        session.run(feeds.clone()).map_err(|e| e.to_string())?;
        bar.set(i + 1);
    }
    bar.finish();
    let runs = args.runs.max(1);
    let bar = Bar::new("timing", runs);
    let mut times = Vec::with_capacity(runs);
    let mut profile = Profile::default();
    for i in 0..runs {
        let t = Instant::now();
        session
            .run_observed(feeds.clone(), &mut profile)
            .map_err(|e| e.to_string())?;
        times.push(t.elapsed().as_secs_f64() * 1e3);
        bar.set(i + 1);
    }
    bar.finish();
    times.sort_by(f64::total_cmp);
    let median = times[times.len() / 2];
    println!("model    {}", args.model.display());
    println!("threads  {}", session.threads());
    println!("runs     {runs}");
    println!("median   {median:.3} ms");
    println!("min      {:.3} ms", times[0]);
    println!(
        "memory   first run allocates {}, later runs {} (outputs included)",
        human_bytes(first_bytes),
        human_bytes(steady_bytes)
    );
    println!();
    let total: f64 = profile.by_op.values().map(|v| v.0).sum();
    let mut ops: Vec<(String, (f64, usize))> = profile.by_op.into_iter().collect();
    ops.sort_by(|a, b| b.1 .0.total_cmp(&a.1 .0));
    let mut t = Table::new(&["operator", "calls/run", "ms/run", "share"]).right_align(&[1, 2, 3]);
    for (op, (secs, calls)) in ops {
        t.row(vec![
            op,
            (calls / runs).to_string(),
            format!("{:.3}", secs * 1e3 / runs as f64),
            format!("{:.1}%", 100.0 * secs / total.max(1e-12)),
        ]);
    }
    print!("{}", t.render());
    if args.nodes > 0 {
        let mut nodes: Vec<(String, (String, f64))> = profile.by_node.into_iter().collect();
        nodes.sort_by(|a, b| b.1 .1.total_cmp(&a.1 .1));
        let mut t = Table::new(&["node", "operator", "ms/run", "share"]).right_align(&[2, 3]);
        for (node, (op, secs)) in nodes.into_iter().take(args.nodes) {
            t.row(vec![
                node,
                op,
                format!("{:.3}", secs * 1e3 / runs as f64),
                format!("{:.1}%", 100.0 * secs / total.max(1e-12)),
            ]);
        }
        println!();
        print!("{}", t.render());
    }
    Ok(())
}

fn human_bytes(n: usize) -> String {
    match n {
        n if n >= 1 << 20 => format!("{:.1} MB", n as f64 / (1u64 << 20) as f64),
        n if n >= 1 << 10 => format!("{:.1} KB", n as f64 / 1024.0),
        n => format!("{n} B"),
    }
}
