#!/usr/bin/env bash
# Training speed inside chicane-gui (the demo run, window drawn under Xvfb
# with Mesa's llvmpipe) against `chicane train` headless on the same run,
# in one go on the same machine; plus the GUI's frame time.
#
#   bench/gui_speed.sh [SECONDS=60] [MAX_FPS=20]
#
# Speeds come from each run's metrics.jsonl the same way: env steps between
# the first and the last PPO update over the wall time between them.
set -euo pipefail
cd "$(dirname "$0")/.."
secs="${1:-60}"
fps="${2:-20}"
bin="${CARGO_TARGET_DIR:-target}/release"
work="$(mktemp -d /tmp/chicane-gui-bench.XXXXXX)"
cat > "$work/demo.toml" <<'TOML'
# the GUI demo's run: built-in defaults, 2 episodes per update
track = "technical-loop"
reward = "builtin:center_line"
[hyperparameters]
num_episodes_between_training = 2
TOML

rate() {
  python3 - "$1" <<'PY'
import json, sys
its = [json.loads(l)["record"] for l in open(sys.argv[1]) if '"type":"iteration"' in l]
a, b = its[0], its[-1]
print(f"{(b['total_steps'] - a['total_steps']) / max(b['elapsed_s'] - a['elapsed_s'], 1e-9):.0f} {len(its)}")
PY
}

echo "headless: chicane train, 2 envs, ${secs} s"
"$bin/chicane" train "$work/demo.toml" --out "$work/headless" --num-envs 2 --max-time "${secs}s" > "$work/headless.log" 2>&1 || true
read -r h_rate h_its < <(rate "$work/headless/metrics.jsonl")

echo "GUI: chicane-gui --demo under Xvfb, max ${fps} frames/s, ${secs} s"
xvfb-run -a -s "-screen 0 1280x800x24" "$bin/chicane-gui" --demo --workdir "$work/gui" \
  --max-fps "$fps" --exit-after-secs "$secs" --report "$work/gui-report.json" > "$work/gui.log" 2>&1
read -r g_rate g_its < <(rate "$work/gui/runs/demo/metrics.jsonl")
frame_ms=$(python3 -c "import json; r=json.load(open('$work/gui-report.json')); print(f\"{r['mean_frame_time_s']*1000:.0f} {r['frames']}\")")

echo "| run | env steps/s | updates | frame time (ms), frames |"
echo "|---|---|---|---|"
echo "| chicane train (headless) | $h_rate | $h_its | - |"
echo "| chicane-gui --demo (max ${fps} fps) | $g_rate | $g_its | $frame_ms |"
python3 -c "print(f'GUI / headless: {$g_rate / $h_rate:.0%}')"
echo "files in $work"
