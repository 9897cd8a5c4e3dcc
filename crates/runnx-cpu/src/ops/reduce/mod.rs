//! Reductions, softmax, normalizations and losses.

mod common;
pub mod einsum;
pub mod loss;
pub mod norm;
pub mod reductions;
pub mod softmax;
#[cfg(test)]
mod tests;

use crate::Registry;

pub fn register(r: &mut Registry) {
    use reductions::*;
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
    r.add("Softmax", softmax::softmax);
    r.add("LogSoftmax", softmax::log_softmax);
    r.add("Hardmax", softmax::hardmax);
    r.add("LayerNormalization", norm::layer_normalization);
    r.add("RMSNormalization", norm::rms_normalization);
    r.add("InstanceNormalization", norm::instance_normalization);
    r.add("GroupNormalization", norm::group_normalization);
    r.add("BatchNormalization", norm::batch_normalization);
    r.add("LRN", norm::lrn);
    r.add("Einsum", einsum::einsum);
    r.add("NegativeLogLikelihoodLoss", loss::nll_loss);
    r.add("SoftmaxCrossEntropyLoss", loss::softmax_cross_entropy_loss);
    r.add("LpNormalization", norm::lp_normalization);
    r.add(
        "MeanVarianceNormalization",
        norm::mean_variance_normalization,
    );
}
