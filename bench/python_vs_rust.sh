#!/usr/bin/env bash
# chicane.VecEnv from Python against the Rust VecEnv (`chicane bench sim`)
# and Gymnasium's CarRacing-v3, in the same run (docs/BENCHMARKS.md).
# Installs the chicane Python package and gymnasium[box2d] into
# bench/.venv-py on first use.
set -euo pipefail
cd "$(dirname "$0")/.."
venv=bench/.venv-py
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q "gymnasium[box2d]" "numpy<2.3"
fi
CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target}" "$venv/bin/pip" install -q ./python
cargo build --release -q
rust=$(./target/release/chicane bench sim --json --steps 20000)
py=$("$venv/bin/python" bench/python_vecenv.py 20000)
cr=$("$venv/bin/python" bench/carracing.py --json)
python3 - "$rust" "$py" "$cr" <<'PY'
import json, sys
r, p, c = (json.loads(a) for a in sys.argv[1:4])
for t, key in ((1, "1_thread"), (2, "2_threads")):
    ours, py = r[f"vec_env_steps_per_s_{key}"], p[f"python_vec_env_steps_per_s_{key}"]
    print(f"8 envs, {t} thread(s): Rust VecEnv {ours:7.0f} steps/s, chicane.VecEnv from Python {py:7.0f} ({py / ours:.0%})")
print(f"Gymnasium CarRacing-v3 (one env, 96x96 RGB): {c['steps_per_s']:.0f} steps/s")
print(f"chicane.VecEnv (2 threads) / CarRacing-v3: {p['python_vec_env_steps_per_s_2_threads'] / c['steps_per_s']:.1f}x")
PY
