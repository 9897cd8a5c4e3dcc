"""Train an MLP on scikit-learn's bundled 8x8 digits and export it to ONNX.

Writes OUT/digits.onnx, OUT/images.npy (held-out digits, float32 [N, 64]) and
OUT/labels.npy (their true classes). Deterministic: fixed split and seed.
"""
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier

out = sys.argv[1]
os.makedirs(out, exist_ok=True)
digits = load_digits()
x = (digits.data / 16.0).astype(np.float32)
x_train, x_test, y_train, y_test = train_test_split(x, digits.target, test_size=0.25, random_state=0)
mlp = MLPClassifier(hidden_layer_sizes=(64,), max_iter=400, random_state=0).fit(x_train, y_train)

w1, w2 = (w.astype(np.float32) for w in mlp.coefs_)
b1, b2 = (b.astype(np.float32) for b in mlp.intercepts_)
nodes = [
    helper.make_node("MatMul", ["image", "w1"], ["h_mm"]),
    helper.make_node("Add", ["h_mm", "b1"], ["h_pre"]),
    helper.make_node("Relu", ["h_pre"], ["h"]),
    helper.make_node("MatMul", ["h", "w2"], ["logits_mm"]),
    helper.make_node("Add", ["logits_mm", "b2"], ["logits"]),
    helper.make_node("Softmax", ["logits"], ["probabilities"], axis=-1),
    helper.make_node("ArgMax", ["logits"], ["label"], axis=1, keepdims=0),
]
graph = helper.make_graph(
    nodes,
    "digits_mlp",
    [helper.make_tensor_value_info("image", TensorProto.FLOAT, ["batch", 64])],
    [
        helper.make_tensor_value_info("label", TensorProto.INT64, ["batch"]),
        helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, ["batch", 10]),
    ],
    [numpy_helper.from_array(a, n) for a, n in [(w1, "w1"), (b1, "b1"), (w2, "w2"), (b2, "b2")]],
)
model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], producer_name="runnx-examples")
model.ir_version = 8
onnx.checker.check_model(model)
onnx.save(model, os.path.join(out, "digits.onnx"))
np.save(os.path.join(out, "images.npy"), x_test)
np.save(os.path.join(out, "labels.npy"), y_test.astype(np.int64))
print(f"trained on {len(x_train)} digits (scikit-learn accuracy {mlp.score(x_test, y_test):.3f}); "
      f"wrote {out}/digits.onnx and {len(x_test)} held-out digits")
