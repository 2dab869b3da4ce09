"""Runs a chicane model.onnx with onnxruntime (proof that it is standard
ONNX) and compares its outputs with tract's.

usage: onnxruntime_check.py MODEL.onnx INPUTS.f32 EXPECTED.f32 N C H W
INPUTS.f32: N observations [C, H, W] little-endian float32;
EXPECTED.f32: N x A outputs from tract. Prints the max abs difference as
JSON and exits 1 above 1e-4.
"""
import json
import sys

import numpy as np
import onnx
import onnxruntime as ort

model, inputs, expected = sys.argv[1:4]
n, c, h, w = (int(x) for x in sys.argv[4:8])
onnx.checker.check_model(onnx.load(model), full_check=True)
opts = ort.SessionOptions()
opts.intra_op_num_threads = 1
sess = ort.InferenceSession(model, opts, providers=["CPUExecutionProvider"])
x = np.fromfile(inputs, dtype="<f4").reshape(n, c, h, w)
want = np.fromfile(expected, dtype="<f4").reshape(n, -1)
name = sess.get_inputs()[0].name
got = np.concatenate([sess.run(None, {name: x[i : i + 1]})[0] for i in range(n)])
batched = sess.run(None, {name: x})[0]
diff = float(np.abs(got - want).max())
batch_diff = float(np.abs(batched - want).max())
print(json.dumps({"max_abs_diff": diff, "batched_max_abs_diff": batch_diff,
                  "opset": onnx.load(model).opset_import[0].version,
                  "outputs": [o.name for o in sess.get_outputs()]}))
sys.exit(0 if max(diff, batch_diff) <= 1e-4 else 1)
