//! Reductions, softmax, normalizations and losses.

mod common;
pub mod reduce;

use crate::Registry;

pub fn register(r: &mut Registry) {
    use reduce::*;
    r.add("ReduceSum", reduce_sum);
    r.add("ReduceMean", reduce_mean);
    r.add("ReduceMax", reduce_max);
    r.add("ReduceMin", reduce_min);
    r.add("ReduceProd", reduce_prod);
    r.add("ReduceL1", reduce_l1);
    r.add("ReduceL2", reduce_l2);
    r.add("ReduceLogSum", reduce_log_sum);
    r.add("ReduceLogSumExp", reduce_log_sum_exp);
    r.add("ReduceSumSquare", reduce_sum_square);
    r.add("ArgMax", arg_max);
    r.add("ArgMin", arg_min);
}
