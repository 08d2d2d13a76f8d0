"""The CUDA paths: skipped where torch sees no GPU (as in CI), run on a machine with one."""

import pytest
import torch

from normscope.engine.trainer import Trainer
from normscope.schemas import ExperimentSpec, Frame

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")


def _spec(**probe) -> ExperimentSpec:
    return ExperimentSpec.model_validate(
        {
            "model": {"hidden": [64, 64, 64], "activation": "sigmoid"},
            "optimizer": {"lr": 0.5},
            "batch_size": 60,
            "steps": 60,
            "variants": [{"label": "plain"}, {"label": "BN", "norm": "batch"}],
            "probe": {"every": 10, "bins": 32, "eval_every": 2, **probe},
        }
    )


def test_unsampled_steps_never_wait_for_the_gpu():
    assert_unsampled_steps_never_sync(Trainer(_spec(), "cuda"))


def assert_unsampled_steps_never_sync(trainer: Trainer) -> None:
    sampler = next(iter(trainer.samplers.values()))
    for r in trainer.runs:
        r.probe.attach()
    sampler.next()  # the epoch's permutation (and crops) are uploaded before the checked steps
    torch.cuda.synchronize()
    torch.cuda.set_sync_debug_mode("error")
    try:
        for _ in range(9):
            batch = sampler.next()
            for r in trainer.runs:
                trainer._train_step(r, batch, sampled=False)
    finally:
        torch.cuda.set_sync_debug_mode("default")
    for r in trainer.runs:
        r.probe.detach()


def test_a_sampled_step_with_its_landscape_probe_queues_all_its_work_without_waiting():
    trainer = Trainer(_spec(landscape_every=1), "cuda")
    sampler = next(iter(trainer.samplers.values()))

    def sampled_step() -> None:
        idx = sampler.next()
        for r in trainer.runs:
            trainer._train_step(r, idx, sampled=True, landscape=True)
            r.probe.pack()
            r.landscape.pack()

    for r in trainer.runs:
        r.probe.attach()
    sampled_step()  # the first sample plans the probe's packing: one upload of the histogram edges
    torch.cuda.synchronize()
    torch.cuda.set_sync_debug_mode("error")
    try:
        sampled_step()
    finally:
        torch.cuda.set_sync_debug_mode("default")
    for r in trainer.runs:
        r.probe.detach()


def test_cuda_frames_match_the_cpu_ones():
    frames: dict[str, list[Frame]] = {"cpu": [], "cuda": []}
    for device, out in frames.items():
        Trainer(_spec(landscape_every=2, batch_dependence=True), device, on_frame=out.append).run()
    assert [f.step for f in frames["cpu"]] == [f.step for f in frames["cuda"]]
    for a, b in zip(frames["cpu"], frames["cuda"], strict=True):
        for ra, rb in zip(a.runs, b.runs, strict=True):
            assert ra.loss == pytest.approx(rb.loss, rel=1e-3, abs=1e-4)
            if ra.val is not None:
                assert ra.val.acc == pytest.approx(rb.val.acc, abs=0.02)
            assert (ra.landscape is None) == (rb.landscape is None)
            if ra.landscape is not None:
                assert ra.landscape.loss_at == pytest.approx(rb.landscape.loss_at, rel=1e-3, abs=1e-4)
            for la, lb in zip(ra.layers, rb.layers, strict=True):
                assert la.grad_norm == pytest.approx(lb.grad_norm, rel=1e-2, abs=1e-5)
                qa, qb = la.taps["preact"].q, lb.taps["preact"].q
                assert qa == pytest.approx(qb, rel=1e-3, abs=1e-4)


CONV_NETS = [("vgg", 11), ("resnet", 20)]


def _conv_spec(kind: str, depth: int, precision: str = "fp32", steps: int = 20) -> ExperimentSpec:
    return ExperimentSpec.model_validate(
        {
            "dataset": {"name": "shapes", "n_samples": 1200, "augment": True},
            "model": {"kind": kind, "depth": depth, "width": 8, "activation": "relu", "init": "he"},
            "optimizer": {"lr": 0.05, "momentum": 0.9},
            "batch_size": 32,
            "steps": steps,
            "precision": precision,
            "variants": [{"label": "plain"}, {"label": "BN", "norm": "batch"}],
            "probe": {"every": 10, "bins": 32, "eval_every": 2},
        }
    )


@pytest.mark.parametrize(("kind", "depth"), CONV_NETS)
@pytest.mark.parametrize("precision", ["fp32", "bf16"])
def test_conv_nets_unsampled_steps_never_wait_for_the_gpu(kind, depth, precision):
    """Crop/flip, uint8 scaling, channels-last, autocast, SkipInit: all queued, nothing read back."""
    trainer = Trainer(_conv_spec(kind, depth, precision), "cuda")
    assert trainer.channels_last and trainer.augment
    assert_unsampled_steps_never_sync(trainer)


@pytest.mark.parametrize(("kind", "depth"), CONV_NETS)
def test_conv_cuda_frames_match_the_cpu_ones(kind, depth):
    """Same images, batches and crops on both (drawn on the host from the seed). Tolerance: 2% on the
    first 20 steps' losses and quantiles: cuDNN's TF32 convolutions and reduction order differ from
    the CPU's."""
    frames: dict[str, list[Frame]] = {"cpu": [], "cuda": []}
    for device, out in frames.items():
        Trainer(_conv_spec(kind, depth), device, on_frame=out.append).run()
    for a, b in zip(frames["cpu"], frames["cuda"], strict=True):
        assert a.step == b.step
        for ra, rb in zip(a.runs, b.runs, strict=True):
            assert ra.loss == pytest.approx(rb.loss, rel=2e-2, abs=1e-3)
            for la, lb in zip(ra.layers, rb.layers, strict=True):
                assert la.name == lb.name
                assert la.taps["preact"].q == pytest.approx(lb.taps["preact"].q, rel=2e-2, abs=1e-2)


@pytest.mark.parametrize(("kind", "depth"), CONV_NETS)
def test_bf16_conv_runs_train_on_the_gpu(kind, depth):
    frames: list[Frame] = []
    trainer = Trainer(_conv_spec(kind, depth, "bf16", steps=200), "cuda", on_frame=frames.append)
    assert trainer.run() == "done"
    bn = [x for f in frames for x in f.runs[1].loss]
    assert sum(bn[-20:]) < 0.7 * sum(bn[:20])
    assert frames[-1].runs[1].val.acc > 0.3
