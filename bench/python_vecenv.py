"""Steps per second of chicane.VecEnv driven from Python, the same work as
`chicane bench sim`'s Rust VecEnv figure: 8 envs on technical-loop with the
default config (160x120 camera), the same action pattern, 1 and 2 threads.
Run with bench/python_vs_rust.sh.
"""

import json
import sys
import time

import numpy as np

import chicane

steps = int(sys.argv[1]) if len(sys.argv) > 1 else 20000
out = {}
for threads in (1, 2):
    n = 8
    envs = chicane.VecEnv(n, track="technical-loop", num_threads=threads)
    envs.reset(seed=0)
    iters = max(1, steps // n)
    t = time.perf_counter()
    for i in range(iters):
        actions = np.array([((i // 5) + k) % 5 for k in range(n)], dtype=np.int64)
        obs, rewards, terminated, truncated, infos = envs.step(actions)
    out[f"python_vec_env_steps_per_s_{threads}_thread{'s' if threads > 1 else ''}"] = (
        iters * n / (time.perf_counter() - t)
    )
print(json.dumps(out))
