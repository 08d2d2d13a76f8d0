import torch

from normscope.engine.evaluate import batch_dependence, evaluate
from normscope.engine.trainer import Trainer
from normscope.schemas import ExperimentSpec, Frame


def _spec(dependence: bool) -> ExperimentSpec:
    return ExperimentSpec.model_validate(
        {
            "model": {"hidden": [32, 32], "activation": "tanh"},
            "optimizer": {"lr": 0.1},
            "batch_size": 8,
            "steps": 60,
            "variants": [
                {"label": "plain"},
                {"label": "BN", "norm": "batch"},
                {"label": "LN", "norm": "layer"},
            ],
            "probe": {"every": 10, "bins": 16, "eval_every": 3, "batch_dependence": dependence},
        }
    )


def test_without_batchnorm_a_prediction_never_depends_on_the_batch():
    trainer = Trainer(_spec(True))
    for run in trainer.runs[0], trainer.runs[2]:
        assert batch_dependence(run.model, run.data[2], 8, seed=1).tolist() == [0.0, 0.0]


def test_with_batchnorm_predictions_change_with_their_companions_and_most_in_pairs():
    frames: list[Frame] = []
    Trainer(_spec(True), on_frame=frames.append).run()
    evaluated = [f for f in frames if f.runs[1].val is not None]
    assert [f.step for f in evaluated] == [30, 60]
    for f in frames:
        assert f.runs[0].batch_dependence is None and f.runs[2].batch_dependence is None
        bd = f.runs[1].batch_dependence
        assert (bd is not None) == (f.runs[1].val is not None)
    last = evaluated[-1].runs[1].batch_dependence
    assert 0 < last.flips < last.flips_pairs <= 1


def test_it_is_off_unless_asked_and_leaves_the_model_as_it_was():
    frames: list[Frame] = []
    trainer = Trainer(_spec(False), on_frame=frames.append)
    trainer.run()
    assert all(r.batch_dependence is None for f in frames for r in f.runs)
    bn = trainer.runs[1].model
    state = {k: v.clone() for k, v in bn.state_dict().items()}
    batch_dependence(bn, trainer.runs[1].data[2], 8, seed=0)
    assert all(torch.equal(v, bn.state_dict()[k]) for k, v in state.items())
    assert bn.training


def test_evaluate_reports_both_modes_and_they_agree_without_batchnorm():
    trainer = Trainer(_spec(False))
    plain = trainer.runs[0]
    v = evaluate(plain.model, plain.data[2], plain.data[3], 8)
    assert v[:2].tolist() == v[2:].tolist()
    assert 0 <= v[1] <= 1
