"""Steps per second of Gymnasium's CarRacing-v3 on one core, the peer for
`chicane bench sim` (run both with bench/sim_vs_carracing.sh).

CarRacing renders a 96x96 RGB observation with pygame every step, in lockstep
with its Box2D physics at 50 Hz: the closest standard peer to chicane's
camera env. Random actions, episodes reset when they end.
"""

import argparse
import json
import time

import gymnasium as gym
import numpy as np


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--steps", type=int, default=3000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    env = gym.make("CarRacing-v3")
    rng = np.random.default_rng(args.seed)
    obs, _ = env.reset(seed=args.seed)
    # the first reset builds the track; time steps only (resets included)
    start = time.perf_counter()
    for _ in range(args.steps):
        action = rng.uniform([-1.0, 0.0, 0.0], [1.0, 1.0, 0.2]).astype(np.float32)
        obs, reward, terminated, truncated, _ = env.step(action)
        if terminated or truncated:
            obs, _ = env.reset()
    elapsed = time.perf_counter() - start
    result = {
        "env": "CarRacing-v3",
        "observation_shape": list(obs.shape),
        "steps": args.steps,
        "steps_per_s": args.steps / elapsed,
        "gymnasium": gym.__version__,
    }
    if args.json:
        print(json.dumps(result))
    else:
        print(f"CarRacing-v3: {result['steps_per_s']:.0f} steps/s (1 core, {obs.shape} observations)")


if __name__ == "__main__":
    main()
