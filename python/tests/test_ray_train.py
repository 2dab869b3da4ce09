"""Distributed training on a local two-node Ray cluster, on 127.0.0.1 only:
updates with two rollout actors, a worker killed mid-rollout, resume, and
the command line."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

# before Ray starts any process: every node, the GCS and the driver on
# 127.0.0.1 (ray 2.60 otherwise advertises the machine's network address)
os.environ["RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"] = "0"

import pytest  # noqa: E402
import ray  # noqa: E402
from ray.cluster_utils import Cluster  # noqa: E402

from chicane.ray_train import RayTrainer, parse_duration  # noqa: E402

SMALL = """track = "easy-oval"
seed = 11

[hyperparameters]
num_episodes_between_training = 4
batch_size = 64
num_epochs = 1
"""


@pytest.fixture(scope="module")
def cluster():
    """A head node and one more node, one CPU each, on 127.0.0.1."""
    args = dict(num_cpus=1, node_ip_address="127.0.0.1", object_store_memory=80 * 1024 * 1024)
    c = Cluster(initialize_head=True, head_node_args=dict(args, include_dashboard=False))
    c.add_node(**args)
    c.wait_for_nodes()
    ray.init(address=c.address, log_to_driver=False)
    yield c
    ray.shutdown()
    c.shutdown()


def small_config(tmp_path: Path) -> Path:
    p = tmp_path / "small.toml"
    p.write_text(SMALL)
    return p


def metrics(run: Path) -> tuple[list[dict], list[dict]]:
    lines = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    episodes = [line["record"] for line in lines if line["type"] == "episode"]
    iterations = [line["record"] for line in lines if line["type"] == "iteration"]
    return episodes, iterations


def test_every_ray_process_is_on_localhost(cluster):
    nodes = [n for n in ray.nodes() if n["Alive"]]
    assert len(nodes) == 2
    for n in nodes:
        assert n["NodeManagerAddress"] == "127.0.0.1", n
    assert ray.util.get_node_ip_address() == "127.0.0.1"
    assert cluster.address.startswith("127.0.0.1:")


def test_two_workers_on_two_nodes_train(cluster, tmp_path):
    run = tmp_path / "run"
    with RayTrainer(run, small_config(tmp_path), workers=2, envs_per_worker=1) as trainer:
        assert trainer.worker_addresses() == ["127.0.0.1", "127.0.0.1"]
        summary = trainer.run(max_updates=2)
        assert summary.iterations == 2 and summary.workers_lost == 0
        episodes, iterations = metrics(run)
        assert [r["iteration"] for r in iterations] == [1, 2]
        # every episode logged once, numbered in order; 2 per worker per update
        assert [e["episode"] for e in episodes] == list(range(len(episodes)))
        assert len(episodes) >= 2 * 2 * 2
        assert summary.total_steps == sum(sum(r["batch_env_steps"]) for r in summary.records)
        # the same run folder as `chicane train`
        for f in ["run.toml", "agent.json", "model_metadata.json", "training_metrics.json", "training.png", "lap_times.png"]:
            assert (run / f).is_file(), f
        assert (run / "checkpoints" / "iter-000002" / "model.bpk").is_file()
        traced = set()
        for f in (run / "training-simtrace").iterdir():
            traced |= {int(row.split(",")[0]) for row in f.read_text().splitlines()[1:]}
        assert traced == set(range(len(episodes)))

    # a new driver continues the run with --resume, and refuses without it
    with pytest.raises(ValueError, match="--resume"):
        RayTrainer(run, small_config(tmp_path), workers=1, envs_per_worker=1)
    with RayTrainer(run, small_config(tmp_path), workers=1, envs_per_worker=1, resume=True) as again:
        rec = again.step()
    assert rec["iteration"] == 3
    episodes2, iterations2 = metrics(run)
    assert [r["iteration"] for r in iterations2] == [1, 2, 3]
    assert [e["episode"] for e in episodes2] == list(range(len(episodes2)))


def test_a_killed_worker_is_restarted_and_training_goes_on(cluster, tmp_path):
    run = tmp_path / "run"
    # long rollouts (steps mode), so that the kill lands mid-rollout
    with RayTrainer(run, small_config(tmp_path), workers=2, envs_per_worker=1, steps_per_env=3000) as trainer:
        first = trainer.step()
        assert first["workers_lost"] == []
        pids = trainer.worker_pids()
        trainer.submit()
        time.sleep(0.5)
        os.kill(pids[0], signal.SIGKILL)
        hit = trainer.finish()
        assert hit["workers_lost"] == [0], "the kill should have landed mid-rollout"
        assert len(hit["batch_env_steps"]) == 1
        after = trainer.step()
        assert after["workers_lost"] == []
        assert len(after["batch_env_steps"]) == 2, "the restarted worker contributes again"
        new_pids = trainer.worker_pids()
        assert new_pids[0] != pids[0] and new_pids[1] == pids[1]

    records = [first, hit, after]
    episodes, iterations = metrics(run)
    assert [r["iteration"] for r in iterations] == [1, 2, 3]
    assert [e["episode"] for e in episodes] == list(range(len(episodes)))
    # the dropped rollout's steps are not counted; the others all are
    total = sum(sum(r["batch_env_steps"]) for r in records)
    assert iterations[-1]["total_steps"] == total == trainer.learner.state["total_steps"]
    assert all(s == 3000 for r in records for s in r["batch_env_steps"])


def test_durations():
    assert parse_duration("90") == 90
    assert parse_duration("10m") == 600
    assert parse_duration("1h30m") == 5400
    assert parse_duration("10 minutes") == 600
    with pytest.raises(ValueError, match="10 parsecs"):
        parse_duration("10 parsecs")


def test_command_line_trains_and_rejects_bad_input(tmp_path):
    cfg = small_config(tmp_path)
    out = tmp_path / "cli"
    env = dict(os.environ)
    done = subprocess.run(
        [sys.executable, "-m", "chicane.ray_train", str(cfg), "--out", str(out), "--workers", "1",
         "--envs-per-worker", "1", "--max-updates", "1"],
        capture_output=True, text=True, env=env, timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert "iter 1" in done.stdout and "stopped: max_updates" in done.stdout
    assert (out / "checkpoints" / "iter-000001").is_dir()

    bad = subprocess.run(
        [sys.executable, "-m", "chicane.ray_train", str(tmp_path / "missing.toml"), "--out", str(tmp_path / "x")],
        capture_output=True, text=True, env=env, timeout=120,
    )
    assert bad.returncode == 2
    assert "missing.toml" in bad.stderr
    late = subprocess.run(
        [sys.executable, "-m", "chicane.ray_train", "--max-time", "soon"],
        capture_output=True, text=True, env=env, timeout=120,
    )
    assert late.returncode == 2 and "max_time: `soon`" in late.stderr
    typo = tmp_path / "typo.toml"
    typo.write_text('network = "DEEP_CONVOLUTIONAL_NETWORK_SHALOW"\n')
    bad = subprocess.run(
        [sys.executable, "-m", "chicane.ray_train", str(typo), "--out", str(tmp_path / "y")],
        capture_output=True, text=True, env=env, timeout=120,
    )
    assert bad.returncode == 2
    assert (
        "typo.toml: network: unknown network `DEEP_CONVOLUTIONAL_NETWORK_SHALOW` "
        "(did you mean `DEEP_CONVOLUTIONAL_NETWORK_SHALLOW`?)"
    ) in bad.stderr


def test_the_viewer_charts_a_ray_run_and_its_stop_button_ends_it(cluster, tmp_path):
    import urllib.request

    run = tmp_path / "watched"
    with RayTrainer(run, small_config(tmp_path), workers=1, envs_per_worker=1) as trainer:
        url = trainer.learner.start_viewer("127.0.0.1:0")
        assert url.startswith("http://127.0.0.1:")
        trainer.step()
        get = lambda path: json.loads(urllib.request.urlopen(url + path, timeout=10).read())  # noqa: E731
        status = get("status")
        assert status["kind"] == "training" and status["iteration"] == 1 and status["state"] == "running"
        assert status["tracks"] == ["easy-oval"] and "Ray" in status["note"]
        m = get("metrics")
        assert len(m["episodes"]) >= 4 and m["iterations"][0]["iteration"] == 1
        assert get("metrics?episodes_from=2")["episodes"][0]["episode"] == 2
        stop = urllib.request.Request(url + "stop", method="POST")
        assert json.loads(urllib.request.urlopen(stop, timeout=10).read()) == {"stopping": True}
        summary = trainer.run(max_updates=10)
        assert summary.stop_reason == "interrupted" and summary.iterations == 2
        assert get("status")["state"] == "stopping"
        trainer.learner.close_viewer(summary.stop_reason)
    assert (run / "checkpoints" / "iter-000002" / "model.bpk").is_file()
    with RayTrainer(tmp_path / "other", small_config(tmp_path), workers=1, envs_per_worker=1) as other:
        with pytest.raises(ValueError, match="HOST:PORT"):
            other.learner.start_viewer("x")
