"""Rollout throughput of `chicane.ray_train` with 1 and 2 workers on this
machine, and the learner's update time (docs/BENCHMARKS.md).

    bench/.venv-torch/bin/python bench/ray_scaling.py [--envs-per-worker 2] [--steps 200] [--rounds 4]

Each round: broadcast weights, every worker collects STEPS steps of each of
its envs (FAST_CNN policy, camera 160x120), the learner updates on all of
them. Rollout rate = env steps / rollout time; the first round (actor start)
is left out.
"""

import argparse
import os
import shutil
import tempfile

os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")
import ray  # noqa: E402

from chicane.ray_train import RayTrainer  # noqa: E402

p = argparse.ArgumentParser()
p.add_argument("--config")
p.add_argument("--track")
p.add_argument("--envs-per-worker", type=int, default=2)
p.add_argument("--steps", type=int, default=200)
p.add_argument("--rounds", type=int, default=4)
p.add_argument("--workers", default="1,2")
a = p.parse_args()
ray.init(address="local", num_cpus=os.cpu_count(), include_dashboard=False,
         _node_ip_address="127.0.0.1", log_to_driver=False)
for w in [int(x) for x in a.workers.split(",")]:
    out = tempfile.mkdtemp(prefix=f"ray-scaling-{w}-")
    shutil.rmtree(out)
    with RayTrainer(out, a.config, track=a.track, workers=w, envs_per_worker=a.envs_per_worker,
                    steps_per_env=a.steps) as t:
        recs = [t.step() for _ in range(a.rounds + 1)][1:]
    steps = sum(sum(r["batch_env_steps"]) for r in recs)
    roll = sum(r["rollout_s"] for r in recs)
    upd = sum(r["update_s"] for r in recs)
    print(f"workers {w} x {a.envs_per_worker} envs: rollout {steps / roll:.0f} env steps/s; "
          f"update {upd / len(recs):.2f} s per {steps // len(recs)} samples "
          f"({upd / steps * 1000:.2f} ms/sample); overall {steps / (roll + upd):.0f} steps/s", flush=True)
    shutil.rmtree(out, ignore_errors=True)
ray.shutdown()
