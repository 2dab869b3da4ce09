#!/usr/bin/env bash
# Runs `chicane bench sim` and Gymnasium's CarRacing-v3 in the same run and
# prints the ratio of single-core env steps/s (camera on for both).
# Installs gymnasium[box2d] into bench/.venv on first use.
set -euo pipefail
cd "$(dirname "$0")/.."
venv=bench/.venv
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q "gymnasium[box2d]"
fi
cargo build --release -q
chicane_json=$(./target/release/chicane bench sim --json "$@")
carracing_json=$("$venv/bin/python" bench/carracing.py --json)
python3 - "$chicane_json" "$carracing_json" <<'PY'
import json, sys
c, r = json.loads(sys.argv[1]), json.loads(sys.argv[2])
ours = c["steps_per_s_physics_camera"]
theirs = r["steps_per_s"]
print(f"chicane RaceEnv (160x120 camera, {c['track']}): {ours:8.0f} steps/s on one core")
print(f"Gymnasium CarRacing-v3 (96x96 RGB):         {theirs:8.0f} steps/s on one core")
print(f"ratio: {ours / theirs:.1f}x")
PY
