"""Compares training runs of chicane's trainer (local and Ray), SB3 and
RLlib on the same track: steps/s, first training lap, laps, and a plot of
training-episode progress against wall time (docs/img/trainers.png).

    bench/.venv-torch/bin/python bench/compare_trainers.py runs/cmp-chicane runs/cmp-ray runs/cmp-sb3 runs/cmp-rllib
"""

import csv
import json
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def chicane_run(d: Path):
    recs = [json.loads(line) for line in (d / "metrics.jsonl").read_text().splitlines()]
    eps = [r["record"] for r in recs if r["type"] == "episode"]
    its = [r["record"] for r in recs if r["type"] == "iteration"]
    pts = [(e["elapsed_s"], e["progress"]) for e in eps]
    laps = [e["elapsed_s"] for e in eps if e["lap_time"] is not None]
    return pts, its[-1]["total_steps"], its[-1]["elapsed_s"], laps, len(eps)


def sb3_run(d: Path):
    rows = list(csv.DictReader(open(d / "episodes.csv")))
    pts = [(float(r["wall_s"]), float(r["progress"])) for r in rows]
    laps = [float(r["wall_s"]) for r in rows if r["status"] == "lap_complete"]
    return pts, int(rows[-1]["env_steps"]), float(rows[-1]["wall_s"]), laps, len(rows)


def rllib_run(d: Path):
    rows = list(csv.DictReader(open(d / "iterations.csv")))
    pts = [(float(r["wall_s"]), float(r["progress_mean"] or "nan")) for r in rows]
    laps = [float(r["wall_s"]) for r in rows if r["laps"] and float(r["laps"]) > 0]
    return pts, int(float(rows[-1]["env_steps"])), float(rows[-1]["wall_s"]), laps, None


fig, ax = plt.subplots(figsize=(9, 4.5))
print("| trainer | env steps | wall s | steps/s | first training lap | laps / episodes |")
print("|---|---|---|---|---|---|")
for arg in sys.argv[1:]:
    d = Path(arg)
    if (d / "metrics.jsonl").exists():
        name = "chicane ray_train" if "ray" in d.name else "chicane train"
        pts, steps, secs, laps, n = chicane_run(d)
    elif (d / "episodes.csv").exists():
        name, (pts, steps, secs, laps, n) = "SB3 PPO CnnPolicy", sb3_run(d)
    else:
        name, (pts, steps, secs, laps, n) = "RLlib PPO", rllib_run(d)
    first = f"{laps[0]:.0f} s" if laps else "none"
    count = f"{len(laps)} / {n}" if n is not None else f"{len(laps)} iterations with laps"
    print(f"| {name} | {steps} | {secs:.0f} | {steps / secs:.0f} | {first} | {count} |")
    xs = [p[0] for p in pts]
    ys = [p[1] for p in pts]
    k = 20 if n else 1  # moving average over episodes
    avg = [sum(ys[max(0, i - k + 1):i + 1]) / len(ys[max(0, i - k + 1):i + 1]) for i in range(len(ys))]
    ax.plot(xs, avg, label=name)
ax.set_xlabel("wall-clock training time (s), dev-2c, 2 cores")
ax.set_ylabel("training episode progress (%), moving average")
ax.set_ylim(0, 100)
ax.legend()
ax.grid(alpha=0.3)
out = Path("docs/img/trainers.png")
fig.tight_layout()
fig.savefig(out, dpi=100)
print(f"plot: {out}")
