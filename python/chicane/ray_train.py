"""Train a chicane run with rollout workers on a Ray cluster.

    python -m chicane.ray_train [RUN.toml] [--address ADDR] [--workers N]
        [--envs-per-worker K] [--out DIR] [--max-updates N] [--max-time T]
        [--resume]

Ray has no Rust client, so this driver is Python; the work is Rust: every
rollout worker is a Ray actor running a chicane ``VecEnv`` and the current
policy (``chicane._chicane.RustRolloutWorker``), and the learner in the
driver process runs chicane's PPO update (``RustLearner``) and broadcasts
the new weights through Ray's object store. Updates are synchronous, as
with DeepRacer's multiple RoboMaker workers: each worker collects
``ceil(num_episodes_between_training / workers)`` episodes, the learner
updates on all of them and writes the same run folder as ``chicane train``
(checkpoints, ``metrics.jsonl``, sim-traces, ``training_metrics.json``,
``training.png``), so ``chicane evaluate`` and ``chicane export`` work on it.

Faults: a worker whose process dies is restarted by Ray
(``max_restarts=-1``); the rollout it was collecting is dropped and the
update goes on with the other workers' batches. Every update is
checkpointed, so killing the driver loses at most one update; ``--resume``
continues.

Without ``--address`` a single-machine Ray is started on 127.0.0.1 only.
Config files (the run TOML, reward script, track) must be readable at the
same path on every node.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from . import _chicane

__all__ = ["RayTrainer", "main", "parse_duration"]


def parse_duration(text: str) -> float:
    """Seconds in ``90``, ``90s``, ``10m``, ``1h30m`` or ``2h``, parsed by
    chicane's library as ``chicane train --max-time`` parses it.

    Raises:
        ValueError: naming the text and the accepted forms.
    """
    from . import _chicane

    return _chicane.parse_duration(text)


class _RolloutActor:
    """A rollout worker in a Ray actor process (wrapped with ``ray.remote``)."""

    def __init__(self, index: int, num_envs: int, seed: int, env_kwargs: dict, network: str):
        import ray

        if ray.get_runtime_context().was_current_actor_reconstructed:
            # a restarted worker must not replay the episodes of its first life
            seed = (seed * 6364136223846793005 + os.getpid()) % (2**63)
        self.index = index
        self.worker = _chicane.RustRolloutWorker(
            num_envs, seed, network=network, num_threads=1, **env_kwargs
        )

    def collect(self, weights: bytes, episodes: int | None, steps_per_env: int | None):
        return self.worker.collect(weights, episodes=episodes, steps_per_env=steps_per_env)

    def pid(self) -> int:
        return os.getpid()

    def node_address(self) -> str:
        import ray

        return ray.util.get_node_ip_address()


@dataclass
class Summary:
    """What a ``RayTrainer.run`` did."""

    stop_reason: str
    iterations: int
    episodes: int
    total_steps: int
    elapsed_s: float
    workers_lost: int
    records: list[dict] = field(default_factory=list)


class RayTrainer:
    """Synchronous distributed PPO: a learner here, rollout actors on Ray.

    Args:
        out: the run folder (as ``chicane train --out``): a local path, or an
            ``s3://bucket/prefix`` URL (a local mirror uploaded after every
            update, the checkpoint pointer last).
        config: a run TOML, a DeepRacer ``custom_files`` folder or None (the
            embedded defaults); local or an ``s3://`` URL, which every worker
            reads from S3.
        workers: rollout actors (each takes ``cpus_per_worker`` Ray CPUs).
        envs_per_worker: envs in each actor's VecEnv.
        resume: continue the run in ``out`` from its latest checkpoint.
        track, network, seed, lidar, camera: overrides, as for
            ``chicane.RaceEnv`` and ``chicane train --network``.
        steps_per_env: rollouts of this many steps per env instead of
            DeepRacer's episodes.

    Ray must be initialised (``ray.init``) before this is made.
    """

    def __init__(
        self,
        out: str | os.PathLike,
        config: str | os.PathLike | None = None,
        *,
        workers: int = 2,
        envs_per_worker: int = 2,
        resume: bool = False,
        track: str | None = None,
        network: str | None = None,
        seed: int | None = None,
        lidar: bool | None = None,
        camera: bool | None = None,
        steps_per_env: int | None = None,
        cpus_per_worker: float = 1.0,
    ):
        import ray

        if workers < 1:
            raise ValueError("workers must be at least 1")
        if envs_per_worker < 1:
            raise ValueError("envs_per_worker must be at least 1")
        env_kwargs = dict(
            config=None if config is None else str(config),
            track=track,
            lidar=lidar,
            camera=camera,
        )
        self.learner = _chicane.RustLearner(
            str(out), resume=resume, network=network, seed=seed, steps_per_env=steps_per_env, **env_kwargs
        )
        # an s3:// URL stays a string (Path would fold its //)
        self.out = out if str(out).startswith("s3://") else Path(out)
        self.steps_per_env = steps_per_env
        self.episodes_per_worker = math.ceil(self.learner.episodes_per_update / workers)
        actor = ray.remote(num_cpus=cpus_per_worker, max_restarts=-1, max_task_retries=0)(_RolloutActor)
        base = self.learner.reset_seed
        self.actors = [
            actor.remote(i, envs_per_worker, (base + 7919 * i) % (2**63), env_kwargs, self.learner.network)
            for i in range(workers)
        ]
        self.workers_lost = 0
        self._pending: list[Any] | None = None
        self._submitted = time.monotonic()

    def close(self) -> None:
        """Ends the rollout actors (their CPUs go back to the cluster)."""
        import ray

        for a in self.actors:
            ray.kill(a, no_restart=True)
        self.actors = []
        self._pending = None

    def __enter__(self) -> "RayTrainer":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def worker_pids(self) -> list[int]:
        """The process id of every rollout actor (for fault drills)."""
        import ray

        return ray.get([a.pid.remote() for a in self.actors])

    def worker_addresses(self) -> list[str]:
        """The node IP address of every rollout actor."""
        import ray

        return ray.get([a.node_address.remote() for a in self.actors])

    def submit(self) -> None:
        """Broadcasts the current weights and starts a rollout on every worker."""
        import ray

        weights = ray.put(self.learner.weights())
        episodes = None if self.steps_per_env else self.episodes_per_worker
        self._pending = [a.collect.remote(weights, episodes, self.steps_per_env) for a in self.actors]
        self._submitted = time.monotonic()

    def finish(self) -> dict:
        """Waits for the rollouts started by ``submit``, drops those of
        workers that died, and runs one update on the rest.

        Returns:
            the iteration record (as in ``metrics.jsonl``) plus
            ``checkpoint``, ``stop_reason``, ``workers_lost`` (indices of
            the workers whose rollout was dropped), ``batch_env_steps``,
            ``rollout_s`` (weights broadcast to the last batch back) and
            ``update_s`` (the learner's update, checkpoint and logs).

        Raises:
            RuntimeError: when every worker's rollout was lost.
        """
        import ray

        if self._pending is None:
            self.submit()
        pending, self._pending = self._pending, None
        batches, lost, steps = [], [], []
        for i, ref in enumerate(pending):
            try:
                batch, env_steps, _episodes = ray.get(ref)
            except ray.exceptions.RayActorError as e:
                lost.append(i)
                print(
                    f"worker {i} died ({type(e).__name__}); its partial rollout is dropped and Ray restarts it",
                    file=sys.stderr,
                )
                continue
            batches.append(batch)
            steps.append(env_steps)
        self.workers_lost += len(lost)
        if not batches:
            raise RuntimeError("every worker died during this rollout; nothing to learn from")
        collected = time.monotonic()
        rec = self.learner.update(batches)
        rec["workers_lost"] = lost
        rec["batch_env_steps"] = steps
        rec["rollout_s"] = collected - self._submitted
        rec["update_s"] = time.monotonic() - collected
        return rec

    def step(self) -> dict:
        """One synchronous round: ``submit`` then ``finish``."""
        self.submit()
        return self.finish()

    def run(
        self,
        max_updates: int | None = None,
        max_time: float | None = None,
        on_iteration: Callable[[dict], None] | None = None,
    ) -> Summary:
        """Trains until ``max_updates`` updates (in this call), ``max_time``
        seconds, the config's own limits (``term_cond_max_episodes``,
        ``term_cond_avg_score``) or the viewer's stop button
        (``stop_reason`` "interrupted"; the last update's checkpoint is
        kept); writes ``training.png`` after every update.
        """
        started = time.monotonic()
        records: list[dict] = []
        reason = "max_updates"
        while True:
            rec = self.step()
            records.append(rec)
            self.learner.plot()
            if on_iteration:
                on_iteration(rec)
            if rec.get("stop_reason"):
                reason = rec["stop_reason"]
                break
            if self.learner.stop_requested:
                reason = "interrupted"
                break
            if max_updates is not None and len(records) >= max_updates:
                reason = "max_updates"
                break
            if max_time is not None and time.monotonic() - started >= max_time:
                reason = "max_time"
                break
        st = self.learner.state
        return Summary(
            stop_reason=reason,
            iterations=st["iteration"],
            episodes=st["episodes"],
            total_steps=st["total_steps"],
            elapsed_s=st["elapsed_s"],
            workers_lost=self.workers_lost,
            records=records,
        )


def _print_iteration(rec: dict) -> None:
    best = f"{rec['best_lap']:.2f} s" if rec.get("best_lap") is not None else "-"
    lost = f" | workers lost {rec['workers_lost']}" if rec["workers_lost"] else ""
    print(
        f"[{rec['elapsed_s']:>7.1f} s] iter {rec['iteration']} | episodes {rec['episodes']} | "
        f"{rec['steps_per_s']:.0f} steps/s | reward {rec['mean_reward']:.1f} | "
        f"progress {rec['mean_progress']:.1f}% | laps {rec['laps']} | best lap {best} | "
        f"entropy {rec['update']['entropy']:.2f}{lost}",
        flush=True,
    )


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m chicane.ray_train",
        description="Train a chicane run with rollout workers on a Ray cluster "
        "(same run folder as `chicane train`).",
    )
    p.add_argument("config", nargs="?", help="run TOML or DeepRacer custom_files folder (default: built-in defaults)")
    p.add_argument("--address", help="Ray cluster address (e.g. 127.0.0.1:6379 or auto); default: start Ray on this machine, 127.0.0.1 only")
    p.add_argument("--workers", type=int, default=2, help="rollout workers (Ray actors), default 2")
    p.add_argument("--envs-per-worker", type=int, default=2, help="envs in each worker's VecEnv, default 2")
    p.add_argument("--out", help="run folder (default runs/ray-<time>)")
    p.add_argument("--max-updates", type=int, help="stop after this many PPO updates")
    p.add_argument("--max-time", help="stop after this long (90s, 10m, 1h)")
    p.add_argument("--resume", action="store_true", help="continue the run in --out from its latest checkpoint")
    p.add_argument("--track", help="track override: built-in name, .toml or DeepRacer .npy")
    p.add_argument("--network", help="network, as chicane train --network")
    p.add_argument("--seed", type=int, help="seed override")
    p.add_argument("--steps-per-env", type=int, help="rollouts of this many steps per env instead of episodes")
    p.add_argument(
        "--viewer",
        metavar="[HOST:]PORT",
        help="serve the live viewer (charts, status, top-down track, stop button) here; a port alone binds 127.0.0.1",
    )
    return p


def main(argv: list[str] | None = None) -> int:
    """The command line; returns the exit status (2 for bad input)."""
    args = _parser().parse_args(argv)
    try:
        max_time = parse_duration(args.max_time) if args.max_time else None
        if args.workers < 1 or args.envs_per_worker < 1:
            raise ValueError("--workers and --envs-per-worker must be at least 1")
        out = args.out or os.path.join("runs", time.strftime("ray-%Y%m%d-%H%M%S"))
        # bad configs and tracks are named before any Ray process starts
        _chicane.RustRaceEnv(config=args.config, track=args.track)
        import ray

        if not ray.is_initialized():
            if args.address:
                ray.init(address=args.address, log_to_driver=False)
            else:
                # every Ray process on 127.0.0.1 (ray 2.60 otherwise picks the
                # machine's network address for some of them)
                os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")
                ray.init(
                    address="local",
                    num_cpus=max(args.workers, os.cpu_count() or 1),
                    include_dashboard=False,
                    _node_ip_address="127.0.0.1",
                    log_to_driver=False,
                )
        trainer = RayTrainer(
            out,
            args.config,
            workers=args.workers,
            envs_per_worker=args.envs_per_worker,
            resume=args.resume,
            track=args.track,
            network=args.network,
            seed=args.seed,
            steps_per_env=args.steps_per_env,
        )
    except ValueError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    if args.viewer:
        try:
            print(f"viewer: {trainer.learner.start_viewer(args.viewer)}", file=sys.stderr, flush=True)
        except ValueError as e:
            trainer.close()
            print(f"error: {e}", file=sys.stderr)
            return 2
    print(
        f"training {out} with {args.workers} workers x {args.envs_per_worker} envs "
        f"({trainer.learner.network}, {trainer.episodes_per_worker} episodes per worker per update)",
        flush=True,
    )
    try:
        with trainer:
            summary = trainer.run(args.max_updates, max_time, _print_iteration)
    except KeyboardInterrupt:
        trainer.learner.close_viewer("interrupted (Ctrl-C)")
        st = trainer.learner.state
        print(
            f"interrupted after {st['iteration']} updates; the last checkpoint is kept: "
            f"continue with --resume --out {out}",
            file=sys.stderr,
        )
        return 130
    trainer.learner.close_viewer(summary.stop_reason)
    print(
        f"stopped: {summary.stop_reason}\n  {summary.iterations} iterations, {summary.episodes} episodes, "
        f"{summary.total_steps} steps in {summary.elapsed_s:.1f} s; workers lost {summary.workers_lost}\n"
        f"  evaluate it: chicane evaluate {out}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
