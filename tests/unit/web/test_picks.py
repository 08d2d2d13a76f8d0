"""Per-layer charts of many runs: which runs are drawn alone, and the band of the rest (web/lib/picks.js)."""

from tests.unit.web.node import call, evaluate


def model(accs: list[float], norms: list[str]) -> dict:
    variants = [{"label": f"run {i}", "norm": n} for i, n in enumerate(norms)]
    runs = [{"index": i, "status": "done", "valAcc": {"y": [0.1, a]}} for i, a in enumerate(accs)]
    return {
        "experiment": {"spec": {"optimizer": {"lr": 0.1}, "sweep": None, "variants": variants}},
        "runs": runs,
    }


def test_a_few_runs_are_all_drawn():
    assert sorted(call("picks", "chosenRuns", model([0.5, 0.6, 0.7], ["none", "batch", "batch"]))) == [
        0,
        1,
        2,
    ]


def test_many_runs_draw_the_best_of_each_norm_and_the_highlighted_one():
    accs = [0.2, 0.9, 0.5, 0.3, 0.8, 0.4, 0.1, 0.6]
    norms = ["none", "batch"] * 4
    m = model(accs, norms)
    assert sorted(call("picks", "chosenRuns", m)) == [1, 4]  # BN's 0.9, plain's 0.8
    assert sorted(call("picks", "chosenRuns", m, 6)) == [1, 4, 6]
    m["runs"][1]["status"] = "diverged"  # a diverged run is not the best of its family
    assert sorted(call("picks", "chosenRuns", m)) == [4, 7]


def test_the_band_is_the_10_to_90_percent_of_the_rest_per_family_and_step():
    norms = ["none"] * 11 + ["batch"]
    m = model([0.5] * 12, norms)
    # run i: i at step 10, 2i at step 20 (run 3 has no value there); run 0 is chosen, run 11 alone in BN
    series = [[i, {"x": [10, 20], "y": [float(i), None if i == 3 else 2.0 * i]}] for i in range(12)]
    (plain,) = evaluate(
        "picks", "m.familySpreads(model, new Map(series), new Set([0]))", model=m, series=series
    )
    assert plain["name"] == "plain" and plain["runs"] == 10 and plain["x"] == [10, 20]
    assert plain["low"][0] == 1.9 and plain["high"][0] == 9.1  # 1..10: 10% and 90% of the way
    twenty = sorted(2.0 * i for i in range(1, 11) if i != 3)
    assert plain["low"][1] == twenty[0] + 0.8 * (twenty[1] - twenty[0])
