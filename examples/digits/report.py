"""Compare runnx's answers on the held-out digits with the labels and onnxruntime."""
import os
import sys

import numpy as np
import onnxruntime as ort

out = sys.argv[1]
images = np.load(os.path.join(out, "images.npy"))
labels = np.load(os.path.join(out, "labels.npy"))
got_label = np.load(os.path.join(out, "out", "output_0.npy"))
got_prob = np.load(os.path.join(out, "out", "output_1.npy"))
sess = ort.InferenceSession(os.path.join(out, "digits.onnx"), providers=["CPUExecutionProvider"])
ref_label, ref_prob = sess.run(None, {"image": images})
accuracy = float((got_label == labels).mean())
agree = int((got_label == ref_label).sum())
max_diff = float(np.abs(got_prob - ref_prob).max())
print(f"runnx accuracy on {len(labels)} held-out digits: {accuracy:.1%}")
print(f"agreement with onnxruntime: {agree}/{len(labels)} labels, max probability difference {max_diff:.2e}")
for i in range(5):
    print(f"  digit {i}: true {labels[i]}, runnx says {got_label[i]} (p={got_prob[i, got_label[i]]:.3f})")
ok = agree == len(labels) and np.allclose(got_prob, ref_prob, rtol=1e-3, atol=1e-4)
sys.exit(0 if ok else 1)
