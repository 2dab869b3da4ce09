"""Train chicane with Stable-Baselines3's PPO("CnnPolicy"): the standard
Gymnasium path, for comparison with chicane's own trainer.

    pip install ./python stable-baselines3      # brings torch
    python python/examples/sb3_ppo.py --track reinvent_base.npy --time 300 --out runs/sb3

Writes OUT/episodes.csv (wall time, env steps, reward, progress, status,
lap time per training episode) and prints steps/s. The hyperparameters are
DeepRacer's defaults (lr 3e-4, batch 64, 10 epochs, discount 0.999,
entropy 0.01) so the comparison is about the implementation, not the tuning.
"""

from __future__ import annotations

import argparse
import csv
import os
import time

import gymnasium as gym
import torch
from stable_baselines3 import PPO
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.env_util import make_vec_env

import chicane  # noqa: F401  (registers chicane/RaceEnv-v0)


class EpisodeLog(BaseCallback):
    """Logs every finished training episode; stops after `budget_s` seconds."""

    def __init__(self, path: str, budget_s: float):
        super().__init__()
        self.path, self.budget_s = path, budget_s
        self.file = open(path, "w", newline="")
        self.csv = csv.writer(self.file)
        self.csv.writerow(["wall_s", "env_steps", "reward", "progress", "status", "lap_time_s"])
        self.start = time.monotonic()
        self.returns = None

    def _on_step(self) -> bool:
        rewards = self.locals["rewards"]
        if self.returns is None:
            self.returns = [0.0] * len(rewards)
        for i, (r, done, info) in enumerate(zip(rewards, self.locals["dones"], self.locals["infos"])):
            self.returns[i] += float(r)
            if done:
                lap = info["lap_times"][0] if info.get("laps", 0) > 0 else ""
                self.csv.writerow([
                    f"{time.monotonic() - self.start:.2f}", self.num_timesteps,
                    f"{self.returns[i]:.3f}", f"{info['progress']:.2f}", info["episode_status"], lap,
                ])
                self.returns[i] = 0.0
        self.file.flush()
        return time.monotonic() - self.start < self.budget_s


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--config", help="chicane run TOML (default: built-in defaults)")
    p.add_argument("--track", default=None)
    p.add_argument("--envs", type=int, default=4)
    p.add_argument("--time", type=float, default=300.0, help="training budget (s)")
    p.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    p.add_argument("--out", default="runs/sb3")
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    os.makedirs(a.out, exist_ok=True)
    env = make_vec_env(
        "chicane/RaceEnv-v0", n_envs=a.envs, seed=0, env_kwargs=dict(config=a.config, track=a.track)
    )
    model = PPO(
        "CnnPolicy", env, n_steps=512, batch_size=64, n_epochs=10, learning_rate=3e-4,
        gamma=0.999, ent_coef=0.01, clip_range=0.2, device="cpu", seed=0, verbose=0,
    )
    log = EpisodeLog(os.path.join(a.out, "episodes.csv"), a.time)
    started = time.monotonic()
    model.learn(total_timesteps=10**9, callback=log)
    secs = time.monotonic() - started
    print(f"SB3 PPO CnnPolicy: {model.num_timesteps} env steps in {secs:.0f} s = "
          f"{model.num_timesteps / secs:.0f} steps/s (inference and updates included)")
    model.save(os.path.join(a.out, "model.zip"))


if __name__ == "__main__":
    main()
