//! The memory plan at work: once a session has run a given input shape, later runs
//! reuse the intermediate buffers and allocate little more than their outputs.

mod common;

use common::{model, weights};
use runnx_core::alloc_meter::{allocated_by, Counting};
use runnx_core::{Session, SessionOptions, Value};

#[global_allocator]
static GLOBAL: Counting = Counting;

#[test]
fn later_runs_reuse_intermediate_buffers() {
    for threads in [1, 2] {
        let options = SessionOptions {
            threads,
            ..Default::default()
        };
        let session = Session::from_model(model(), &options).unwrap();
        let run = |out: &mut Option<Value>| {
            let x = weights(vec![2, 8, 32, 32], 7);
            *out = Some(
                session
                    .run(vec![("x".into(), Value::Tensor(x))])
                    .unwrap()
                    .remove(0),
            );
        };
        let mut first_out = None;
        let first = allocated_by(|| run(&mut first_out)).1;
        let mut outs = Vec::new();
        let mut steady = usize::MAX;
        for _ in 0..3 {
            let mut out = None;
            steady = steady.min(allocated_by(|| run(&mut out)).1);
            outs.push(out);
        }
        // Same results from reused (dirty) buffers.
        for out in &outs {
            let (a, b) = (
                first_out.as_ref().unwrap().as_tensor().unwrap(),
                out.as_ref().unwrap().as_tensor().unwrap(),
            );
            assert_eq!(a.shape(), &[2, 512, 16]);
            assert_eq!(a.as_slice::<f32>().unwrap(), b.as_slice::<f32>().unwrap());
        }
        let input_and_output = (2 * 8 * 32 * 32 + 2 * 512 * 16) * 4;
        eprintln!("threads {threads}: first run {first} bytes, steady state {steady} bytes");
        // The first run allocates every intermediate (~1.3 MB); later ones about the
        // input and output they are handed, plus small bookkeeping.
        assert!(
            first > 3 * input_and_output,
            "first run allocated only {first} bytes"
        );
        assert!(
            steady < input_and_output + 64 * 1024,
            "steady-state run allocated {steady} bytes (input + output are {input_and_output})"
        );
    }
}
