#!/usr/bin/env bash
# The racing-line table of docs/BENCHMARKS.md: for every shared DeepRacer
# track and both directions, the centre-line pure-pursuit reference lap,
# the racing line's predicted lap and the racing-line reference's driven
# lap (`chicane sim drive --driver racing-line`), with the steps it had a
# wheel off the track. Usage: bench/raceline_table.sh [TRACK_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
dir="${1:-../shared/data/deepracer/tracks}"
chicane="${CHICANE:-${CARGO_TARGET_DIR:-target}/release/chicane}"
lap() { python3 -c "import json,sys; d=json.load(sys.stdin); t=d['lap_times_s']; print('%.2f' % t[0] if t else '-')"; }
echo "| track | direction | centre-line reference (pure pursuit, 3 m/s^2) | racing line, predicted | racing line, driven | driven vs predicted | steps with a wheel off |"
echo "|---|---|---|---|---|---|---|"
for t in "$dir"/*.npy; do
  for r in "" "--reverse"; do
    c=$("$chicane" sim drive --track "$t" $r --json | lap)
    d=$("$chicane" sim drive --track "$t" $r --driver racing-line --json | python3 -c "
import json, sys
d = json.load(sys.stdin)
lap, p = d['lap_times_s'][0], d['predicted_lap_s']
print('%.2f s | %.2f s | %+.1f%% | %d' % (p, lap, 100 * (lap / p - 1), d['steps_not_all_wheels_on_track']))")
    if [ -n "$r" ]; then way=reverse; else way=forward; fi
    echo "| $(basename "$t" .npy) | $way | $c s | $d |"
  done
done
