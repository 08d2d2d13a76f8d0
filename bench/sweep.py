"""The same 32-variant sweep trained by the local executor (one process, every variant in lockstep) and by
the Ray executor (groups as actors on a local Ray cluster), in variant·steps per second.

Baselines, taken in the same run (this machine is noisy): local with the server's default thread count
(NORMSCOPE_TORCH_THREADS, one core left for the server) and local with every core. Ray gets the same cores:
ray.init(num_cpus=<cores>), groups of --per-group variants at one CPU each. The Ray time counts training
only (the trainers' own run); the actors' start (torch imported, data loaded, calibration) is reported apart.
Each side runs --repeats times, interleaved; the best of each is compared. Prints one JSON line.

    python bench/sweep.py [--steps 300] [--per-group 16] [--device cpu|cuda]
"""

import argparse
import json
import os
import time

import torch

from normscope.catalog import DataRoot
from normscope.config import ExecutorSettings, Settings
from normscope.engine.trainer import Trainer
from normscope.groups.ray_driver import RayGroups
from normscope.schemas import ExperimentSpec

TARGET = 0.8  # Ray's rate over the local executor's, at least


def sweep(steps: int) -> ExperimentSpec:
    return ExperimentSpec.model_validate(
        {
            "name": "bench sweep",
            "dataset": {"name": "digits"},
            "model": {"hidden": [64, 64, 64]},
            "steps": steps,
            "probe": {"every": 10, "eval_every": 5},
            "sweep": {
                "n": 16,
                "seed": 0,
                "params": {
                    "optimizer.lr": {"log_uniform": [1e-3, 1.0]},
                    "optimizer.momentum": {"one_minus_log_uniform": [1e-2, 0.5]},
                },
                "norms": ["none", "batch"],
            },
        }
    )


def local(spec: ExperimentSpec, device: str, threads: int) -> float:
    torch.set_num_threads(threads)
    trainer = Trainer(spec, device)
    t0 = time.perf_counter()
    trainer.run()
    return len(spec.variants) * spec.steps / (time.perf_counter() - t0)


def on_ray(spec: ExperimentSpec, device: str, settings: ExecutorSettings) -> tuple[float, float]:
    t0 = time.perf_counter()
    groups = RayGroups(
        spec, device, settings, DataRoot(), lambda f, late: None, lambda *a: None, lambda t: None
    )
    groups.layout()
    t1 = time.perf_counter()
    assert groups.run() == ("done", None)
    return len(spec.variants) * spec.steps / (time.perf_counter() - t1), t1 - t0


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--per-group", type=int, default=16)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    args = parser.parse_args()
    import ray

    cores = os.cpu_count() or 2
    ray.init(num_cpus=cores, include_dashboard=False, log_to_driver=False, logging_level="WARNING")
    spec = sweep(args.steps)
    settings = ExecutorSettings("ray", "auto", args.per_group, group_cpus=1.0, group_gpus=0.5)
    default_threads = Settings().torch_threads
    rates: dict[str, list[float]] = {"local_default": [], "local_all_cores": [], "ray": []}
    starts = []
    local(sweep(20), args.device, cores)  # first-call costs out of the way
    for _ in range(args.repeats):
        rates["local_default"].append(local(spec, args.device, default_threads))
        rates["local_all_cores"].append(local(spec, args.device, cores))
        rate, start = on_ray(spec, args.device, settings)
        rates["ray"].append(rate)
        starts.append(start)
    best = {k: max(v) for k, v in rates.items()}
    baseline = max(best["local_default"], best["local_all_cores"])
    print(
        json.dumps(
            {
                "bench": "sweep",
                "device": args.device,
                "variants": len(spec.variants),
                "steps": spec.steps,
                "groups": -(-len(spec.variants) // args.per_group),
                "cores": cores,
                "default_threads": default_threads,
                "variant_steps_per_s": {k: round(v, 1) for k, v in best.items()},
                "ray_start_s": round(min(starts), 2),
                "ray_over_best_local": round(best["ray"] / baseline, 3),
                "target": TARGET,
                "met": best["ray"] >= TARGET * baseline,
            }
        )
    )


if __name__ == "__main__":
    main()
