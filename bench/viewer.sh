#!/usr/bin/env bash
# The live viewer's cost to training (issue 22, docs/BENCHMARKS.md):
# `chicane train` with FAST_CNN, 4 envs and DeepRacer's default
# hyperparameters for EPISODES episodes, alternately without a viewer and
# with `--viewer` and one page's worth of clients (every MJPEG stream read
# by curl, /status polled every second and /metrics every two, as the page
# does), ROUNDS times each; prints each run's env steps/s and the medians.
#
#   bench/viewer.sh OUT [EPISODES=300] [ROUNDS=3]
#   CHICANE_BIN=path/to/chicane bench/viewer.sh ...  (use a built binary)
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:?usage: bench/viewer.sh OUT [EPISODES] [ROUNDS]}
episodes=${2:-300}
rounds=${3:-3}
bin=${CHICANE_BIN:-}
if [ -z "$bin" ]; then
  cargo build --release --quiet
  bin=${CARGO_TARGET_DIR:-target}/release/chicane
fi
mkdir -p "$out"
port=8177

# one run; prints env steps per second from the summary line
train() { # name, extra flags...
  local name=$1
  shift
  rm -rf "$out/$name"
  "$bin" train --track ../shared/data/deepracer/tracks/reinvent_base.npy --num-envs 4 --max-episodes "$episodes" --seed 1 \
    --out "$out/$name" --quiet "$@" > "$out/$name.out" 2> "$out/$name.err"
  sed -n 's/.* \([0-9]*\) steps in \([0-9.]*\) s.*/\1 \2/p' "$out/$name.out" |
    awk '{ printf "%.0f\n", $1 / $2 }'
}

# what one open page asks of the server, until the run ends
watch_page() {
  local url=http://127.0.0.1:$port
  local tries=0
  until curl -sf "$url/status" > /dev/null; do
    tries=$((tries + 1))
    if (( tries > 600 )); then echo "no viewer at $url after 120 s" >&2; return 1; fi
    sleep 0.2
  done
  local pids=()
  for s in camera/0 camera/1 camera/2 camera/3 top_down/0; do
    curl -s "$url/stream/$s" > /dev/null &
    pids+=($!)
  done
  local i=0
  while curl -sf "$url/status" > /dev/null; do
    if (( i % 2 == 0 )); then curl -sf "$url/metrics" > /dev/null || true; fi
    i=$((i + 1))
    sleep 1
  done
  kill "${pids[@]}" 2> /dev/null || true
}

off=() on=()
for r in $(seq 1 "$rounds"); do
  a=$(train "off-$r")
  watch_page &
  w=$!
  b=$(train "on-$r" --viewer "127.0.0.1:$port")
  wait "$w" 2> /dev/null || true
  echo "round $r: without viewer $a steps/s, with viewer and a page $b steps/s"
  off+=("$a")
  on+=("$b")
done
median() { printf '%s\n' "$@" | sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }
mo=$(median "${off[@]}")
mn=$(median "${on[@]}")
echo "median: without $mo steps/s, with viewer $mn steps/s ($(awk -v a="$mo" -v b="$mn" 'BEGIN { printf "%+.1f %%", (b - a) / a * 100 }'))"
