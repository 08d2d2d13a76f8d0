"""Probe overhead: step-time ratios instrumented/plain, and our per-sample cost vs TensorBoard's histograms.

Prints one JSON line. Plain is the same models, batches and optimizer without any probe or per-step
bookkeeping; both are timed in alternating rounds of the same run, and medians are compared.
"""

import argparse
import json
import statistics
import tempfile
import time

import torch
import torch.nn.functional as F

from normscope.engine.data import Dataset
from normscope.engine.trainer import Trainer
from normscope.presets import get_preset
from normscope.schemas import ExperimentSpec

TARGETS = {"every10": 1.03, "every1": 1.25, "tensorboard_min_ratio": 10.0}


def bn_paper_spec() -> ExperimentSpec:
    return get_preset("ioffe-szegedy").spec.model_copy(deep=True)


def wide_relu_spec() -> ExperimentSpec:
    return ExperimentSpec.model_validate(
        {
            "name": "784-256x4-10 relu",
            "model": {"hidden": [256] * 4, "activation": "relu", "init": "he"},
            "optimizer": {"lr": 0.05, "momentum": 0.9},
            "batch_size": 128,
            "variants": [{"label": "plain"}, {"label": "BN", "norm": "batch"}],
        }
    )


def random_784(n: int = 6000) -> Dataset:
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(n, 784, generator=gen)
    y = torch.randint(0, 10, (n,), generator=gen)
    return Dataset(x[:5000], y[:5000], x[5000:], y[5000:], n_classes=10, image_shape=None)


def _trainer(spec: ExperimentSpec, every: int, steps: int, device: str, dataset: Dataset | None) -> Trainer:
    spec = spec.model_copy(deep=True)
    spec.steps = steps
    spec.probe.every = every
    spec.probe.eval_every = 100_000  # evaluation is not probe cost: only the final step evaluates
    return Trainer(spec, device, dataset=dataset)


def _sync(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def time_plain(spec: ExperimentSpec, steps: int, device: str, dataset: Dataset | None) -> float:
    t = _trainer(spec, 1, steps, device, dataset)
    _sync(device)
    t0 = time.perf_counter()
    for _ in range(steps):
        batches = {b: s.next() for b, s in t.samplers.items()}
        for r in t.runs:
            idx = batches[r.batch_size]
            loss = F.cross_entropy(r.model(r.data[0][idx]), r.data[1][idx])
            r.optimizer.zero_grad(set_to_none=True)
            loss.backward()
            r.optimizer.step()
    _sync(device)
    return (time.perf_counter() - t0) / steps


def time_probed(spec: ExperimentSpec, every: int, steps: int, device: str, dataset: Dataset | None) -> float:
    t = _trainer(spec, every, steps, device, dataset)
    _sync(device)
    t0 = time.perf_counter()
    t.run()
    _sync(device)
    return (time.perf_counter() - t0) / steps


def step_ratios(spec: ExperimentSpec, steps: int, rounds: int, device: str, dataset: Dataset | None) -> dict:
    times: dict[str, list[float]] = {"plain": [], "every1": [], "every10": []}
    time_plain(spec, 50, device, dataset)  # warm-up: allocator, kernels, first-touch
    for _ in range(rounds):
        times["plain"].append(time_plain(spec, steps, device, dataset))
        times["every10"].append(time_probed(spec, 10, steps, device, dataset))
        times["every1"].append(time_probed(spec, 1, steps, device, dataset))
    med = {k: statistics.median(v) for k, v in times.items()}
    return {
        "plain_ms": round(med["plain"] * 1e3, 4),
        "every10_ratio": round(med["every10"] / med["plain"], 4),
        "every1_ratio": round(med["every1"] / med["plain"], 4),
    }


def tensorboard_ratio(spec: ExperimentSpec, device: str, dataset: Dataset | None, reps: int) -> dict:
    """One sample of every tap of every run: our pack + host copy + unpack vs add_histogram per tensor."""
    from torch.utils.tensorboard import SummaryWriter

    t = _trainer(spec, 1, 1, device, dataset)
    batches = {b: s.next() for b, s in t.samplers.items()}
    for r in t.runs:
        r.probe.attach()
        t._train_step(r, batches[r.batch_size], sampled=True)
    captured = {r.index: dict(r.probe._captured) for r in t.runs}
    tensors = [(f"run{r}/{k[0]}/{k[1]}", v) for r, caps in captured.items() for k, v in caps.items()]

    def ours() -> None:
        vec = torch.cat([r.probe.pack() for r in t.runs]).cpu().numpy()
        pos = 0
        for r in t.runs:
            n = r.probe.packed_size()
            r.probe.unpack(vec[pos : pos + n])
            pos += n

    def rearm() -> None:
        for r in t.runs:
            r.probe._captured = dict(captured[r.index])

    with tempfile.TemporaryDirectory() as logdir:
        writer = SummaryWriter(logdir)
        ours_t, tb_t = [], []
        for i in range(reps):
            rearm()
            _sync(device)
            t0 = time.perf_counter()
            ours()
            ours_t.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            for name, x in tensors:
                writer.add_histogram(name, x, i, bins=spec.probe.bins)
            tb_t.append(time.perf_counter() - t0)
        writer.close()
    o, b = statistics.median(ours_t[1:]), statistics.median(tb_t[1:])
    return {
        "ours_ms": round(o * 1e3, 3),
        "tensorboard_ms": round(b * 1e3, 3),
        "tensorboard_ratio": round(b / o, 2),
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--device", default="cuda:0" if torch.cuda.is_available() else "cpu")
    p.add_argument("--steps", type=int, default=400)
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument(
        "--threads", type=int, default=1, help="torch threads (1 keeps the noisy machine steadier)"
    )
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    wide = random_784()
    result: dict = {"bench": "probe", "device": args.device, "torch": torch.__version__, "targets": TARGETS}
    for name, spec, data in (
        ("bn_paper_mlp_b60", bn_paper_spec(), None),
        ("relu_784_256x4_b128", wide_relu_spec(), wide),
    ):
        r = step_ratios(spec, args.steps, args.rounds, args.device, data)
        r.update(tensorboard_ratio(spec, args.device, data, reps=30))
        r["meets"] = {
            "every10": r["every10_ratio"] <= TARGETS["every10"],
            "every1": r["every1_ratio"] <= TARGETS["every1"],
            "tensorboard": r["tensorboard_ratio"] >= TARGETS["tensorboard_min_ratio"],
        }
        result[name] = r
    print(json.dumps(result))


if __name__ == "__main__":
    main()
