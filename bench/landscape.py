"""Landscape probe cost: what one probe costs, and that the training steps between probes are not slowed.

Prints one JSON line. Each step is timed on its own (with a device sync), in alternating rounds with the
probe off and on; steps are classed as unsampled, sampled (a frame), or sampled with a landscape probe.
"""

import argparse
import json
import statistics
import time
from contextlib import ExitStack

import torch

from normscope.engine.trainer import Trainer
from normscope.lessons import builtin_lesson
from normscope.schemas import ExperimentSpec


def _sync(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def timed_steps(spec: ExperimentSpec, device: str, landscape_every: int, steps: int) -> dict[str, list]:
    spec = spec.model_copy(deep=True)
    spec.steps = steps
    spec.probe.landscape_every = landscape_every
    spec.probe.eval_every = 100_000  # evaluation is not what is measured
    t = Trainer(spec, device)
    times: dict[str, list[float]] = {"unsampled": [], "sampled": [], "landscape": []}
    with ExitStack() as stack:
        for r in t.runs:
            stack.enter_context(r.probe.attached())
        for _ in range(steps):
            _sync(device)
            t0 = time.perf_counter()
            kind = t.advance()
            _sync(device)
            times[kind].append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        t.flush()  # the frames still being built off the training thread count in the totals
        times["flush"] = [time.perf_counter() - t0]
    return times


def measure(spec: ExperimentSpec, device: str, steps: int, rounds: int, landscape_every: int) -> dict:
    off: dict[str, list[float]] = {"unsampled": [], "sampled": []}
    on: dict[str, list[float]] = {"unsampled": [], "sampled": [], "landscape": []}
    totals: dict[str, list[float]] = {"off": [], "on": []}
    timed_steps(spec, device, 0, 2 * spec.probe.every)  # warm-up: allocator, kernels, first touch
    for _ in range(rounds):
        for arm, every, into in (("off", 0, off), ("on", landscape_every, on)):
            times = timed_steps(spec, device, every, steps)
            for k, v in times.items():
                if k in into:
                    into[k].extend(v)
            totals[arm].append(sum(sum(v) for v in times.values()))
    med = {f"{arm}_{k}": statistics.median(v) for arm, d in (("off", off), ("on", on)) for k, v in d.items()}
    probe_ms = (med["on_landscape"] - med["on_sampled"]) * 1e3
    return {
        "variants": len(spec.variants),
        "layers": len(spec.model.hidden) + 1,
        "etas": len(spec.probe.landscape_steps),
        "step_ms": round(med["off_unsampled"] * 1e3, 4),
        "between_probes_ratio": round(med["on_unsampled"] / med["off_unsampled"], 4),
        "sampled_ratio": round(med["on_sampled"] / med["off_sampled"], 4),
        "probe_ms": round(probe_ms, 3),
        "probe_in_steps": round(probe_ms / (med["off_unsampled"] * 1e3), 2),
        "landscape_every_frames": landscape_every,
        "whole_run_ratio": round(statistics.median(totals["on"]) / statistics.median(totals["off"]), 4),
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--device", default="cuda:0" if torch.cuda.is_available() else "cpu")
    p.add_argument("--preset", default="landscape")
    p.add_argument("--steps", type=int, default=300)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--threads", type=int, default=1, help="torch threads (1 keeps a noisy machine steadier)")
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    spec = builtin_lesson(args.preset).spec
    every = spec.probe.landscape_every or 5
    result = {"bench": "landscape", "device": args.device, "torch": torch.__version__, "preset": args.preset}
    result.update(measure(spec, args.device, args.steps, args.rounds, every))
    print(json.dumps(result))


if __name__ == "__main__":
    main()
