import pytest
from pydantic import ValidationError

from normscope.schemas import ControlCommand, ExperimentSpec


def _errors(data: dict) -> list[tuple[tuple, str]]:
    with pytest.raises(ValidationError) as e:
        ExperimentSpec.model_validate(data)
    return [(err["loc"], err["msg"]) for err in e.value.errors()]


def test_contract_example_validates():
    spec = ExperimentSpec.model_validate(
        {
            "name": "BN vs plain, sigmoid",
            "dataset": {"name": "digits", "standardize": True, "val_fraction": 0.2},
            "model": {"kind": "mlp", "hidden": [100, 100, 100], "activation": "sigmoid", "init": "gaussian"},
            "optimizer": {"name": "sgd", "lr": 0.5, "momentum": 0.0},
            "batch_size": 60,
            "steps": 3000,
            "seed": 0,
            "variants": [
                {"label": "plain", "norm": "none"},
                {"label": "BN", "norm": "batch", "placement": "before"},
            ],
            "probe": {"every": 10, "bins": 64},
        }
    )
    assert spec.variant_lr(1) == 0.5 and spec.variant_batch_size(0) == 60


@pytest.mark.parametrize(
    ("data", "loc"),
    [
        ({"model": {"hidden": [1_000_000]}}, ("model", "hidden", 0)),
        ({"model": {"hidden": []}}, ("model", "hidden")),
        ({"model": {"hidden": [4] * 33}}, ("model", "hidden")),
        ({"optimizer": {"lr": -1}}, ("optimizer", "lr")),
        ({"optimizer": {"lr": float("inf")}}, ("optimizer", "lr")),
        ({"dataset": {"name": "imagenet"}}, ("dataset", "name")),
        ({"variants": []}, ("variants",)),
        ({"variants": [{"label": str(i)} for i in range(17)]}, ("variants",)),
        ({"steps": 0}, ("steps",)),
        ({"steps": 1_000_001}, ("steps",)),
        ({"batch_size": 1}, ("batch_size",)),
        ({"batch_size": 8193}, ("batch_size",)),
        ({"probe": {"bins": 7}}, ("probe", "bins")),
        ({"probe": {"bins": 257}}, ("probe", "bins")),
        ({"surprise": 1}, ("surprise",)),
    ],
)
def test_out_of_bounds_fields_are_named(data, loc):
    assert loc in [e[0] for e in _errors(data)]


def test_cross_field_rules_have_clear_messages():
    assert "unique" in _errors({"variants": [{"label": "a"}, {"label": "a"}]})[0][1]
    assert "image dataset" in _errors({"model": {"kind": "cnn"}, "dataset": {"name": "wine"}})[0][1]
    assert (
        "limit"
        in _errors({"model": {"hidden": [4096] * 8}, "variants": [{"label": "a"}, {"label": "b"}]})[0][1]
    )
    assert "path" in _errors({"dataset": {"name": "idx"}})[0][1]
    assert "n_features" in _errors({"dataset": {"name": "blobs", "feature_scales": [1, 2, 3]}})[0][1]


def test_control_command_rules():
    assert ControlCommand(action="pace", steps_per_second=5).steps_per_second == 5
    # what the schema allows is accepted: other actions ignore a pace (the fuzzer's finding)
    assert ControlCommand(action="pause", steps_per_second=5).action == "pause"
    with pytest.raises(ValidationError):
        ControlCommand(action="explode")
    with pytest.raises(ValidationError):
        ControlCommand(action="pace", steps_per_second=0)


def test_the_frame_budget_names_the_smallest_every_that_fits():
    ExperimentSpec(steps=200_000, probe={"every": 10})  # 20,000 frames: the most
    with pytest.raises(ValidationError, match=r"200,001 steps .* 20,001 frames.*probe.every to 11 or more"):
        ExperimentSpec(steps=200_001, probe={"every": 10})
    with pytest.raises(ValidationError, match=r"probe\.every to 50 or more"):
        ExperimentSpec(steps=1_000_000, probe={"every": 1})


def test_the_lesson_an_experiment_came_from_is_a_slug_or_null():
    assert ExperimentSpec().lesson is None
    assert ExperimentSpec(lesson="ioffe-szegedy").lesson == "ioffe-szegedy"
    for bad in ["", "../x", "a/b", "Panda", "-x", "x" * 65, "a.b"]:
        assert [loc for loc, _ in _errors({"lesson": bad})] == [("lesson",)], bad
