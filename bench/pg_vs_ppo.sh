#!/usr/bin/env bash
# Vanilla policy gradient vs PPO on the learn-to-lap task (issue 18,
# docs/BENCHMARKS.md): the same run, seed and budget, one after the other;
# each evaluated over 3 laps, its training.png copied into OUT.
#
#   bench/pg_vs_ppo.sh OUT [MINUTES=3]
#   CHICANE_BIN=path/to/chicane bench/pg_vs_ppo.sh ...  (use a built binary)
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:?usage: bench/pg_vs_ppo.sh OUT [MINUTES]}
minutes=${2:-3}
bin=${CHICANE_BIN:-}
if [ -z "$bin" ]; then
  cargo build --release --quiet
  bin=${CARGO_TARGET_DIR:-target}/release/chicane
fi
mkdir -p "$out"
track=../shared/data/deepracer/tracks/reinvent_base.npy
sed 's/^training_algorithm = .*/training_algorithm = "clipped_ppo"/' bench/vanilla_pg.toml > "$out/clipped_ppo.toml"
cp bench/vanilla_pg.toml "$out/vanilla_pg.toml"
for algo in clipped_ppo vanilla_pg; do
  rm -rf "$out/$algo"
  "$bin" train "$out/$algo.toml" --track "$track" --out "$out/$algo" \
    --max-time "${minutes}m" --max-episodes 100000000 --quiet 2>/dev/null | tail -3
  "$bin" evaluate "$out/$algo" --laps 3 | tail -2
  cp "$out/$algo/training.png" "$out/$algo.training.png"
done
