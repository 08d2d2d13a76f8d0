"""Sweep expansion: the distributions the week-3 notes teach, their bounds, and stable labels."""

import math
import statistics

import pytest
from pydantic import ValidationError

from normscope.engine.trainer import Trainer
from normscope.schemas import ExperimentSpec
from normscope.schemas.sweep import RefineRequest, SweepSpec, refined


def sweep(**fields: object) -> SweepSpec:
    return SweepSpec.model_validate(fields)


def test_log_uniform_spreads_evenly_over_decades():
    values = [
        c["optimizer.lr"]
        for c in sweep(
            n=256, params={"optimizer.lr": {"log_uniform": [1e-4, 1]}}, norms=["none"]
        ).configurations()
    ]
    assert all(1e-4 <= v <= 1 for v in values)
    per_decade = [sum(10**-k <= v < 10 ** -(k - 1) for v in values) for k in (4, 3, 2, 1)]
    assert min(per_decade) > 256 / 4 * 0.6, per_decade  # uniform in x would put ~90% in the top decade


def test_one_minus_log_uniform_puts_beta_near_one_on_a_log_scale():
    betas = [
        c["optimizer.momentum"]
        for c in sweep(
            n=256, params={"optimizer.momentum": {"one_minus_log_uniform": [1e-3, 1e-1]}}, norms=["none"]
        ).configurations()
    ]
    gaps = [math.log10(1 - b) for b in betas]
    assert all(-3 - 1e-9 <= g <= -1 + 1e-9 for g in gaps)
    assert abs(statistics.median(gaps) + 2) < 0.2  # as many β in 0.9–0.99 as in 0.99–0.999
    assert sum(b > 0.99 for b in betas) > 256 * 0.35


def test_grid_is_the_product_and_random_params_are_drawn_per_point():
    s = sweep(
        params={
            "optimizer.lr": {"grid": [0.01, 0.1, 1]},
            "batch_size": {"grid": [32, 64]},
            "optimizer.weight_decay": {"uniform": [0, 1e-3]},
        }
    )
    configs = s.configurations()
    assert [(c["optimizer.lr"], c["batch_size"]) for c in configs] == [
        (lr, bs) for lr in (0.01, 0.1, 1) for bs in (32, 64)
    ]
    assert len({c["optimizer.weight_decay"] for c in configs}) == 6
    assert len(s.variants()) == 12  # crossed with plain and BN


def test_choice_draws_from_its_values_and_repeats_stay_apart():
    variants = sweep(n=6, seed=1, params={"batch_size": {"choice": [32, 64]}}, norms=["batch"]).variants()
    assert {v["batch_size"] for v in variants} == {32, 64}
    labels = [v["label"] for v in variants]
    assert len(set(labels)) == 6 and any(label.endswith("#2") for label in labels)


def test_labels_name_the_values_and_are_stable():
    fields = {
        "n": 4,
        "seed": 7,
        "params": {
            "optimizer.lr": {"log_uniform": [1e-3, 10]},
            "optimizer.momentum": {"one_minus_log_uniform": [1e-3, 1e-1]},
        },
    }
    first, again = sweep(**fields).variants(), sweep(**fields).variants()
    assert first == again
    v = first[1]
    assert v["label"] == f"lr={v['lr']:.3g} β={v['momentum']:.6g} BN" and v["norm"] == "batch"
    grid = sweep(
        params={"optimizer.lr": {"grid": [0.05]}, "batch_size": {"grid": [128]}}, norms=["none", "layer"]
    ).variants()
    assert [g["label"] for g in grid] == ["lr=0.05 bs=128 plain", "lr=0.05 bs=128 LN"]


@pytest.mark.parametrize(
    ("fields", "says"),
    [
        ({"n": 4, "params": {"optimizer.lr": {"log_uniform": [0, 1]}}}, "log_uniform needs low > 0"),
        ({"n": 4, "params": {"optimizer.lr": {"uniform": [1, 0.5]}}}, "low < high"),
        ({"n": 4, "params": {"optimizer.lr": {"log_uniform": [1e-3, 1e4]}}}, "optimizer.lr takes values in"),
        (
            {"n": 4, "params": {"optimizer.momentum": {"one_minus_log_uniform": [0.1, 2]}}},
            "must lie in (0, 1)",
        ),
        ({"n": 4, "params": {"optimizer.lr": {"grid": [0.1], "choice": [1]}}}, "give exactly one of"),
        ({"n": 4, "params": {"optimizer.lr": {"grid": [0.1, 1]}}}, "n is for random sweeps"),
        ({"params": {"optimizer.lr": {"choice": [0.1, 1]}}}, "needs n"),
        ({"n": 129, "params": {"optimizer.lr": {"choice": [0.1]}}}, "makes 258 variants; at most 256"),
        ({"n": 2, "params": {"batch_size": {"choice": [32.5]}}}, "whole numbers"),
        (
            {"n": 2, "params": {"optimizer.lr": {"choice": [0.1]}}, "norms": ["batch", "batch"]},
            "norms repeat",
        ),
    ],
)
def test_bad_sweeps_are_refused_with_the_reason(fields: dict, says: str):
    with pytest.raises(ValidationError) as e:
        SweepSpec.model_validate(fields)
    assert says in str(e.value)


def test_the_spec_takes_a_sweep_or_variants_within_their_limits():
    spec = ExperimentSpec.model_validate(
        {
            "sweep": {"n": 100, "params": {"optimizer.lr": {"log_uniform": [1e-3, 1]}}},
            "model": {"hidden": [8]},
        }
    )
    assert len(spec.variants) == 200
    assert ExperimentSpec.model_validate_json(spec.model_dump_json()) == spec  # stored and read back
    with pytest.raises(ValidationError, match="give sweep or variants, not both"):
        ExperimentSpec.model_validate(
            {"sweep": {"n": 1, "params": {"optimizer.lr": {"choice": [0.1]}}}, "variants": [{"label": "x"}]}
        )
    with pytest.raises(ValidationError, match="at most 16 variants"):
        ExperimentSpec.model_validate({"variants": [{"label": f"v{i}"} for i in range(17)]})
    with pytest.raises(ValidationError, match="momentum is SGD's"):
        ExperimentSpec.model_validate(
            {
                "optimizer": {"name": "adam"},
                "sweep": {"n": 1, "params": {"optimizer.momentum": {"choice": [0.9]}}},
            }
        )


def test_each_variant_trains_with_its_own_optimizer_settings():
    spec = ExperimentSpec.model_validate(
        {
            "model": {"hidden": [8]},
            "steps": 1,
            "sweep": {
                "params": {
                    "optimizer.momentum": {"grid": [0.5, 0.99]},
                    "optimizer.weight_decay": {"grid": [1e-4]},
                },
                "norms": ["none"],
            },
        }
    )
    groups = [r.optimizer.param_groups[0] for r in Trainer(spec, "cpu").runs]
    assert [(g["momentum"], g["weight_decay"], g["lr"]) for g in groups] == [
        (0.5, 1e-4, 0.1),
        (0.99, 1e-4, 0.1),
    ]


def test_refine_zooms_in_on_the_best_configurations_on_their_own_scale():
    coarse = sweep(
        n=20,
        seed=3,
        params={
            "optimizer.lr": {"log_uniform": [1e-4, 10]},
            "optimizer.momentum": {"one_minus_log_uniform": [1e-3, 0.5]},
        },
        norms=["none", "batch"],
    )
    configs = coarse.configurations()
    # the best lie near lr = 0.1: accuracy falls with the distance in decades, the same for both norms
    accs = [1 - abs(math.log10(c["optimizer.lr"]) + 1) / 5 for c in configs for _ in ("none", "batch")]
    fine = refined(coarse, accs, "parent-id", RefineRequest(fraction=0.25))
    assert fine.parent == "parent-id" and fine.n == 20 and fine.seed == 4 and fine.norms == ["none", "batch"]
    best = sorted(configs, key=lambda c: abs(math.log10(c["optimizer.lr"]) + 1))[:5]
    low, high = fine.params["optimizer.lr"].log_uniform
    assert (
        1e-4 <= low <= min(c["optimizer.lr"] for c in best)
        and max(c["optimizer.lr"] for c in best) <= high <= 10
    )
    assert math.log10(high / low) < 0.6 * 5  # narrower than the five decades it started with
    one_minus = fine.params["optimizer.momentum"].one_minus_log_uniform
    assert 1e-3 <= one_minus[0] < one_minus[1] <= 0.5  # β still through 1 − β, inside its old range


def test_refine_keeps_a_grid_a_grid_and_a_choice_to_what_won():
    coarse = sweep(
        params={"optimizer.lr": {"grid": [0.001, 0.01, 0.1, 1, 10]}, "batch_size": {"choice": [16, 32, 64]}},
        norms=["batch"],
    )
    configs = coarse.configurations()
    accs = [1.0 if c["optimizer.lr"] in (0.1, 1) else 0.1 for c in configs]
    fine = refined(coarse, accs, "p", RefineRequest(fraction=0.4))
    grid = fine.params["optimizer.lr"].grid
    assert (
        fine.n is None and len(grid) == 5 and 0.03 < grid[0] < 0.1 and 1 < grid[-1] < 3
    )  # log-spaced, padded
    assert set(fine.params["batch_size"].choice) == {
        c["batch_size"] for c, a in zip(configs, accs, strict=True) if a == 1.0
    }
