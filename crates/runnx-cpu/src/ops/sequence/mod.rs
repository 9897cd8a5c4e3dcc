//! Sequences, optionals, recurrent networks and attention.

use crate::Registry;

mod attention;
mod common;
mod linear;
mod rnn;
mod rotary;
mod seq;

pub fn register(r: &mut Registry) {
    r.add("SequenceEmpty", seq::sequence_empty);
    r.add("SequenceConstruct", seq::sequence_construct);
    r.add("SequenceInsert", seq::sequence_insert);
    r.add("SequenceErase", seq::sequence_erase);
    r.add("SequenceAt", seq::sequence_at);
    r.add("SequenceLength", seq::sequence_length);
    r.add("SplitToSequence", seq::split_to_sequence);
    r.add("ConcatFromSequence", seq::concat_from_sequence);
    r.add("Optional", seq::optional);
    r.add("OptionalHasElement", seq::optional_has_element);
    r.add("OptionalGetElement", seq::optional_get_element);

    r.add("RNN", rnn::rnn);
    r.add("GRU", rnn::gru);
    r.add("LSTM", rnn::lstm);

    r.add("Attention", attention::attention);
    r.add_in(
        "ai.onnx.preview",
        "FlexAttention",
        1,
        attention::flex_attention,
    );
    r.add("RotaryEmbedding", rotary::rotary_embedding);
    r.add("LinearAttention", linear::linear_attention);
    r.add("CausalConvWithState", linear::causal_conv_with_state);
}
