"""A chart's key: a legend of at most 12 entries for a few runs, a colour bar per family for many."""

from normscope.lessons import builtin_lesson
from tests.unit.web.node import evaluate

STYLE = {"font": 12, "line": 2, "focus": False}
KEY = """(() => {
  const trace = (r, k) => ({ name: `${r.index}.${k}`, meta: { run: r.index } });
  const data = model.runs.flatMap((r) => [0, 1, 2].map((k) => trace(r, k)));
  const figure = m.withKey(model, style, { data, layout: { margin: { t: 50, b: 50 } } }, 380);
  return { legend: figure.data.filter((t) => t.showlegend !== false).length,
           bars: figure.data.filter((t) => t.marker?.showscale).map((t) => t.marker.colorbar.title.text) };
})()"""


def key_of(spec: dict, runs: int) -> dict:
    model = {"experiment": {"spec": spec}, "runs": [{"index": i} for i in range(runs)]}
    return evaluate("key", KEY, model=model, style=STYLE)


def test_a_few_runs_get_a_legend_of_at_most_twelve_entries():
    spec = {"optimizer": {"lr": 0.1}, "sweep": None, "variants": [{"norm": "none"}] * 5}
    assert key_of(spec, 5) == {"legend": 12, "bars": []}  # 15 traces' entries, 12 shown


def test_the_lr_sweep_s_sixteen_runs_get_a_colour_bar_per_family_and_no_legend():
    spec = builtin_lesson("lr-sweep").spec.model_dump(mode="json")
    assert key_of(spec, 16) == {"legend": 0, "bars": ["plain: learning rate", "BN: learning rate"]}
