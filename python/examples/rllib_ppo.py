"""Train chicane with Ray RLlib's PPO and RLlib's own CNN encoder: the
standard Ray path, for comparison with `python -m chicane.ray_train`.

    pip install ./python "ray[rllib]" torch
    python python/examples/rllib_ppo.py --track reinvent_base.npy --time 300 --out runs/rllib

RLlib has no default CNN for DeepRacer's 120x160 camera, so the encoder's
filters are given (the Nature-DQN stack RLlib uses for Atari). Writes
OUT/iterations.csv (wall time, env steps, mean episode return, mean
progress, laps per training iteration) and prints steps/s. Hyperparameters
are DeepRacer's defaults, as in sb3_ppo.py. Ray runs on 127.0.0.1 only.
"""

from __future__ import annotations

import argparse
import csv
import os
import time

os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")

import gymnasium as gym  # noqa: E402
import numpy as np  # noqa: E402
import ray  # noqa: E402
from ray.rllib.algorithms.ppo import PPOConfig  # noqa: E402
from ray.rllib.callbacks.callbacks import RLlibCallback  # noqa: E402
from ray.rllib.core.rl_module.default_model_config import DefaultModelConfig  # noqa: E402
from ray.tune.registry import register_env  # noqa: E402


class DeepRacerMetrics(RLlibCallback):
    """Logs DeepRacer's progress and completed laps of every episode."""

    def on_episode_end(self, *, episode, metrics_logger=None, **kwargs):
        info = episode.get_infos(-1)
        metrics_logger.log_value("progress", float(info["progress"]), reduce="mean")
        metrics_logger.log_value("laps", int(info.get("laps", 0) > 0), reduce="sum")


class ToFloat(gym.ObservationWrapper):
    """uint8 camera frames to float32 in [0, 1] (RLlib's CNN takes floats)."""

    def __init__(self, env):
        super().__init__(env)
        self.observation_space = gym.spaces.Box(0.0, 1.0, env.observation_space.shape, np.float32)

    def observation(self, obs):
        return obs.astype(np.float32) / 255.0


def make_env(cfg):
    import chicane  # noqa: F401  (registers chicane/RaceEnv-v0 in the env runner)

    return ToFloat(gym.make("chicane/RaceEnv-v0", **cfg))


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--config", help="chicane run TOML (default: built-in defaults)")
    p.add_argument("--track", default=None)
    p.add_argument("--envs", type=int, default=4)
    p.add_argument("--time", type=float, default=300.0, help="training budget (s)")
    p.add_argument("--out", default="runs/rllib")
    a = p.parse_args()
    os.makedirs(a.out, exist_ok=True)
    ray.init(address="local", num_cpus=os.cpu_count(), include_dashboard=False,
             _node_ip_address="127.0.0.1", log_to_driver=False)
    register_env("chicane", make_env)
    config = (
        PPOConfig()
        .environment("chicane", env_config={"config": a.config, "track": a.track})
        .env_runners(num_env_runners=0, num_envs_per_env_runner=a.envs)
        .training(
            lr=3e-4, gamma=0.999, entropy_coeff=0.01, clip_param=0.2, num_epochs=10,
            minibatch_size=64, train_batch_size_per_learner=2048,
        )
        .rl_module(model_config=DefaultModelConfig(
            conv_filters=[[32, 8, 4], [64, 4, 2], [64, 3, 1]], fcnet_hiddens=[512],
        ))
        .callbacks(DeepRacerMetrics)
        .debugging(seed=0)
    )
    algo = config.build_algo()
    started = time.monotonic()
    steps = 0
    with open(os.path.join(a.out, "iterations.csv"), "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["wall_s", "env_steps", "episode_return_mean", "progress_mean", "laps"])
        while time.monotonic() - started < a.time:
            r = algo.train()
            er = r.get("env_runners", {})
            steps = r.get("num_env_steps_sampled_lifetime", er.get("num_env_steps_sampled_lifetime", steps))
            w.writerow([f"{time.monotonic() - started:.2f}", steps, er.get("episode_return_mean"),
                        er.get("progress"), er.get("laps")])
            f.flush()
    secs = time.monotonic() - started
    print(f"RLlib PPO: {steps} env steps in {secs:.0f} s = {steps / secs:.0f} steps/s "
          "(inference and updates included)")
    algo.stop()
    ray.shutdown()


if __name__ == "__main__":
    main()
