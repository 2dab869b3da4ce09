"""chicane as Gymnasium environments.

    import gymnasium, chicane
    env = gymnasium.make("chicane/RaceEnv-v0", track="reinvent_base.npy")
    obs, info = env.reset(seed=0)
    obs, reward, terminated, truncated, info = env.step(env.action_space.sample())

Observations are the car's camera, ``Box(0, 255, (H, W, C), uint8)``, or a
``Dict`` with ``camera`` and ``lidar`` (metres, float32) when the lidar is
on. Actions are ``Discrete(n)`` for DeepRacer's discrete action spaces and
``Box([steer_low, speed_low], [steer_high, speed_high])`` (degrees, m/s)
for continuous ones, as ``model_metadata.json`` says. ``info`` holds
DeepRacer's ``params`` keys plus ``episode_status``.
"""

from __future__ import annotations

from typing import Any, Callable

import gymnasium as gym
import numpy as np
from gymnasium import spaces
from gymnasium.vector import AutoresetMode, VectorEnv
from gymnasium.vector.utils import batch_space

from . import _chicane

__all__ = ["RaceEnv", "VecEnv", "builtin_tracks"]

builtin_tracks = _chicane.builtin_tracks

_RESET_OPTIONS = ("start_position", "direction")


def _reset_options(options: dict | None) -> dict:
    """Gymnasium's ``reset(options=...)`` for chicane: ``start_position``
    (fraction of the lap, ``[0, 1)``) and ``direction`` (``"forward"`` or
    ``"reverse"``) override the config's start for that episode.

    Raises:
        ValueError: for an option chicane does not know (named, with the
            known ones).
    """
    if not options:
        return {}
    unknown = sorted(set(options) - set(_RESET_OPTIONS))
    if unknown:
        raise ValueError(
            f"reset options {unknown}: chicane knows {list(_RESET_OPTIONS)}"
        )
    return {k: options[k] for k in _RESET_OPTIONS if options.get(k) is not None}


class RaceEnv(gym.Env):
    """One simulated DeepRacer-class car on a track.

    Args:
        config: a chicane run TOML, a DeepRacer ``custom_files`` folder, or
            None for the built-in defaults (the same configs as ``chicane train``).
        track: a built-in track name, a chicane ``.toml`` or a DeepRacer ``.npy``.
        reward_function: ``reward_function(params) -> float`` with DeepRacer's
            params dict; default: the config's reward.
        lidar: True adds DeepRacer's 64-beam lidar, False removes it.
        camera: False removes the camera (a lidar-only agent).
        render_mode: ``"rgb_array"`` (the camera frame) or ``"top_down"``.

    Raises:
        ValueError: with the Rust error's message, for a bad config, track,
            reward function or argument.
    """

    metadata = {"render_modes": ["rgb_array", "top_down"], "render_fps": 15}

    def __init__(
        self,
        config: str | None = None,
        track: str | None = None,
        reward_function: Callable[[dict], float] | None = None,
        lidar: bool | None = None,
        camera: bool | None = None,
        render_mode: str | None = None,
    ):
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise ValueError(
                f"render_mode {render_mode!r}: use one of {self.metadata['render_modes']}"
            )
        self.render_mode = render_mode
        self._env = _chicane.RustRaceEnv(
            None if config is None else str(config),
            None if track is None else str(track),
            reward_function,
            lidar,
            camera,
        )
        parts: dict[str, spaces.Space] = {}
        if self._env.camera_shape is not None:
            parts["camera"] = spaces.Box(0, 255, self._env.camera_shape, np.uint8)
        if self._env.lidar_beams is not None:
            lo, hi = self._env.lidar_range
            parts["lidar"] = spaces.Box(
                np.float32(0.0), np.float32(hi), (self._env.lidar_beams,), np.float32
            )
        if len(parts) == 1:
            self.observation_space = next(iter(parts.values()))
        else:
            self.observation_space = spaces.Dict(parts)
        kind, *ranges = self._env.action_space
        if kind == "discrete":
            self.actions = ranges[0]
            self.action_space = spaces.Discrete(len(self.actions))
        else:
            (s_lo, s_hi), (v_lo, v_hi) = ranges
            self.action_space = spaces.Box(
                np.array([s_lo, v_lo], np.float32), np.array([s_hi, v_hi], np.float32)
            )
        self._last_obs: Any = None

    @property
    def track_name(self) -> str:
        """The track's name."""
        return self._env.track_name

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        # a fresh env draws its start from a seed of Gymnasium's generator
        if seed is None and not hasattr(self, "_seeded"):
            seed = int(self.np_random.integers(0, 2**63 - 1))
        self._seeded = True
        obs, info = self._env.reset(seed, **_reset_options(options))
        self._last_obs = obs
        return obs, info

    def step(self, action):
        if isinstance(self.action_space, spaces.Discrete):
            a = int(action)
        else:
            a = [float(x) for x in np.asarray(action, dtype=np.float64).reshape(-1)]
        obs, reward, terminated, truncated, info = self._env.step(a)
        self._last_obs = obs
        return obs, float(reward), bool(terminated), bool(truncated), info

    def render(self):
        if self.render_mode == "top_down":
            return self._env.render_top_down()
        if self.render_mode == "rgb_array":
            obs = self._last_obs
            frame = obs["camera"] if isinstance(obs, dict) else obs
            if frame is None or frame.ndim != 3:
                return self._env.render_top_down()
            if frame.shape[2] == 3:
                return frame
            return np.repeat(frame[:, :, :1], 3, axis=2)
        return None


class VecEnv(VectorEnv):
    """``num_envs`` race environments stepped in parallel in Rust, without
    the GIL, returning one numpy batch per step (Gymnasium's vector API,
    autoreset in the same step: an env whose episode ends returns the first
    observation of its next episode; ``infos["final_info"]`` holds how the
    last one ended).

    Args: as :class:`RaceEnv` (the reward is the config's), plus
    ``num_envs`` and ``num_threads`` (0 = one per core).
    """

    metadata = {"autoreset_mode": AutoresetMode.SAME_STEP, "render_modes": []}

    def __init__(
        self,
        num_envs: int,
        config: str | None = None,
        track: str | None = None,
        lidar: bool | None = None,
        camera: bool | None = None,
        num_threads: int = 0,
    ):
        if int(num_envs) < 1:
            raise ValueError(f"num_envs {num_envs}: must be at least 1")
        self._env = _chicane.RustVecEnv(
            int(num_envs),
            None if config is None else str(config),
            None if track is None else str(track),
            lidar,
            camera,
            int(num_threads),
        )
        single = RaceEnv(config=config, track=track, lidar=lidar, camera=camera)
        self.num_envs = int(num_envs)
        self.single_observation_space = single.observation_space
        self.single_action_space = single.action_space
        self.observation_space = batch_space(self.single_observation_space, self.num_envs)
        self.action_space = batch_space(self.single_action_space, self.num_envs)
        self._discrete = isinstance(self.single_action_space, spaces.Discrete)

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        if isinstance(seed, (list, tuple)):
            seed = seed[0]
        super().reset(seed=seed)
        return self._env.reset(None if seed is None else int(seed), **_reset_options(options))

    def step(self, actions):
        a = np.asarray(actions)
        if self._discrete:
            a = a.astype(np.int64).reshape(self.num_envs).tolist()
        else:
            a = a.astype(np.float64).reshape(self.num_envs, 2).tolist()
        return self._env.step(a)


gym.register(id="chicane/RaceEnv-v0", entry_point="chicane:RaceEnv", max_episode_steps=None)
