"""chicane's Gymnasium environments, as a Gymnasium user meets them."""

import hashlib
import os
import pathlib
import subprocess
import sys

import gymnasium
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

import chicane

REPO = pathlib.Path(__file__).resolve().parents[2]


def shared_track(name):
    base = os.environ.get("CHICANE_SHARED_DATA")
    candidates = [pathlib.Path(base)] if base else []
    candidates += [REPO.parent / "shared" / "data", REPO / "shared" / "data"]
    for d in candidates:
        p = d / "deepracer" / "tracks" / f"{name}.npy"
        if p.is_file():
            return str(p)
    pytest.fail(f"shared DeepRacer track {name}.npy not found (set CHICANE_SHARED_DATA)")


@pytest.mark.parametrize("track", chicane.builtin_tracks())
@pytest.mark.parametrize("lidar", [False, True])
def test_check_env_on_builtin_tracks(track, lidar):
    env = chicane.RaceEnv(track=track, lidar=lidar)
    check_env(env, skip_render_check=True)
    if lidar:
        assert isinstance(env.observation_space, gymnasium.spaces.Dict)
        assert env.observation_space["lidar"].shape == (64,)
    else:
        assert env.observation_space == gymnasium.spaces.Box(0, 255, (120, 160, 1), np.uint8)


@pytest.mark.parametrize("lidar", [False, True])
def test_check_env_on_a_deepracer_track(lidar):
    env = chicane.RaceEnv(track=shared_track("reinvent_base"), lidar=lidar)
    check_env(env, skip_render_check=True)
    obs, info = env.reset(seed=1)
    assert info["track_length"] == pytest.approx(17.709, abs=0.1)
    assert info["episode_status"] in ("prepare", "in_progress")


def test_make_step_render_and_info():
    env = gymnasium.make("chicane/RaceEnv-v0", track="technical-loop", render_mode="rgb_array")
    obs, info = env.reset(seed=0)
    assert obs.shape == (120, 160, 1) and obs.dtype == np.uint8
    assert env.action_space == gymnasium.spaces.Discrete(5)
    obs, reward, terminated, truncated, info = env.step(2)
    for key in ("x", "y", "heading", "progress", "speed", "steering_angle", "waypoints",
                "closest_waypoints", "all_wheels_on_track", "distance_from_center"):
        assert key in info, key
    assert env.render().shape == (120, 160, 3)
    top = chicane.RaceEnv(track="technical-loop", render_mode="top_down")
    top.reset(seed=0)
    frame = top.render()
    assert frame.ndim == 3 and frame.shape[2] == 3 and (frame == [220, 30, 30]).all(axis=2).any()


def test_python_reward_function_gets_deepracer_params():
    seen = []

    def reward_function(params):
        seen.append(params)
        return 1.0 + params["progress"]

    env = chicane.RaceEnv(track="easy-oval", reward_function=reward_function)
    env.reset(seed=3)
    for _ in range(5):
        _, reward, _, _, info = env.step(2)
        assert reward == pytest.approx(1.0 + info["progress"])
    assert len(seen) == 5 and seen[-1]["steps"] == 5


TYPO = "unknown network `DEEP_CONVOLUTIONAL_NETWORK_SHALOW` (did you mean `DEEP_CONVOLUTIONAL_NETWORK_SHALLOW`?)"


def test_a_misspelt_network_is_the_same_error_as_chicane_trains(tmp_path):
    cfg = tmp_path / "typo.toml"
    cfg.write_text('network = "DEEP_CONVOLUTIONAL_NETWORK_SHALOW"\n')
    with pytest.raises(ValueError) as e:
        chicane.RaceEnv(config=str(cfg))
    assert f"typo.toml: network: {TYPO}" in str(e.value)
    with pytest.raises(ValueError, match="did you mean `technical-loop`"):
        chicane.RaceEnv(track="technical_lop")


def test_reset_options_follow_gymnasium():
    env = chicane.RaceEnv(track="easy-oval")
    _, info = env.reset(seed=0, options={"start_position": 0.5})
    assert info["progress"] == pytest.approx(0.0, abs=1.0)
    x_half, y_half = info["x"], info["y"]
    _, info = env.reset(seed=0)
    assert (info["x"], info["y"]) != (x_half, y_half)
    _, info = env.reset(options={"direction": "reverse"})
    assert info["is_reversed"] is True
    with pytest.raises(ValueError, match="chicane knows"):
        env.reset(options={"start": 0.5})
    with pytest.raises(ValueError, match="forward"):
        env.reset(options={"direction": "sideways"})
    with pytest.raises(ValueError, match="start_position"):
        env.reset(options={"start_position": 1.5})
    envs = chicane.VecEnv(2, track="easy-oval")
    _, infos = envs.reset(seed=0, options={"start_position": 0.25})
    assert len(infos["progress"]) == 2


def test_bad_arguments_raise_value_error_with_the_rust_message():
    with pytest.raises(ValueError, match="no-such-track"):
        chicane.RaceEnv(track="no-such-track")
    with pytest.raises(ValueError, match="callable"):
        chicane.RaceEnv(reward_function=42)
    with pytest.raises(ValueError):
        chicane.RaceEnv(config="/nonexistent/run.toml")
    with pytest.raises(ValueError, match="render_mode"):
        chicane.RaceEnv(render_mode="human")
    env = chicane.RaceEnv()
    env.reset(seed=0)
    with pytest.raises(ValueError, match="index out of range"):
        env.step(99)

    def broken(params):
        raise RuntimeError("boom")

    env = chicane.RaceEnv(reward_function=broken)
    env.reset(seed=0)
    with pytest.raises(ValueError, match="boom"):
        env.step(0)


SCRIPT = """
import hashlib, chicane
env = chicane.RaceEnv(track="technical-loop", lidar=True)
h = hashlib.sha256()
obs, _ = env.reset(seed=11)
for i in range(60):
    obs, r, term, trunc, info = env.step(i % 5)
    h.update(obs["camera"].tobytes()); h.update(obs["lidar"].tobytes()); h.update(repr(r).encode())
    if term or trunc:
        obs, _ = env.reset()
print(h.hexdigest())
"""


def test_seeded_runs_are_identical_across_processes():
    digests = {
        subprocess.run([sys.executable, "-c", SCRIPT], check=True, capture_output=True,
                       text=True).stdout.strip()
        for _ in range(2)
    }
    assert len(digests) == 1, digests


def test_vec_env_batches_and_autoresets_in_the_same_step():
    envs = chicane.VecEnv(4, track="easy-oval", lidar=True)
    assert envs.metadata["autoreset_mode"] == gymnasium.vector.AutoresetMode.SAME_STEP
    obs, infos = envs.reset(seed=5)
    assert obs["camera"].shape == (4, 120, 160, 1) and obs["camera"].dtype == np.uint8
    assert obs["lidar"].shape == (4, 64)
    assert envs.observation_space.contains(obs)
    ended = 0
    for _ in range(300):
        obs, rewards, terminated, truncated, infos = envs.step(envs.action_space.sample())
        assert rewards.shape == (4,) and terminated.dtype == bool
        done = terminated | truncated
        if done.any():
            ended += int(done.sum())
            assert infos["_final_info"][done].all()
            assert all(s for s in np.asarray(infos["final_info"]["episode_status"], dtype=object)[done])
    assert ended > 0
    # the same seed, the same batch as a single env with that seed
    single = chicane.RaceEnv(track="easy-oval", lidar=True)
    o, _ = single.reset(seed=5)
    obs, _ = envs.reset(seed=5)
    np.testing.assert_array_equal(o["camera"], obs["camera"][0])
    with pytest.raises(ValueError, match="num_envs"):
        chicane.VecEnv(0)
    with pytest.raises(ValueError, match="index out of range"):
        envs.step([0, 1, 2, 99])


def test_vec_env_trains_on_several_tracks_from_a_run_file(tmp_path):
    cfg = tmp_path / "multi.toml"
    cfg.write_text(
        'track = ["easy-oval", "speedway"]\ntrack_switch_episodes = 1\n'
        "[sim.episode]\nmax_steps = 5\n"
    )
    envs = chicane.VecEnv(2, config=str(cfg))
    _, infos = envs.reset(seed=0)
    assert list(infos["track"]) == ["easy-oval", "speedway"]
    seen = set()
    for _ in range(12):
        _, _, _, _, infos = envs.step(np.zeros(2, dtype=np.int64))
        if "final_info" in infos:
            seen.update(t for t in infos["final_info"]["track"] if t)
    assert seen == {"easy-oval", "speedway"}
    env = chicane.RaceEnv(config=str(cfg))
    _, info = env.reset(seed=0)
    assert info["track"] == "easy-oval"


def test_randomisation_and_scenery_from_a_run_file(tmp_path):
    """[sim.scenery], [sim.camera_realism] and [sim.physics_randomization]
    reach the Python env: frames change, the same seed repeats them, and a
    bad value is a ValueError naming the field."""
    plain = chicane.RaceEnv(track="technical-loop")
    cfg = tmp_path / "real.toml"
    cfg.write_text(
        'track = "technical-loop"\n'
        "[sim.scenery]\nwall_height = 0.6\nbackground_objects = 30\n"
        "shadows = 40\ntape_strips = 60\nreflections = 20\n"
        "[sim.camera_realism]\nvignetting = 0.35\n"
        "[sim.physics_randomization]\nenabled = true\naction_noise = 0.1\n"
    )
    real = chicane.RaceEnv(config=str(cfg))
    a, _ = real.reset(seed=2)
    p, _ = plain.reset(seed=2)
    # a camera-only env observes the frame itself
    assert a.shape == p.shape == real.observation_space.shape
    assert np.count_nonzero(a != p) > 500
    b, _ = real.reset(seed=2)
    np.testing.assert_array_equal(a, b)
    bad = tmp_path / "bad.toml"
    bad.write_text('track = "technical-loop"\n[sim.scenery]\nshadows = 1000\n')
    with pytest.raises(ValueError, match="scenery.shadows"):
        chicane.RaceEnv(config=str(bad))
