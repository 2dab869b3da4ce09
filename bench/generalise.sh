#!/usr/bin/env bash
# The generalisation benchmark (issue 21, docs/BENCHMARKS.md): the racing
# recipe trained for MINUTES on six shared DeepRacer tracks in both
# directions with the sim-to-real randomisation and scenery on
# (examples/race/generalise.toml), and the same recipe for the same time on
# reinvent_base alone (examples/race/run.toml), one after the other; each
# then evaluated on tracks neither saw (bench/held_out.toml: the four
# built-in tracks and five procedural ones, both directions, randomisation
# off). Prints, per recipe, the laps completed, the laps completed without
# leaving the track, and the mean lap time against each track's
# racing-line reference.
#
#   bench/generalise.sh OUT [MINUTES=30] [RECIPE...]
#     a recipe is a name in examples/race (default: generalise run) or the
#     path of a run .toml (bench/generalise_ablation.sh passes its variants)
#   CHICANE_BIN=path/to/chicane bench/generalise.sh ...  (use a built binary)
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:?usage: bench/generalise.sh OUT [MINUTES] [RECIPE...]}
minutes=${2:-30}
shift $(( $# >= 2 ? 2 : 1 ))
recipes=("$@")
[ ${#recipes[@]} -eq 0 ] && recipes=(generalise run)
bin=${CHICANE_BIN:-}
if [ -z "$bin" ]; then
  cargo build --release --quiet
  bin=${CARGO_TARGET_DIR:-target}/release/chicane
fi
mkdir -p "$out"
for r in "${recipes[@]}"; do
  case $r in
    *.toml) file=$r; r=$(basename "$r" .toml) ;;
    *) file=examples/race/$r.toml ;;
  esac
  run="$out/$r"
  rm -rf "$run"
  /usr/bin/time -f "%M KiB peak RSS" "$bin" train "$file" --out "$run" \
    --max-time "${minutes}m" --max-episodes 100000000 --quiet 2> "$out/$r.train.err" | tail -2
  "$bin" evaluate "$run" --conditions bench/held_out.toml --json > "$out/$r.conditions.json"
  python3 - "$out/$r.conditions.json" "$r" "$minutes" <<'PY'
import json, sys
cells = json.load(open(sys.argv[1]))["cells"]
laps = sum(c["laps"] for c in cells)
done = sum(c["completed"] for c in cells)
clean = sum(c["clean"] for c in cells)
ratios = [c["lap_ratio"] for c in cells if c["lap_ratio"] is not None]
mean = sum(ratios) / len(ratios) if ratios else float("nan")
clean_ratios = [c["lap_ratio"] for c in cells if c["lap_ratio"] is not None and c["clean"] == c["laps"]]
clean_mean = sum(clean_ratios) / len(clean_ratios) if clean_ratios else float("nan")
print(f"{sys.argv[2]} ({sys.argv[3]} min): {clean} of {laps} held-out laps clean, "
      f"{done} completed; mean lap {mean:.2f}x the racing-line reference over {len(ratios)} cells, "
      f"{clean_mean:.2f}x over the {len(clean_ratios)} clean ones")
for c in cells:
    ref = c["reference_lap_s"]
    lap = c["mean_lap_s"]
    print(f"  {c['track']:<16} {c['direction']:<8} clean {c['clean']}/{c['laps']} "
          f"lap {'-' if lap is None else f'{lap:.2f} s'} reference {'-' if ref is None else f'{ref:.2f} s'}")
PY
  tail -1 "$out/$r.train.err"
done
