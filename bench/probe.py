"""Probe overhead: step-time ratios instrumented/plain, our per-sample cost vs TensorBoard's histograms, and
wandb.watch(log="all") on the same models at the same frequencies; a CIFAR-sized VGG-11 pair's sample cost.

Prints one JSON line. Plain is the same models, batches and optimizer without any probe or per-step
bookkeeping; all are timed in alternating rounds of the same run, each against its round's plain loop, and
the median ratio is reported with its range. capture10/capture1 are the trainer with its frames thread's work
dropped: the training thread's own share of a sample, a floor no frame building can go under. wandb runs
offline (a bench-only extra: pip install -e '.[bench]'); without it its columns say so.
"""

import argparse
import json
import statistics
import tempfile
import time

import torch
import torch.nn.functional as F
from gpu import cifar_shaped  # bench/ is on the path when a bench runs as a script

from normscope.engine.data import Dataset
from normscope.engine.probe import Packer
from normscope.engine.trainer import Trainer
from normscope.lessons import builtin_lesson
from normscope.realtime import gzip_text
from normscope.schemas import ExperimentSpec

TARGETS = {
    "every10": 1.05,
    "every1": 1.5,
    "tensorboard_min_ratio": 10.0,
    "conv_sample_steps": 0.5,
    "resnet56_frame_bytes": 100_000,
}


def bn_paper_spec() -> ExperimentSpec:
    return builtin_lesson("ioffe-szegedy").spec.model_copy(deep=True)


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


def _trainer(
    spec: ExperimentSpec,
    every: int,
    steps: int,
    device: str,
    dataset: Dataset | None,
    trainer: type[Trainer] = Trainer,
) -> Trainer:
    spec = spec.model_copy(deep=True)
    spec.steps = steps
    spec.probe.every = every
    spec.probe.eval_every = 100_000  # evaluation is not probe cost: only the final step evaluates
    return trainer(spec, device, dataset=dataset)


def _sync(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def plain_step(t: Trainer) -> dict[str, torch.Tensor]:
    """One step of every run with nothing but batch, forward, backward, update: each run's loss."""
    batches = {b: s.next() for b, s in t.samplers.items()}
    losses = {}
    for r in t.runs:
        idx = batches[r.batch_size]
        loss = F.cross_entropy(r.model(r.data[0][idx]), r.data[1][idx])
        r.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        r.optimizer.step()
        losses[r.label] = loss
    return losses


def time_plain(spec: ExperimentSpec, steps: int, device: str, dataset: Dataset | None) -> float:
    t = _trainer(spec, 1, steps, device, dataset)
    _sync(device)
    t0 = time.perf_counter()
    for _ in range(steps):
        plain_step(t)
    _sync(device)
    return (time.perf_counter() - t0) / steps


class CaptureOnly(Trainer):
    """The trainer with its frames thread's work dropped: what a sample costs the training thread alone
    (hooks, take, the hand-over), so the bench can tell that floor from the cost of building frames."""

    def _build_frame(self, *args: object) -> None:
        pass


def time_run(t: Trainer, steps: int, device: str) -> float:
    _sync(device)
    t0 = time.perf_counter()
    t.run()
    _sync(device)
    return (time.perf_counter() - t0) / steps


def time_wandb(
    spec: ExperimentSpec, log_freq: int, steps: int, device: str, dataset: Dataset | None
) -> float:
    """The plain loop with wandb.watch(log="all") on both models and the loss logged every step, as its
    users do (offline: nothing leaves the machine)."""
    import wandb

    t = _trainer(spec, 1, steps, device, dataset)
    with tempfile.TemporaryDirectory() as d:
        run = wandb.init(
            mode="offline", dir=d, project="normscope-bench", settings=wandb.Settings(silent=True)
        )
        run.watch([r.model for r in t.runs], log="all", log_freq=log_freq)
        _sync(device)
        t0 = time.perf_counter()
        for _ in range(steps):
            run.log({f"loss/{label}": loss.item() for label, loss in plain_step(t).items()})
        _sync(device)
        elapsed = (time.perf_counter() - t0) / steps
        run.finish()
    return elapsed


def wandb_installed() -> bool:
    try:
        import wandb  # noqa: F401
    except ImportError:
        return False
    return True


def step_ratios(
    spec: ExperimentSpec, steps: int, rounds: int, device: str, dataset: Dataset | None, with_wandb: bool
) -> dict:
    """Each column's ratio to the plain loop of its own round: the median over rounds, and the range (on this
    noisy machine a few percent either way is the noise, not the probe)."""
    times: dict[str, list[float]] = {k: [] for k in ("plain", "every10", "every1", "capture10", "capture1")}
    if with_wandb:
        times |= {"wandb10": [], "wandb1": []}
    time_plain(spec, 50, device, dataset)  # warm-up: allocator, kernels, first-touch
    for _ in range(rounds):
        times["plain"].append(time_plain(spec, steps, device, dataset))
        for every in (10, 1):
            probed = _trainer(spec, every, steps, device, dataset)
            times[f"every{every}"].append(time_run(probed, steps, device))
            capture = _trainer(spec, every, steps, device, dataset, CaptureOnly)
            times[f"capture{every}"].append(time_run(capture, steps, device))
        if with_wandb:
            times["wandb10"].append(time_wandb(spec, 10, steps, device, dataset))
            times["wandb1"].append(time_wandb(spec, 1, steps, device, dataset))
    out: dict = {"plain_ms": round(statistics.median(times["plain"]) * 1e3, 4)}
    for k, v in times.items():
        if k != "plain":
            ratios = [t / p for t, p in zip(v, times["plain"], strict=True)]
            out[f"{k}_ratio"] = round(statistics.median(ratios), 4)
            out[f"{k}_range"] = [round(min(ratios), 4), round(max(ratios), 4)]
    return out


def conv_sample_cost(steps: int, rounds: int, device: str, width: int) -> dict:
    """A CIFAR-sized VGG-11 plain/BN pair at batch 128: what one sample costs, in training steps. Windows of
    `steps` steps sampled every other step against the same window with no sample, frames flushed at the
    end: the sample's whole cost in wall time (its hand-over on the training thread, and the frames thread's
    work competing for the cores), and in CPU time of both threads (steadier on a noisy machine)."""
    spec = ExperimentSpec.model_validate(
        {
            "name": "VGG-11 pair",
            "dataset": {"name": "cifar10", "augment": False},
            "model": {"kind": "vgg", "depth": 11, "width": width, "activation": "relu", "init": "he"},
            "optimizer": {"lr": 0.05, "momentum": 0.9},
            "batch_size": 128,
            "variants": [{"label": "plain"}, {"label": "BN", "norm": "batch"}],
        }
    )
    spec.steps, spec.probe.eval_every = 100_000, 100_000
    data = cifar_shaped()
    windows: dict[int, list[float]] = {2: [], spec.steps: []}
    cpu: dict[int, list[float]] = {2: [], spec.steps: []}
    for _ in range(rounds):
        for every, times in windows.items():
            spec.probe.every = every
            t = Trainer(spec, device, dataset=data)
            t.advance(), t.advance(), t.flush()  # warm-up, and the probe's plan
            _sync(device)
            t0, c0 = time.perf_counter(), time.process_time()
            for _ in range(steps):
                t.advance()
            t.flush()
            _sync(device)
            times.append((time.perf_counter() - t0) / steps)
            cpu[every].append((time.process_time() - c0) / steps)
    u, s = statistics.median(windows[spec.steps]), statistics.median(windows[2])
    cu, cs = statistics.median(cpu[spec.steps]), statistics.median(cpu[2])
    per_sample, per_sample_cpu = 2 * (s - u) / u, 2 * (cs - cu) / cu  # one sample every 2 steps
    return {
        "model": f"VGG-11 width {width} pair, batch 128, 32x32x3",
        "step_ms": round(u * 1e3, 2),
        "sample_steps": round(per_sample, 3),
        "sample_cpu_steps": round(per_sample_cpu, 3),
        "meets": max(per_sample, per_sample_cpu) <= TARGETS["conv_sample_steps"],
    }


def tensorboard_ratio(spec: ExperimentSpec, device: str, dataset: Dataset | None, reps: int) -> dict:
    """One sample of every tap of every run: our take, pack, host copy, unpack vs add_histogram per tensor."""
    from torch.utils.tensorboard import SummaryWriter

    t = _trainer(spec, 1, 1, device, dataset)
    batches = {b: s.next() for b, s in t.samplers.items()}
    for r in t.runs:
        r.probe.attach()
        t._train_step(r, batches[r.batch_size], sampled=True)
    captured = {r.index: dict(r.probe._captured) for r in t.runs}
    tensors = [(f"run{r}/{k[0]}/{k[1]}", v) for r, caps in captured.items() for k, v in caps.items()]

    packer = Packer([r.probe for r in t.runs])

    def ours() -> None:  # a sample's whole work: take() on the training thread, the rest on the frames thread
        vec = torch.cat(packer.pack([r.probe.take() for r in t.runs])).cpu().numpy()
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


def resnet56_frame_bytes(device: str) -> dict:
    """One frame of a ResNet-56 plain/BN pair (56 probed layers, 3 taps where there is a norm, 64 bins): the
    JSON the server stores (and sends to a plain client), and the gzipped bytes the dashboard receives
    (?frames=gzip), with the time the server takes to compress it once for all viewers."""
    spec = ExperimentSpec.model_validate(
        {
            "name": "ResNet-56 pair",
            "dataset": {"name": "cifar10", "augment": False},
            "model": {"kind": "resnet", "depth": 56, "width": 16, "activation": "relu", "init": "he"},
            "batch_size": 128,
            "steps": 2,
            "variants": [{"label": "plain"}, {"label": "BN", "norm": "batch"}],
            "probe": {"every": 1, "bins": 64, "eval_every": 100_000},
        }
    )
    frames = []
    Trainer(spec, device, dataset=cifar_shaped(), on_frame=frames.append).run()
    text = frames[0].model_dump_json()
    rounds = 20
    t0 = time.perf_counter()
    for _ in range(rounds):
        gz = gzip_text(text)
    gzip_ms = (time.perf_counter() - t0) / rounds * 1e3
    size, limit = len(text.encode()), TARGETS["resnet56_frame_bytes"]
    return {
        "json_bytes": size,
        "gzip_bytes": len(gz),
        "gzip_ms": round(gzip_ms, 2),
        "meets_json": size < limit,
        "meets_gzip": len(gz) < limit,
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--device", default="cuda:0" if torch.cuda.is_available() else "cpu")
    p.add_argument("--steps", type=int, default=400)
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument(
        "--threads", type=int, default=1, help="torch threads (1 keeps the noisy machine steadier)"
    )
    p.add_argument(
        "--conv-width", type=int, default=64, help="VGG-11's first-stage channels (64: the real one)"
    )
    p.add_argument("--conv-steps", type=int, default=8, help="steps per window of the VGG-11 case")
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    wide = random_784()
    with_wandb = wandb_installed()
    result: dict = {"bench": "probe", "device": args.device, "torch": torch.__version__, "targets": TARGETS}
    if not with_wandb:
        result["wandb"] = "not installed: pip install -e '.[bench]' for its columns"
    for name, spec, data in (
        ("bn_paper_mlp_b60", bn_paper_spec(), None),
        ("relu_784_256x4_b128", wide_relu_spec(), wide),
    ):
        r = step_ratios(spec, args.steps, args.rounds, args.device, data, with_wandb)
        r.update(tensorboard_ratio(spec, args.device, data, reps=30))
        r["meets"] = {
            "every10": r["every10_ratio"] <= TARGETS["every10"],
            "every1": r["every1_ratio"] <= TARGETS["every1"],
            "tensorboard": r["tensorboard_ratio"] >= TARGETS["tensorboard_min_ratio"],
        }
        if with_wandb:
            r["meets"]["below_wandb"] = (
                r["every10_ratio"] < r["wandb10_ratio"] and r["every1_ratio"] < r["wandb1_ratio"]
            )
        result[name] = r
    result["vgg11_pair_b128"] = conv_sample_cost(args.conv_steps, args.rounds, args.device, args.conv_width)
    result["resnet56_pair_b128"] = resnet56_frame_bytes(args.device)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
