#!/usr/bin/env bash
# Per-frame latency on the car (docs/BENCHMARKS.md): `chicane-car bench`
# (chicane-core preprocessing + tract) against onnxruntime on the same
# model.onnx, both on one core (taskset), in the same run.
#
# usage: bench/car_latency.sh BUNDLE.tar.gz [frames=1000]
set -euo pipefail
cd "$(dirname "$0")/.."
bundle=$1; frames=${2:-1000}
venv=target/bench-venv
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q "onnxruntime==1.23.2" "numpy<2.3"
fi
[ -x target/release/chicane-car ] || cargo build --release -q -p chicane-car
for round in 1 2; do
  echo "== round $round"
  taskset -c 1 target/release/chicane-car bench --model "$bundle" --frames "$frames" --json > /tmp/car-bench.json
  taskset -c 1 "$venv/bin/python" bench/onnxruntime_latency.py "$bundle" "$frames" > /tmp/ort-bench.json
  python3 - <<'PY'
import json
c = json.load(open("/tmp/car-bench.json")); o = json.load(open("/tmp/ort-bench.json"))
print(f"{c['network']}, {c['frames']} frames, one core")
print(f"{'(ms, p50 / p90 / p99)':<24}{'chicane-car (tract)':>26}{'onnxruntime ' + o['onnxruntime']:>28}")
for k in ("preprocess_ms", "inference_ms", "total_ms"):
    f = lambda d: f"{d['p50']:.3f} / {d['p90']:.3f} / {d['p99']:.3f}"
    print(f"{k:<24}{f(c[k]):>26}{f(o[k]):>28}")
print(f"median total ratio chicane-car / onnxruntime: {c['total_ms']['p50'] / o['total_ms']['p50']:.2f}")
PY
done
