// Runs drawn alike share one trace. Plotly's cost is per trace as much as per point (~0.4 ms a trace on a 2-core
// machine), and a 25-run search draws its runs in a few shades (colours.js), all but one greyed under a
// highlight: lines of one style become one trace split by gaps, whose points name their run (customdata).

// A trace that may join others: a run's plain line with no legend entry of its own or of its group, whose
// hover is the default one (a trace's own hovertemplate names its run).
function joinable(t, shownGroups) {
  return t.meta?.run !== undefined && t.type === "scatter" && t.mode === "lines" && !t.fill && t.showlegend === false
    && !t.hovertemplate && !t.customdata && !t.text && !shownGroups.has(t.legendgroup);
}

// The style a trace is drawn in: all of it but its points and names.
const styleOf = (t) => JSON.stringify({ ...t, x: undefined, y: undefined, name: undefined, meta: undefined, legendgroup: undefined });

function joined(traces) {
  const [x, y, customdata, text] = [[], [], [], []];
  for (const t of traces) {
    const n = t.x.length;
    for (let i = 0; i < n; i++) {
      x.push(t.x[i]);
      y.push(t.y[i]);
      customdata.push(t.meta.run);
      text.push(t.name);
    }
    x.push(null); // a gap: runs are not joined by a line
    y.push(null);
    customdata.push(t.meta.run);
    text.push(t.name);
  }
  return {
    ...traces[0], x, y, customdata, text, name: `${traces.length} runs`, legendgroup: undefined,
    meta: { runs: traces.map((t) => t.meta.run) }, hovertemplate: "(%{x}, %{y:.3g})<extra>%{text}</extra>",
  };
}

// The figure with each set of alike run lines as one trace, drawn where the first of them was.
export function mergeAlike(figure) {
  const shownGroups = new Set(figure.data.filter((t) => t.showlegend !== false && t.legendgroup).map((t) => t.legendgroup));
  const groups = new Map(); // style -> traces
  const order = []; // traces kept as they are, and one slot per style
  for (const t of figure.data) {
    if (!joinable(t, shownGroups)) {
      order.push(t);
      continue;
    }
    const key = styleOf(t);
    if (!groups.has(key)) {
      groups.set(key, []);
      order.push(key);
    }
    groups.get(key).push(t);
  }
  figure.data = order.map((t) => {
    if (typeof t !== "string") return t;
    const traces = groups.get(t);
    return traces.length === 1 ? traces[0] : joined(traces);
  });
  return figure;
}

// The run a hovered or clicked point belongs to, on a run's own trace or on a joined one.
export const runOfPoint = (point) => point?.data?.meta?.run ?? (point?.data?.meta?.runs ? point.customdata : undefined);
