#!/usr/bin/env bash
# Rollouts overlapping updates vs taking turns (issue 20, docs/BENCHMARKS.md):
# `chicane bench train --updates UPDATES` without and with --sequential,
# alternated PAIRS times, each under /usr/bin/time (wall, CPU, peak RSS).
#
#   bench/overlap.sh [PAIRS=3] [UPDATES=10] [bench train flags...]
#   CHICANE_BIN=path/to/chicane bench/overlap.sh ...  (use a built binary)
set -euo pipefail
cd "$(dirname "$0")/.."
pairs=${1:-3}
updates=${2:-10}
shift $(( $# >= 2 ? 2 : $# ))
bin=${CHICANE_BIN:-}
if [ -z "$bin" ]; then
  cargo build --release --quiet
  bin=${CARGO_TARGET_DIR:-target}/release/chicane
fi
for i in $(seq "$pairs"); do
  for mode in overlapped sequential; do
    flags=("$@")
    [ "$mode" = sequential ] && flags+=(--sequential)
    echo "== pair $i: $mode"
    /usr/bin/time -f "wall %e s, user %U s, sys %S s, peak RSS %M KiB" \
      "$bin" bench train --updates "$updates" "${flags[@]}"
  done
done
