"""Throughput at real scale: images/s of a VGG-11 plain/BN pair on CIFAR-shaped data, ours vs a bare loop.

For each precision (fp32, bf16) and memory format (channels-last on, off): a bare PyTorch loop (the same two
models, batches, crop/flip and optimizer, nothing else), our trainer with the probe off (hooks attached, no
sampled step in the timed window) and with a sample every 10 steps. Rounds alternate the three; medians are
compared. Full size on CUDA (batch 256, width 64); small on a CPU (batch 32, width 16) unless told otherwise.
Prints one JSON line.
"""

import argparse
import json
import statistics
import time
from contextlib import ExitStack

import torch
import torch.nn.functional as F

from normscope.engine.data import Dataset, crop_flip
from normscope.engine.trainer import Trainer
from normscope.schemas import ExperimentSpec

TARGET_OFF = 0.95  # ours with the probe off, as a share of the bare loop's images/s
N_IMAGES = 10_000


def cifar_shaped(seed: int = 0) -> Dataset:
    """Random uint8 images of CIFAR's shape: the throughput does not depend on what the pixels show."""
    gen = torch.Generator().manual_seed(seed)
    x = torch.randint(0, 256, (N_IMAGES + 1000, 3, 32, 32), dtype=torch.uint8, generator=gen)
    y = torch.randint(0, 10, (N_IMAGES + 1000,), generator=gen)
    return Dataset(x[:N_IMAGES], y[:N_IMAGES], x[N_IMAGES:], y[N_IMAGES:], 10, (3, 32, 32))


def spec(width: int, batch: int, precision: str, every: int) -> ExperimentSpec:
    return ExperimentSpec.model_validate(
        {
            "name": "bench: VGG-11 pair",
            "dataset": {"name": "cifar10"},
            "model": {"kind": "vgg", "depth": 11, "width": width, "activation": "relu", "init": "he"},
            "optimizer": {"lr": 0.05, "momentum": 0.9},
            "batch_size": batch,
            "steps": 100_000,  # more than any window: the last step (always sampled) is never reached
            "precision": precision,
            "variants": [{"label": "plain"}, {"label": "BN", "norm": "batch"}],
            "probe": {"every": every, "eval_every": 100_000},
        }
    )


def _sync(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def _images_per_s(t: Trainer, steps: int, device: str, step) -> float:
    for _ in range(3):  # warm-up: kernels chosen, allocator filled
        step()
    _sync(device)
    t0 = time.perf_counter()
    for _ in range(steps):
        step()
    _sync(device)
    return steps * sum(r.batch_size for r in t.runs) / (time.perf_counter() - t0)


def bare(t: Trainer, steps: int, device: str) -> float:
    """What a hand-written loop does for the same two models: batch, crop/flip, forward, backward, step."""
    sampler = next(iter(t.samplers.values()))

    def step() -> None:
        batch = sampler.next()
        for r in t.runs:
            x, y = crop_flip(r.data[0][batch[:, 0]], batch[:, 1:]), r.data[1][batch[:, 0]]
            with torch.autocast(t.device.type, dtype=torch.bfloat16, enabled=t.autocast):
                loss = F.cross_entropy(r.model(x), y)
            r.optimizer.zero_grad(set_to_none=True)
            loss.backward()
            r.optimizer.step()

    return _images_per_s(t, steps, device, step)


def ours(t: Trainer, steps: int, device: str) -> float:
    with ExitStack() as stack:
        for r in t.runs:
            stack.enter_context(r.probe.attached())
        return _images_per_s(t, steps, device, t.advance)


def measure(args: argparse.Namespace, data: Dataset, precision: str, channels_last: bool) -> dict:
    runs: dict[str, list[float]] = {"bare": [], "probe_off": [], "every10": []}
    for _ in range(args.rounds):
        for name, every, fn in (("bare", 100_000, bare), ("probe_off", 100_000, ours), ("every10", 10, ours)):
            t = Trainer(
                spec(args.width, args.batch, precision, every),
                args.device,
                dataset=data,
                channels_last=channels_last,
            )
            runs[name].append(fn(t, args.steps, args.device))
    med = {k: statistics.median(v) for k, v in runs.items()}
    return {
        "images_per_s": {k: round(v, 1) for k, v in med.items()},
        "probe_off_share": round(med["probe_off"] / med["bare"], 4),
        "every10_share": round(med["every10"] / med["bare"], 4),
        "meets_probe_off": med["probe_off"] / med["bare"] >= TARGET_OFF,
    }


def main() -> None:
    cuda = torch.cuda.is_available()
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--device", default="cuda:0" if cuda else "cpu")
    p.add_argument("--batch", type=int, default=256 if cuda else 32)
    p.add_argument("--width", type=int, default=64 if cuda else 16)
    p.add_argument("--steps", type=int, default=100 if cuda else 10)
    p.add_argument("--rounds", type=int, default=5 if cuda else 3)
    p.add_argument("--threads", type=int, default=torch.get_num_threads())
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    data = cifar_shaped()
    result: dict = {
        "bench": "gpu",
        "device": torch.cuda.get_device_name(args.device) if args.device.startswith("cuda") else "cpu",
        "torch": torch.__version__,
        "model": f"VGG-11 width {args.width}, plain + BN, batch {args.batch}, 32x32x3 uint8, crop/flip",
        "target_probe_off_share": TARGET_OFF,
    }
    for precision in ("fp32", "bf16"):
        for channels_last in (False, True):
            key = f"{precision}_{'channels_last' if channels_last else 'contiguous'}"
            result[key] = measure(args, data, precision, channels_last)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
