"""Runs drawn alike share one trace: its points keep their runs, and nothing else is joined."""

from tests.unit.web.node import evaluate

LINE = {"color": "#c8c8c8", "width": 2}


def run_line(run: int, n: int = 3, **extra: object) -> dict:
    return {
        "type": "scatter",
        "mode": "lines",
        "name": f"run {run}",
        "meta": {"run": run},
        "showlegend": False,
        "x": list(range(n)),
        "y": [run + i / 10 for i in range(n)],
        "line": LINE,
        **extra,
    }


def merge(data: list[dict]) -> list[dict]:
    return evaluate("merge", "m.mergeAlike({data, layout: {}}).data", data=data)


def test_alike_lines_become_one_trace_split_by_gaps_whose_points_name_their_runs():
    out = merge([run_line(0), run_line(1, n=2), run_line(2)])
    assert len(out) == 1
    t = out[0]
    assert t["meta"] == {"runs": [0, 1, 2]} and t["line"] == LINE
    assert t["x"] == [0, 1, 2, None, 0, 1, None, 0, 1, 2, None]
    assert t["y"][4:6] == [1, 1.1] and t["y"][6] is None
    assert t["customdata"] == [0] * 4 + [1] * 3 + [2] * 4
    assert t["text"][4] == "run 1" and "%{text}" in t["hovertemplate"]
    runs = evaluate("merge", "t.customdata.map((c, i) => m.runOfPoint({data: t, customdata: c}))", t=t)
    assert runs == t["customdata"]


def test_lines_of_other_styles_legend_entries_fills_or_own_hovers_stay_apart_and_in_order():
    own_colour = run_line(1, line={"color": "#d62728", "width": 2})
    in_legend = run_line(2, showlegend=True, legendgroup="run 2")
    grouped = run_line(3, legendgroup="run 2")  # its group has a legend entry: clicking it hides the run
    filled = run_line(4, fill="toself")
    hovered = run_line(5, hovertemplate="%{y}<extra>run 5</extra>")
    band = {**run_line(6), "meta": {"family": "none"}}
    data = [run_line(0), own_colour, in_legend, grouped, filled, hovered, band, run_line(7)]
    out = merge(data)
    assert [t.get("meta") for t in out] == [
        {"runs": [0, 7]},
        {"run": 1},
        {"run": 2},
        {"run": 3},
        {"run": 4},
        {"run": 5},
        {"family": "none"},
    ]
    assert out[1] == own_colour and evaluate("merge", "m.runOfPoint({data: t, customdata: 9})", t=out[1]) == 1


def test_a_line_alone_in_its_style_is_left_as_it_was():
    assert merge([run_line(0)]) == [run_line(0)]
