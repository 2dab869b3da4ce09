#!/usr/bin/env bash
# The "it has to learn" benchmark (docs/BENCHMARKS.md): trains on DeepRacer's
# re:Invent 2018 track with the centre-line reward, evaluating one greedy lap
# after every CHUNK of training, until an evaluation completes the lap or
# LIMIT training seconds pass. Prints the training time to the first
# completed evaluation lap and writes the learning curve (training.png).
#
# usage: bench/learn_to_lap.sh OUT_DIR [chunk_s=120] [limit_s=1800] [train flags...]
# e.g.   bench/learn_to_lap.sh runs/lap-fast
#        bench/learn_to_lap.sh runs/lap-shallow 300 3600 --network DEEP_CONVOLUTIONAL_NETWORK_SHALLOW
#        bench/learn_to_lap.sh runs/lap-2ms 120 1800 bench/fast_actions.toml
set -euo pipefail
cd "$(dirname "$0")/.."
out=$1; chunk=${2:-120}; limit=${3:-1800}; shift $(( $# >= 3 ? 3 : $# ))
data=${CHICANE_SHARED_DATA:-../shared/data}
track="$data/deepracer/tracks/reinvent_base.npy"
bin=${CHICANE:-${CARGO_TARGET_DIR:-target}/release/chicane}
[ -x "$bin" ] || cargo build --release -q
rm -rf "$out" "$out.rss"
trained=0
resume=()
while [ "$trained" -lt "$limit" ]; do
  /usr/bin/time -f "peak RSS %M KiB" -a -o "$out.rss" \
    "$bin" train "$@" --track "$track" --out "$out" --max-time "${chunk}s" --max-episodes 1000000 --quiet "${resume[@]}" 2>&1 | tail -1
  resume=(--resume)
  trained=$(python3 -c "import json;print(int(json.load(open('$(ls -d "$out"/checkpoints/iter-* | tail -1)/state.json'))['elapsed_s']))")
  eval=$("$bin" evaluate "$out" --laps 1 --json)
  lap=$(python3 -c "import json,sys;r=json.loads(sys.argv[1]);print(r['best_lap_s'] or '')" "$eval")
  prog=$(python3 -c "import json,sys;r=json.loads(sys.argv[1]);print(r['laps'][0]['progress'])" "$eval")
  echo "trained ${trained} s: evaluation progress ${prog}% lap ${lap:--}"
  if [ -n "$lap" ]; then
    echo "RESULT: first completed evaluation lap after ${trained} s of training; lap time ${lap} s"
    python3 - "$out" <<'PY'
import json, sys
it = [json.loads(l)["record"] for l in open(sys.argv[1] + "/metrics.jsonl") if '"iteration"' in l[:20]]
steps, secs = it[-1]["total_steps"], it[-1]["elapsed_s"]
print(f"throughput: {steps} env steps in {secs:.0f} s = {steps / secs:.0f} steps/s (inference and updates included)")
PY
    sort -k3 -n "$out.rss" | tail -1
    exit 0
  fi
done
echo "RESULT: no completed evaluation lap within ${limit} s of training"
