"""Run configs on S3 for Python and Ray: against moto's S3 server (moto
5.2.1 from PyPI) on 127.0.0.1, started here; the bucket is made and the
config uploaded with boto3. `chicane.RaceEnv` and every Ray rollout worker
read the config from its s3:// URL, so no node needs it at a local path."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

os.environ["RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"] = "0"

import boto3  # noqa: E402
import pytest  # noqa: E402
import ray  # noqa: E402
from ray.cluster_utils import Cluster  # noqa: E402

import chicane  # noqa: E402
from chicane.ray_train import RayTrainer  # noqa: E402

SMALL = """track = "easy-oval"
seed = 5

[hyperparameters]
num_episodes_between_training = 4
batch_size = 64
num_epochs = 1
"""


@pytest.fixture(scope="module")
def s3(tmp_path_factory):
    """A moto S3 server with a bucket `configs` holding `small/run.toml`;
    the AWS variables point this process (and the Ray nodes it starts) at it."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = subprocess.Popen(
        [str(Path(sys.executable).parent / "moto_server"), "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    endpoint = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            assert time.monotonic() < deadline, "moto did not start"
            time.sleep(0.2)
    env = {
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_REGION": "us-east-1",
        "CHICANE_CACHE_DIR": str(tmp_path_factory.mktemp("cache")),
    }
    old = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    client = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1")
    client.create_bucket(Bucket="configs")
    client.put_object(Bucket="configs", Key="small/run.toml", Body=SMALL.encode())
    yield client
    for k, v in old.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v
    server.kill()
    server.wait()


def test_a_race_env_reads_its_config_from_s3(s3):
    env = chicane.RaceEnv(config="s3://configs/small/run.toml")
    obs, info = env.reset(seed=1)
    assert info["track"] == "easy-oval"
    with pytest.raises(Exception, match="nothing at s3://configs/missing"):
        chicane.RaceEnv(config="s3://configs/missing")
    with pytest.raises(Exception, match="S3 bucket `no-such-bucket` does not exist"):
        chicane.RaceEnv(config="s3://no-such-bucket/run.toml")


def test_ray_workers_read_the_config_from_s3(s3, tmp_path):
    args = dict(num_cpus=1, node_ip_address="127.0.0.1", object_store_memory=80 * 1024 * 1024)
    c = Cluster(initialize_head=True, head_node_args=dict(args, include_dashboard=False))
    c.add_node(**args)
    c.wait_for_nodes()
    ray.init(address=c.address, log_to_driver=False)
    try:
        with RayTrainer(tmp_path / "run", config="s3://configs/small/run.toml", workers=2, envs_per_worker=1) as t:
            t.submit()
            rec = t.finish()
        assert rec["iteration"] == 1
        assert rec["workers_lost"] == []
        assert "easy-oval" in (tmp_path / "run" / "run.toml").read_text()
        # the run folder on S3 too: synced after the update, pointer included
        s3.create_bucket(Bucket="runs")
        with RayTrainer("s3://runs/ray-1", config="s3://configs/small/run.toml", workers=2, envs_per_worker=1) as t:
            t.submit()
            t.finish()
        keys = [o["Key"] for o in s3.list_objects_v2(Bucket="runs")["Contents"]]
        assert "ray-1/run.toml" in keys and "ray-1/metrics.jsonl" in keys, keys
        latest = s3.get_object(Bucket="runs", Key="ray-1/checkpoints/latest")["Body"].read().decode()
        assert f"ray-1/checkpoints/{latest}/model.bpk" in keys, keys
    finally:
        ray.shutdown()
        c.shutdown()
