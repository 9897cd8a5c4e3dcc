//! Many runs of one multi-threaded session at once. A pool thread waiting inside a
//! kernel's parallel loop steals jobs from the other runs, so a kernel can be
//! re-entered on a thread that is already inside it; results must not change.

mod common;

use common::{model, weights};
use runnx_core::{Session, SessionOptions, Value};
use std::sync::Arc;

fn output(session: &Session, seed: u32) -> Vec<f32> {
    let x = weights(vec![2, 8, 32, 32], seed);
    let out = session.run(vec![("x".into(), Value::Tensor(x))]).unwrap();
    out[0]
        .as_tensor()
        .unwrap()
        .as_slice::<f32>()
        .unwrap()
        .to_vec()
}

#[test]
fn concurrent_runs_with_work_stealing_match_sequential_runs() {
    let options = SessionOptions {
        threads: 2,
        ..Default::default()
    };
    let session = Arc::new(Session::from_model(model(), &options).unwrap());
    let expected: Vec<Vec<f32>> = (0..8).map(|seed| output(&session, seed)).collect();
    let expected = Arc::new(expected);
    let callers: Vec<_> = (0..8u32)
        .map(|seed| {
            let (session, expected) = (session.clone(), expected.clone());
            std::thread::spawn(move || {
                for _ in 0..25 {
                    assert!(output(&session, seed) == expected[seed as usize]);
                }
            })
        })
        .collect();
    for c in callers {
        c.join().unwrap();
    }
}
