"""A chart is redrawn when what it draws changed, anywhere in it: the figure's signature."""

from tests.unit.web.node import evaluate

FIGURE = {
    "data": [
        {
            "x": list(range(500)),
            "y": [i / 7 for i in range(500)],
            "text": ["run 1"] * 500,
            "line": {"color": "#1f77b4"},
        }
    ],
    "layout": {"title": {"text": "loss"}, "yaxis": {"type": "log"}},
}
CHANGES = """[
  (f) => { f.data[0].y[250] += 1e-4; },
  (f) => { f.data[0].y[7] = 1e-9; f.data[0].y[8] = 2e-9; },
  (f) => { f.data[0].y[7] = 2e-9; f.data[0].y[8] = 1e-9; },
  (f) => { f.data[0].x.push(500); f.data[0].y.push(1); f.data[0].text.push('run 1'); },
  (f) => { f.data[0].line.color = '#c8c8c8'; },
  (f) => { f.layout.title.text = 'loss (every step)'; },
  (f) => { f.data[0].text[3] = 'run 2'; },
].map((change) => { const g = structuredClone(figure); change(g); return m.signatureOf(g); })"""


def test_equal_figures_sign_alike_and_any_change_shows():
    same = evaluate(
        "signature", "[m.signatureOf(figure), m.signatureOf(structuredClone(figure))]", figure=FIGURE
    )
    assert same[0] == same[1] and len(same[0]) < 400  # long arrays by their digest, not their text
    changed = evaluate("signature", CHANGES, figure=FIGURE)
    assert len(set(changed)) == len(changed) and same[0] not in changed
