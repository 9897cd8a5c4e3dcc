"""Write a small BERT-like encoder (seeded random weights) for tests on every host.

    python3 tests/models/make_transformer.py .cache/models/tiny_bert.onnx
    python3 tests/models/make_transformer.py --external-data DIR/tiny_bert.onnx   # weights in DIR/tiny_bert.weights

input_ids: int64 [batch, seq] (symbolic dims, ids < 1000, seq <= 64)
outputs:   last_hidden_state float32 [batch, seq, 64], pooled float32 [batch, 64]

Token and position embeddings (Gather), then 2 layers of 4-head self-attention
(MatMul/Reshape/Transpose/Softmax) and a GELU feed-forward (Erf form), each with a
residual Add and LayerNormalization; pooled = tanh(dense(first token)). Opset 17.
"""
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

VOCAB, MAX_POS, HIDDEN, HEADS, FFN, LAYERS = 1000, 64, 64, 4, 128, 2
HEAD = HIDDEN // HEADS


class Builder:
    def __init__(self, seed):
        self.rng = np.random.default_rng(seed)
        self.nodes, self.inits = [], []
        self.count = 0

    def const(self, name, array):
        self.inits.append(numpy_helper.from_array(np.asarray(array), name))
        return name

    def weight(self, name, shape, scale):
        return self.const(name, (self.rng.standard_normal(shape) * scale).astype(np.float32))

    def op(self, op_type, inputs, **attrs):
        self.count += 1
        out = f"{op_type.lower()}_{self.count}"
        self.nodes.append(helper.make_node(op_type, inputs, [out], name=out, **attrs))
        return out

    def dense(self, x, prefix, n_in, n_out):
        w = self.weight(f"{prefix}.weight", [n_in, n_out], 1.0 / np.sqrt(n_in))
        b = self.weight(f"{prefix}.bias", [n_out], 0.1)
        return self.op("Add", [self.op("MatMul", [x, w]), b])

    def layer_norm(self, x, prefix):
        gamma = self.const(f"{prefix}.gamma", (1 + self.rng.standard_normal(HIDDEN) * 0.1).astype(np.float32))
        beta = self.weight(f"{prefix}.beta", [HIDDEN], 0.1)
        return self.op("LayerNormalization", [x, gamma, beta], axis=-1, epsilon=1e-5)


def attention(b, x, prefix):
    heads_shape = b.const(f"{prefix}.heads_shape", np.array([0, 0, HEADS, HEAD], dtype=np.int64))
    q = b.op("Transpose", [b.op("Reshape", [b.dense(x, f"{prefix}.q", HIDDEN, HIDDEN), heads_shape])], perm=[0, 2, 1, 3])
    k = b.op("Transpose", [b.op("Reshape", [b.dense(x, f"{prefix}.k", HIDDEN, HIDDEN), heads_shape])], perm=[0, 2, 3, 1])
    v = b.op("Transpose", [b.op("Reshape", [b.dense(x, f"{prefix}.v", HIDDEN, HIDDEN), heads_shape])], perm=[0, 2, 1, 3])
    scale = b.const(f"{prefix}.scale", np.array(1.0 / np.sqrt(HEAD), dtype=np.float32))
    probs = b.op("Softmax", [b.op("Mul", [b.op("MatMul", [q, k]), scale])], axis=-1)
    ctx = b.op("Transpose", [b.op("MatMul", [probs, v])], perm=[0, 2, 1, 3])
    merged_shape = b.const(f"{prefix}.merged_shape", np.array([0, 0, HIDDEN], dtype=np.int64))
    return b.dense(b.op("Reshape", [ctx, merged_shape]), f"{prefix}.out", HIDDEN, HIDDEN)


def gelu(b, x, prefix):
    """0.5 * x * (1 + erf(x / sqrt(2)))"""
    inv_sqrt2 = b.const(f"{prefix}.inv_sqrt2", np.array(1.0 / np.sqrt(2.0), dtype=np.float32))
    one = b.const(f"{prefix}.one", np.array(1.0, dtype=np.float32))
    half = b.const(f"{prefix}.half", np.array(0.5, dtype=np.float32))
    erf = b.op("Erf", [b.op("Mul", [x, inv_sqrt2])])
    return b.op("Mul", [b.op("Mul", [x, b.op("Add", [erf, one])]), half])


def build(seed=0):
    b = Builder(seed)
    word = b.weight("embeddings.word", [VOCAB, HIDDEN], 1.0)
    pos = b.weight("embeddings.position", [MAX_POS, HIDDEN], 0.5)
    seq_len = b.op("Gather", [b.op("Shape", ["input_ids"]), b.const("one_index", np.array(1, dtype=np.int64))], axis=0)
    positions = b.op("Range", [b.const("zero", np.array(0, dtype=np.int64)), seq_len, b.const("step", np.array(1, dtype=np.int64))])
    x = b.op("Add", [b.op("Gather", [word, "input_ids"], axis=0), b.op("Gather", [pos, positions], axis=0)])
    x = b.layer_norm(x, "embeddings.norm")
    for layer in range(LAYERS):
        p = f"layer{layer}"
        x = b.layer_norm(b.op("Add", [x, attention(b, x, f"{p}.attention")]), f"{p}.attention_norm")
        ffn = b.dense(gelu(b, b.dense(x, f"{p}.ffn_in", HIDDEN, FFN), p), f"{p}.ffn_out", FFN, HIDDEN)
        x = b.layer_norm(b.op("Add", [x, ffn]), f"{p}.ffn_norm")
    b.nodes.append(helper.make_node("Identity", [x], ["last_hidden_state"], name="last_hidden_state"))
    first = b.op("Gather", [x, b.const("first_token", np.array(0, dtype=np.int64))], axis=1)
    b.nodes.append(helper.make_node("Tanh", [b.dense(first, "pooler", HIDDEN, HIDDEN)], ["pooled"], name="pooled"))
    graph = helper.make_graph(
        b.nodes,
        "tiny_bert",
        [helper.make_tensor_value_info("input_ids", TensorProto.INT64, ["batch", "seq"])],
        [
            helper.make_tensor_value_info("last_hidden_state", TensorProto.FLOAT, ["batch", "seq", HIDDEN]),
            helper.make_tensor_value_info("pooled", TensorProto.FLOAT, ["batch", HIDDEN]),
        ],
        b.inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], producer_name="runnx-tests")
    model.ir_version = 8
    onnx.checker.check_model(model, full_check=True)
    return model


if __name__ == "__main__":
    args = sys.argv[1:]
    external = "--external-data" in args
    paths = [a for a in args if a != "--external-data"]
    if len(paths) != 1:
        sys.exit(__doc__)
    if external:
        # Same model, every weight over 1 KiB in one file next to it (ONNX external data).
        onnx.save(build(), paths[0], save_as_external_data=True, all_tensors_to_one_file=True,
                  location="tiny_bert.weights", size_threshold=1024)
    else:
        onnx.save(build(), paths[0])
