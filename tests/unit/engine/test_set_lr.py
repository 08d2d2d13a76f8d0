"""The panda's knob: set_lr changes a running variant's learning rate between steps, by the factor asked,
and the frames keep the change. The oracle is SGD itself: w_before − w_after = lr · grad."""

import torch

from normscope.engine.trainer import Trainer
from normscope.schemas import ControlCommand, ExperimentSpec, Frame
from tests.api.conftest import tiny_spec

LR = 0.1


def test_set_lr_scales_the_next_steps_updates_by_the_factor():
    spec = ExperimentSpec.model_validate(tiny_spec(steps=40, optimizer={"lr": LR, "momentum": 0.0}))
    orders = {
        15: ControlCommand(action="set_lr", variant=0, lr=LR / 4),
        25: ControlCommand(action="set_lr", lr=0.05),
    }
    frames: list[Frame] = []
    trainer: Trainer

    def control(timeout: float) -> ControlCommand | None:
        return orders.pop(trainer.step, None)

    trainer = Trainer(spec, "cpu", on_frame=frames.append, control=control)
    used: dict[int, list[float]] = {0: [], 1: []}  # the learning rate each step applied, read off the update
    for run in trainer.runs:
        weight = run.model.layers()["hidden1"].linear.weight
        before: list[torch.Tensor] = []
        run.optimizer.register_step_pre_hook(lambda *_, w=weight, b=before: b.append(w.detach().clone()))

        def applied(*_: object, w: torch.Tensor = weight, b: list = before, i: int = run.index) -> None:
            moved, grad = b.pop() - w.detach(), w.grad
            mask = grad.abs() > 1e-6
            used[i].append(float((moved[mask] / grad[mask]).median()))

        run.optimizer.register_step_post_hook(applied)
    assert trainer.run() == "done"

    def rate(i: int, step: int) -> float:
        return round(used[i][step - 1], 5)

    assert [rate(0, s) for s in (1, 15, 16, 25, 26, 40)] == [LR, LR, LR / 4, LR / 4, 0.05, 0.05]
    assert [rate(1, s) for s in (1, 15, 16, 25, 26, 40)] == [LR, LR, LR, LR, 0.05, 0.05]
    by_step = {f.step: f for f in frames}
    assert [c.model_dump() for c in by_step[20].runs[0].lr_changes] == [{"step": 16, "lr": LR / 4}]
    assert by_step[20].runs[1].lr_changes == [] and by_step[20].runs[1].lr == LR
    assert [(r.lr, [c.step for c in r.lr_changes]) for r in by_step[30].runs] == [(0.05, [26]), (0.05, [26])]
    assert by_step[40].runs[0].lr_changes == [] and by_step[40].runs[0].lr == 0.05


def test_set_lr_needs_an_lr():
    import pytest
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match="set_lr needs an lr"):
        ControlCommand(action="set_lr", variant=0)
    with pytest.raises(ValidationError):
        ControlCommand.model_validate({"action": "set_lr", "lr": float("inf")})
