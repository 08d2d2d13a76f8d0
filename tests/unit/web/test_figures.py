"""The loss chart's points: a bounded number across all runs, each run's curve averaged, not cut."""

from normscope.lessons import builtin_lesson
from tests.unit.web.node import evaluate

LOSS = """(() => {
  const runs = [...Array(count).keys()].map((i) => ({
    index: i, label: `run ${i}`, divergedAt: null, lrChanges: [],
    loss: { x: [...Array(points).keys()], y: [...Array(points).keys()].map((s) => 1 + i + (s % 2)) },
  }));
  const data = m.lossFigure({ experiment: { spec }, runs }, { font: 12, line: 2 }).data;
  return { sizes: data.map((t) => t.x.length), ends: data.map((t) => [t.x[0], t.x.at(-1)]),
           means: data.map((t) => t.y.reduce((a, b) => a + b, 0) / t.y.length),
           budget: [m.LOSS_POINTS_DRAWN, m.LOSS_POINTS_PER_RUN] };
})()"""


def loss(count: int, points: int) -> dict:
    spec = builtin_lesson("search-random").spec.model_dump(mode="json")
    return evaluate("figures", LOSS, spec=spec, count=count, points=points)


def test_twenty_five_runs_of_4000_steps_draw_at_most_the_budget_each_curve_whole():
    out = loss(25, 4000)
    total, per_run = out["budget"]
    assert all(n <= max(per_run, total // 25) for n in out["sizes"]) and sum(out["sizes"]) <= total
    assert all(first < 10 and last > 3990 for first, last in out["ends"])  # from the first steps to the last
    assert [round(m, 2) for m in out["means"]] == [1.5 + i for i in range(25)]  # averaged: the level kept


def test_one_run_draws_every_point_the_model_kept_and_four_share_the_budget():
    one = loss(1, 4000)
    assert one["sizes"] == [4000] and one["ends"] == [[0, 3999]]
    four = loss(4, 4000)
    assert all(1000 <= n <= four["budget"][0] // 4 for n in four["sizes"]), four["sizes"]
