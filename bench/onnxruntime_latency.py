"""The onnxruntime peer of `chicane-car bench`: per-frame latency of a
bundle's model.onnx on one thread, preprocessing (u8 -> f32 / 255, box
downscale, as chicane-core does) in numpy plus inference.

usage: python bench/onnxruntime_latency.py BUNDLE.tar.gz [frames=1000] [warmup=50]
Prints JSON: {"preprocess_ms": {...}, "inference_ms": {...}, "total_ms": {...}}.
"""
import io
import json
import sys
import tarfile
import time

import numpy as np
import onnxruntime as ort


def pct(v):
    v = np.sort(np.asarray(v))
    at = lambda q: float(v[min(len(v), max(1, int(np.ceil(q * len(v))))) - 1])
    return {"p50": at(0.5), "p90": at(0.9), "p99": at(0.99), "max": float(v[-1])}


bundle = sys.argv[1]
frames = int(sys.argv[2]) if len(sys.argv) > 2 else 1000
warmup = int(sys.argv[3]) if len(sys.argv) > 3 else 50
with tarfile.open(bundle) as t:
    model = t.extractfile("model.onnx").read()
    spec = json.load(t.extractfile("preprocessing.json"))
cam = spec["camera"]
c, h, w, ds = cam["channels"], cam["height"], cam["width"], cam["downscale"]
opts = ort.SessionOptions()
opts.intra_op_num_threads = 1
opts.inter_op_num_threads = 1
opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
sess = ort.InferenceSession(model, opts, providers=["CPUExecutionProvider"])
name = sess.get_inputs()[0].name
rng = np.random.default_rng(0)
raw = rng.integers(0, 256, size=(16, c, h, w), dtype=np.uint8)
pre, inf, tot = [], [], []
for i in range(warmup + frames):
    f = raw[i % len(raw)]
    t0 = time.perf_counter()
    x = f.astype(np.float32) / 255.0
    if ds > 1:
        x = x[:, : h // ds * ds, : w // ds * ds].reshape(c, h // ds, ds, w // ds, ds).mean(axis=(2, 4))
    x = np.ascontiguousarray(x[None])
    t1 = time.perf_counter()
    sess.run(None, {name: x})
    t2 = time.perf_counter()
    if i >= warmup:
        pre.append((t1 - t0) * 1e3)
        inf.append((t2 - t1) * 1e3)
        tot.append((t2 - t0) * 1e3)
print(json.dumps({"onnxruntime": ort.__version__, "network": spec["network"], "frames": frames,
                  "preprocess_ms": pct(pre), "inference_ms": pct(inf), "total_ms": pct(tot)}))
