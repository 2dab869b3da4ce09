#!/usr/bin/env bash
# The train-to-race benchmark (issue 18, docs/BENCHMARKS.md): each recipe of
# examples/race trains for MINUTES on reinvent_base, one after the other,
# then `chicane evaluate --laps 3`; prints the evaluation lap times beside
# the racing-line reference and copies each run's training.png (lap time
# per episode) and lap_times.png (lap time against training time) next to
# the runs.
#
#   bench/race.sh OUT [MINUTES=20] [RECIPE...]   (recipes: run run_continuous run_sac)
#   CHICANE_BIN=path/to/chicane bench/race.sh ...  (use a built binary)
#   TRACK=../shared/data/deepracer/tracks/2022_reinvent_champ_ccw.npy bench/race.sh ...
#     (the same recipes, unchanged but for the track: `chicane train --track`)
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:?usage: bench/race.sh OUT [MINUTES] [RECIPE...]}
minutes=${2:-20}
shift $(( $# >= 2 ? 2 : 1 ))
recipes=("$@")
[ ${#recipes[@]} -eq 0 ] && recipes=(run run_continuous run_sac)
# CHICANE_BIN: a chicane binary already built (else this builds one)
bin=${CHICANE_BIN:-}
if [ -z "$bin" ]; then
  cargo build --release --quiet
  bin=${CARGO_TARGET_DIR:-target}/release/chicane
fi
mkdir -p "$out"
track=${TRACK:-../shared/data/deepracer/tracks/reinvent_base.npy}
"$bin" sim drive --track "$track" --driver racing-line --json > "$out/reference.json"
echo "racing-line reference: $(python3 -c "import json,sys; d=json.load(open('$out/reference.json')); print(d['lap_times_s'], 'predicted', d['predicted_lap_s'])")"
runs=()
for r in "${recipes[@]}"; do
  run="$out/$r"
  runs+=("$run")
  rm -rf "$run"
  /usr/bin/time -f "%M KiB peak RSS" "$bin" train "examples/race/$r.toml" --track "$track" --out "$run" \
    --max-time "${minutes}m" --max-episodes 100000000 --quiet 2> "$out/$r.train.err" | tail -3
  "$bin" evaluate "$run" --laps 3 --json > "$out/$r.eval.json"
  python3 - "$out/$r.eval.json" "$out/reference.json" "$r" <<'PY'
import json, sys
ev, ref = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
best_ref = ref["lap_times_s"][0]
mean = ev.get("mean_lap_s")
laps = ", ".join(f"{l['lap_time_s']:.2f} s ({l['episode_status']})" for l in ev["laps"])
ratio = f"{mean / best_ref:.2f}x the reference {best_ref:.2f} s" if mean else "no lap"
print(f"{sys.argv[3]}: {ev['laps_completed']} of {len(ev['laps'])} laps: {laps}; mean {ratio}")
PY
  cp "$run/training.png" "$out/$r.training.png"
  cp "$run/lap_times.png" "$out/$r.lap_times.png"
  tail -1 "$out/$r.train.err"
done
# the recipes side by side: their training laps, and one chart of lap time
# against training time on shared axes
"$bin" compare "${runs[@]}" --out "$out/lap_times.png"
