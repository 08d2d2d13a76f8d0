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
    trainer = Trainer(_spec(), "cuda")
    sampler = next(iter(trainer.samplers.values()))
    for r in trainer.runs:
        r.probe.attach()
    sampler.next()  # the epoch's permutation is uploaded before the checked steps
    torch.cuda.synchronize()
    torch.cuda.set_sync_debug_mode("error")
    try:
        for _ in range(9):
            idx = sampler.next()
            for r in trainer.runs:
                trainer._train_step(r, idx, sampled=False)
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
