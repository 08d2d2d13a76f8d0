// Plotly figures built from the ExperimentModel: pure functions from what is known to {data, layout}.
import { tapEdges, tapStats } from "./model.js";
import { FAMILIES, runColour } from "./colours.js";
import { chosenRuns, familySpreads } from "./picks.js";
import { NORM_NAMES, NORM_ORDER, sweepAxis, sweptParams } from "./sweep.js";

// 16 colours that stay apart for the colour-blind too: every pair differs by CIELAB ΔE ≥ 10 under normal,
// protan, deutan and tritan vision (Machado et al. 2009), and from the white paper. Plain and BN keep the
// first two, as before. tests/unit/web/test_palette.py checks it.
export const COLORS = [
  "#1f77b4", "#d62728", "#e69f00", "#88ccee", "#332288", "#882255", "#999999", "#000000",
  "#8000e0", "#402000", "#e0c080", "#402060", "#8060e0", "#e06060", "#a02040", "#80a0e0",
];
const fade = (hex, alpha) => {
  const n = parseInt(hex.slice(1), 16);
  return `rgba(${n >> 16},${(n >> 8) & 255},${n & 255},${alpha})`;
};

const escapeHtml = (text) => text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
const MARK_LABEL = 28; // characters of a note drawn on a chart; the whole note is in the hover and the list

// The presenter's marks on a time-axis chart: a dashed line at each mark's step, its note on top.
export function withMarks(marks, style, figure) {
  if (!marks.length) return figure;
  const { layout } = figure;
  layout.shapes = [
    ...(layout.shapes ?? []),
    ...marks.map((m) => ({
      type: "line", xref: "x", yref: "paper", x0: m.step, x1: m.step, y0: 0, y1: 1,
      line: { color: style.ink, width: style.line * 0.6, dash: "dash" },
    })),
  ];
  layout.annotations = [
    ...(layout.annotations ?? []),
    ...marks.map((m) => {
      const note = m.note.length > MARK_LABEL ? `${m.note.slice(0, MARK_LABEL - 1)}…` : m.note;
      return {
        x: m.step, xref: "x", y: 1, yref: "paper", yanchor: "bottom", xanchor: "left", showarrow: false,
        text: escapeHtml(`⚑ ${note}`), hovertext: escapeHtml(`step ${m.step}: ${m.note}`),
        font: { size: style.font, color: style.ink }, bgcolor: style.paper, opacity: 0.9,
      };
    }),
  ];
  return figure;
}

export function baseLayout(style, title) {
  return {
    title: { text: title, font: { size: style.font + 4 } },
    font: { size: style.font, color: style.ink },
    paper_bgcolor: style.paper,
    plot_bgcolor: style.paper,
    // a chart filling the screen spends its height on the plot: a tighter title band, and a smaller share
    // of its height puts the legend as many pixels under the axis title
    margin: { l: 60, r: 20, t: (style.focus ? 28 : 40) + style.font, b: 40 + style.font },
    legend: { orientation: "h", y: style.focus ? -0.1 : -0.18 },
    uirevision: "keep", // zoom and legend clicks survive updates
    xaxis: { autorange: true },
    yaxis: { autorange: true },
  };
}

// Loss points drawn across all runs: a point costs a draw ~1.5 µs on a 2-core machine, and 25 runs of the
// model's MAX_LOSS_POINTS each would take ~150 ms, where 25 runs of 240 points are still smooth curves across a
// projector (one every ~5 px). Each run keeps at least LOSS_POINTS_PER_RUN; one run draws all the model keeps.
export const LOSS_POINTS_DRAWN = 6_000;
export const LOSS_POINTS_PER_RUN = 200;

// A series averaged down to at most `max` points, neighbours in equal groups (the model keeps all it has).
export function averagedTo(series, max) {
  const n = series.x.length;
  if (n <= max) return series;
  const k = Math.ceil(n / max);
  const out = { x: [], y: [] };
  for (let i = 0; i < n; i += k) {
    const end = Math.min(i + k, n);
    let [sx, sy] = [0, 0];
    for (let j = i; j < end; j++) [sx, sy] = [sx + series.x[j], sy + series.y[j]];
    out.x.push(sx / (end - i));
    out.y.push(sy / (end - i));
  }
  return out;
}

export function lossFigure(model, style) {
  const max = Math.max(LOSS_POINTS_PER_RUN, Math.floor(LOSS_POINTS_DRAWN / Math.max(model.runs.length, 1)));
  const data = model.runs.map((run) => {
    const { x, y } = averagedTo(run.loss, max);
    return {
      type: "scatter", mode: "lines", name: run.label, x, y, meta: { run: run.index },
      line: { color: runColour(model.experiment.spec, run.index), width: style.line },
    };
  });
  const layout = baseLayout(style, "training loss (every step)");
  layout.xaxis = { ...layout.xaxis, title: { text: "step" } };
  layout.yaxis = { ...layout.yaxis, type: "log" };
  markRunEvents(model, layout);
  return { data, layout };
}

export function accuracyFigure(model, style) {
  const data = [];
  const chosen = chosenRuns(model, style.picked); // many runs: the dashed and dotted lines of the chosen few only
  for (const run of model.runs) {
    const c = runColour(model.experiment.spec, run.index);
    const series = [
      [run.valAcc, "val (eval mode)", "solid"],
      [run.valTrainModeAcc, "val (train mode)", "dash"],
      [run.trainAcc, "train batch", "dot"],
    ].slice(0, chosen.has(run.index) ? 3 : 1);
    for (const [s, what, dash] of series) {
      data.push({
        type: "scatter", mode: "lines", name: dash === "solid" ? run.label : `${run.label} ${what}`, legendgroup: run.label,
        showlegend: dash === "solid", meta: { run: run.index }, x: s.x, y: s.y, line: { color: c, dash, width: dash === "solid" ? style.line : style.line * 0.6 },
      });
    }
  }
  const layout = baseLayout(style, "accuracy: val (eval mode) solid, val (train mode) dashed, train batch dotted");
  layout.xaxis = { ...layout.xaxis, title: { text: "step" } };
  layout.yaxis = { autorange: false, range: [0, 1.02], tickformat: ".0%" };
  markRunEvents(model, layout);
  return { data, layout };
}

// Where a run diverged, and where the presenter set a run's learning rate (the panda's knob), in its colour.
function markRunEvents(model, layout) {
  const events = model.runs.flatMap((r) => [
    ...(r.divergedAt !== null ? [{ run: r, step: r.divergedAt, text: `${r.label} diverged`, dash: "dot" }] : []),
    ...r.lrChanges.map((c) => ({ run: r, step: c.step, text: `${r.label} lr → ${c.lr.toPrecision(3)}`, dash: "dashdot" })),
  ]);
  layout.shapes = events.map((e) => ({
    type: "line", xref: "x", yref: "paper", x0: e.step, x1: e.step, y0: 0, y1: 1,
    line: { color: runColour(model.experiment.spec, e.run.index), dash: e.dash, width: 2 },
  }));
  layout.annotations = events.map((e, i) => ({
    x: e.step, xref: "x", y: 1 - 0.07 * (i % 4), yref: "paper", text: e.text, showarrow: false,
    font: { color: runColour(model.experiment.spec, e.run.index) }, xanchor: "right",
  }));
}

// One layer's current histogram of a tap, variants overlaid on the shared edges. What falls outside the
// edges is drawn as one more bin on each side, over a grey band (Plotly's cost is per trace: one per variant).
export function histogramFigure(model, style, layer, tap, frame) {
  const layout = baseLayout(style, `${layer.name} · ${tap}`);
  layout.showlegend = false;
  layout.margin = { l: 45, r: 10, t: 30 + style.font, b: 30 };
  layout.yaxis = { ...layout.yaxis, tickformat: ".0%" };
  const data = [];
  const chosen = chosenRuns(model, style.picked);
  for (const rf of frame?.runs ?? []) {
    if (!chosen.has(rf.index)) continue;
    const ls = rf.layers.find((l) => l.name === layer.name);
    const stats = ls && tapStats(ls, tap);
    const edges = ls && tapEdges(layer, ls, tap);
    if (!stats || !edges) continue;
    const total = stats.counts.reduce((a, b) => a + b, 0) + stats.under + stats.over || 1;
    const width = edges[1] - edges[0];
    const centers = edges.slice(0, -1).map((e, i) => (e + edges[i + 1]) / 2);
    const label = model.runs[rf.index]?.label ?? String(rf.index);
    data.push({
      type: "scatter", mode: "lines", name: label, meta: { run: rf.index },
      x: [edges[0] - width / 2, ...centers, edges.at(-1) + width / 2],
      y: [stats.under, ...stats.counts, stats.over].map((n) => n / total),
      line: { color: runColour(model.experiment.spec, rf.index), shape: "hvh", width: style.line * 0.7 },
      hovertemplate: "%{y:.1%}<extra>" + label + "</extra>",
    });
    if (!layout.shapes) {
      const band = (x0, x1) => ({ type: "rect", xref: "x", yref: "paper", x0, x1, y0: 0, y1: 1, fillcolor: "#ddd", line: { width: 0 }, layer: "below" });
      layout.shapes = [band(edges[0] - width, edges[0]), band(edges.at(-1), edges.at(-1) + width)];
    }
  }
  return { data, layout };
}

function layerSeries(model, layerName, pick) {
  const out = new Map(); // run index -> {x, y}
  model.frames.y.forEach((frame, i) => {
    for (const rf of frame.runs) {
      const ls = rf.layers.find((l) => l.name === layerName);
      const v = ls ? pick(ls, rf) : undefined;
      if (v === undefined) continue;
      if (!out.has(rf.index)) out.set(rf.index, { x: [], y: [] });
      out.get(rf.index).x.push(model.frames.x[i]);
      out.get(rf.index).y.push(v);
    }
  });
  return out;
}

// A variant's range over time as one closed, filled shape: the highs forward, then the lows back.
function rangeTrace(name, label, c, x, lows, highs) {
  return {
    type: "scatter", mode: "lines", name, legendgroup: label, x: [...x, ...[...x].reverse()],
    y: [...highs, ...[...lows].reverse()], fill: "toself", fillcolor: fade(c, 0.25), line: { color: c, width: 0.5 },
    hoverinfo: "skip",
  };
}

// The Ioffe & Szegedy figure: the 15/50/85 percentiles over time, with min and max, per variant.
export function bandsFigure(model, style, layerName, tap) {
  const data = [];
  const chosen = chosenRuns(model, style.picked);
  for (const [index, s] of layerSeries(model, layerName, (ls) => tapStats(ls, tap)?.q)) {
    if (!chosen.has(index)) continue;
    const c = runColour(model.experiment.spec, index);
    const label = model.runs[index].label;
    const q = (k) => s.y.map((v) => v[k]);
    // Three traces per variant: the p15–p85 band as one closed shape, the median, min and max split by a gap.
    data.push({ ...rangeTrace(`${label} p15–p85`, label, c, s.x, q(1), q(3)), showlegend: false, meta: { run: index } });
    data.push({
      type: "scatter", mode: "lines", name: label, legendgroup: label, x: s.x, y: q(2), meta: { run: index },
      line: { color: c, width: style.line },
    });
    data.push({
      type: "scatter", mode: "lines", name: `${label} min/max`, legendgroup: label, showlegend: false, meta: { run: index },
      x: [...s.x, null, ...s.x], y: [...q(0), null, ...q(4)], line: { color: c, width: 1, dash: "dot" },
    });
  }
  const layout = baseLayout(style, `${layerName} · ${tap}: median, band 15–85%, dotted min and max`);
  layout.xaxis = { ...layout.xaxis, title: { text: "step" } };
  return { data, layout };
}

// How the distribution moves: step × bin for one variant, each step's column normalized to a share.
export function heatmapFigure(model, style, layerName, tap, runIndex) {
  const layer = model.layers.find((l) => l.name === layerName);
  const run = model.runs[runIndex];
  const layout = baseLayout(style, `${run.label} · ${layerName} · ${tap}`);
  layout.margin = { l: 45, r: 10, t: 30 + style.font, b: 30 };
  const s = layerSeries(model, layerName, (ls, rf) => (rf.index === runIndex ? ls : undefined)).get(runIndex);
  const edges = layer && s && tapEdges(layer, s.y[0], tap);
  if (!edges) return { data: [], layout };
  const z = edges.slice(0, -1).map(() => []);
  for (const ls of s.y) {
    const st = tapStats(ls, tap);
    const total = st.counts.reduce((a, b) => a + b, 0) || 1;
    st.counts.forEach((n, b) => z[b].push(n / total));
  }
  const data = [{
    type: "heatmap", x: s.x, y: edges.slice(0, -1).map((e, i) => (e + edges[i + 1]) / 2), z,
    colorscale: "Viridis", showscale: false, name: run.label, hovertemplate: "step %{x}, %{y:.3g}: %{z:.1%}<extra></extra>",
  }];
  return { data, layout };
}

const DASHES = ["solid", "dash", "dot", "dashdot", "longdash", "longdashdot"];

// One per-layer quantity over time for every layer and variant: colour is the variant, dash the layer. The
// legend lists the runs, then the layers' dashes, then the bands (legendrank).
export const OVER_TIME = {
  grad: ["weight-gradient norm per layer", (ls) => ls.grad_norm, "log"],
  update: ["update / weight ratio per layer", (ls) => ls.update_ratio, "log"],
  saturation: ["saturation of the activation per layer", (ls) => ls.taps.act?.saturation ?? undefined, "linear"],
  backprop: ["gradient norm at each layer's pre-activation (grad tap)", (ls) => ls.taps.grad?.norm ?? undefined, "log"],
};

// Many runs: the chosen few as lines, the rest as a band per family in the chosen layer (picks.js): a band
// per layer would pile a dozen decades of overlap onto one log axis.
export function overTimeFigure(model, style, which, bandLayer) {
  const [title, pick, type] = OVER_TIME[which];
  const data = [];
  const chosen = chosenRuns(model, style.picked);
  model.layers.forEach((layer, li) => {
    const dash = DASHES[li % DASHES.length];
    const series = layerSeries(model, layer.name, pick);
    for (const f of layer.name === bandLayer ? familySpreads(model, series, chosen) : []) {
      const c = FAMILIES[f.norm].base;
      data.push({
        ...rangeTrace(`${f.name} 10–90% of ${f.runs} runs, ${layer.name}`, f.name, c, f.x, f.low, f.high),
        fillcolor: fade(c, 0.15), line: { color: fade(c, 0.5), width: 0.5, dash }, meta: { family: f.norm }, legendrank: 1002,
      });
    }
    for (const [index, s] of series) {
      if (!chosen.has(index)) continue;
      const label = model.runs[index].label;
      data.push({
        type: "scatter", mode: "lines", name: label, legendgroup: label, showlegend: li === 0, meta: { run: index }, legendrank: 1000,
        hovertemplate: `%{y:.3g}<extra>${label} ${layer.name}</extra>`, x: s.x, y: s.y.map((v) => v ?? null),
        line: { color: runColour(model.experiment.spec, index), width: style.line * 0.7, dash },
      });
    }
    // the key to the dashes: one grey sample line per layer
    data.push({ type: "scatter", mode: "lines", name: layer.name, legendrank: 1001, x: [null], y: [null], line: { color: "#777", width: style.line * 0.7, dash } });
  });
  const layout = baseLayout(style, title);
  layout.xaxis = { ...layout.xaxis, title: { text: "step" } };
  layout.yaxis = { ...layout.yaxis, type };
  // beside the plot only when one chart fills a wide screen: in a card it would take half the plot's width
  if (style.focus) layout.legend = { orientation: "v", x: 1.02, y: 1 };
  return { data, layout };
}

// BN layers: the batch statistics against the running averages eval mode uses, and the learned γ and β.
export const BN_PANELS = {
  mean: ["mean: batch vs running", (bn) => [bn.batch_mean.mean, bn.running_mean.mean]],
  var: ["variance: batch vs running", (bn) => [bn.batch_var.mean, bn.running_var.mean]],
  gamma: ["γ (scale)", (bn) => [bn.gamma.mean]],
  beta: ["β (shift)", (bn) => [bn.beta.mean]],
};

export function bnFigure(model, style, layerName, which) {
  const [title, pick] = BN_PANELS[which];
  const layout = baseLayout(style, `${layerName} · BN ${title}`);
  layout.margin = { l: 55, r: 10, t: 30 + style.font, b: 30 };
  const data = [];
  const chosen = chosenRuns(model, style.picked);
  for (const [index, s] of layerSeries(model, layerName, (ls) => ls.bn ?? undefined)) {
    if (!chosen.has(index)) continue;
    const label = model.runs[index].label;
    const vals = s.y.map(pick);
    data.push({ type: "scatter", mode: "lines", name: `${label} batch`, meta: { run: index }, x: s.x, y: vals.map((v) => v[0]), line: { color: runColour(model.experiment.spec, index), width: style.line * 0.7 } });
    if (vals[0]?.length > 1) {
      data.push({ type: "scatter", mode: "lines", name: `${label} running`, meta: { run: index }, x: s.x, y: vals.map((v) => v[1]), line: { color: runColour(model.experiment.spec, index), width: style.line, dash: "dash" } });
    }
  }
  if (!data.length) {
    layout.annotations = [{ text: "no BN layer here", xref: "paper", yref: "paper", x: 0.5, y: 0.5, showarrow: false }];
  }
  return { data, layout };
}

// A round of a sweep: its spec and each variant's last validation accuracy (eval mode).
export const roundOf = (model) => ({ spec: model.experiment.spec, accs: model.runs.map((r) => r.valAcc.y.at(-1) ?? null) });

// Validation accuracy against one swept parameter, a colour per norm; an earlier (coarse) round in open markers.
export function sweepFigure(model, style, param, parent = null) {
  const rounds = parent ? [[parent, "coarse round", "circle-open"], [roundOf(model), "this round", "circle"]] : [[roundOf(model), "", "circle"]];
  const single = !parent && sweptParams(model.experiment.spec).length === 1; // one parameter: a curve per norm
  const axis = sweepAxis(model.experiment.spec, param);
  const data = [];
  for (const [round, what, symbol] of rounds) {
    const byNorm = new Map();
    const valueOf = sweepAxis(round.spec, param).of; // a round's variants inherit from its own spec
    round.spec.variants.forEach((v, i) => {
      if (round.accs[i] === null) return;
      if (!byNorm.has(v.norm)) byNorm.set(v.norm, []);
      byNorm.get(v.norm).push({ x: valueOf(v), acc: round.accs[i], label: v.label });
    });
    for (const [norm, points] of byNorm) {
      points.sort((a, b) => a.x - b.x);
      data.push({
        type: "scatter", mode: single ? "lines+markers" : "markers", name: [NORM_NAMES[norm] ?? norm, what].filter(Boolean).join(" · "),
        x: points.map((p) => p.x), y: points.map((p) => p.acc), text: points.map((p) => p.label),
        hovertemplate: "%{text}: %{y:.1%}<extra></extra>",
        line: { color: FAMILIES[norm].base, width: style.line },
        marker: { size: 6 + style.line * 2, symbol, color: FAMILIES[norm].base, line: { width: 2 } },
      });
    }
  }
  const spec = model.experiment.spec;
  const tried = new Set(spec.variants.map((v) => axis.of(v))).size;
  const layout = baseLayout(style, `validation accuracy against ${axis.title} (${tried} values tried)`);
  layout.xaxis = { ...layout.xaxis, type: axis.type, title: { text: axis.title } };
  layout.yaxis = { autorange: false, range: [0, 1.02], tickformat: ".0%" };
  return { data, layout };
}

// A log-scaled axis of parallel coordinates (its values are log10s) labelled in real units: 0.001, 0.01, …
function decadeTicks(logs) {
  const finite = logs.filter(Number.isFinite);
  if (!finite.length) return {};
  const tickvals = [];
  const range = [Math.floor(Math.min(...finite)), Math.ceil(Math.max(...finite))];
  for (let k = range[0]; k <= range[1]; k++) tickvals.push(k);
  return { range, tickvals, ticktext: tickvals.map((k) => String(Number((10 ** k).toPrecision(1)))) };
}

// Every swept parameter and the accuracy, one line per configuration and norm (both rounds when refined).
export function parallelFigure(model, style, parent = null) {
  const spec = model.experiment.spec;
  const params = sweptParams(spec);
  const rows = [];
  for (const [k, round] of (parent ? [parent, roundOf(model)] : [roundOf(model)]).entries()) {
    const valueOf = params.map((p) => sweepAxis(round.spec, p).of); // a round's variants inherit from its own spec
    round.spec.variants.forEach((v, i) => {
      if (round.accs[i] !== null) {
        rows.push({ x: valueOf.map((of) => of(v)), acc: round.accs[i], norm: NORM_ORDER.indexOf(v.norm), round: k + 1 });
      }
    });
  }
  const dimensions = params.map((p, j) => {
    const axis = sweepAxis(spec, p);
    const log = axis.type === "log";
    const values = rows.map((r) => (log ? Math.log10(r.x[j]) : r.x[j]));
    return log ? { label: axis.title, values, ...decadeTicks(values) } : { label: axis.title, values };
  });
  if (parent) dimensions.unshift({ label: "round", values: rows.map((r) => r.round), tickvals: [1, 2] });
  dimensions.push({ label: "val accuracy", values: rows.map((r) => r.acc), range: [0, 1] });
  const scale = NORM_ORDER.map((norm, k) => [k / (NORM_ORDER.length - 1), FAMILIES[norm].base]);
  const data = [{ type: "parcoords", line: { color: rows.map((r) => r.norm), colorscale: scale, cmin: 0, cmax: NORM_ORDER.length - 1 }, dimensions }];
  const layout = baseLayout(style, "the sweep in parallel coordinates (colour: blue no norm, red BatchNorm)");
  // the axes' names sit above them, under the title, centred on the outer axes too: room at both sides
  layout.margin = { ...layout.margin, t: 90 + 2 * style.font, l: 8 * style.font, r: 8 * style.font };
  return { data, layout };
}

// The landscape probe (Santurkar et al.): per variant over time, what it measured along each step's gradient.
const finiteOr = (v) => (v === null || v === undefined || !Number.isFinite(v) ? null : v);
const spread = (values) => {
  const ok = values.filter((v) => v !== null && Number.isFinite(v));
  return ok.length ? [Math.min(...ok), Math.max(...ok)] : [null, null];
};

// The range over the step sizes of a per-η series, and the series at one η, for one variant.
function overEtas(model, run, style, x, series, what, at) {
  const c = runColour(model.experiment.spec, run.index);
  const s = series.map(spread);
  return [
    { ...rangeTrace(`${run.label} ${what} range`, run.label, c, x, s.map((v) => v[0]), s.map((v) => v[1])), meta: { run: run.index } },
    { type: "scatter", mode: "lines", name: `${run.label} ${at[0]}`, legendgroup: run.label, meta: { run: run.index }, x, y: at[1], line: { color: c, width: style.line } },
  ];
}

// The step size closest to the run's own lr: the multiplier in landscape_steps nearest 1.
function nearestToLr(spec) {
  const steps = spec.probe.landscape_steps;
  const i = steps.reduce((best, m, k) => (Math.abs(Math.log(m)) < Math.abs(Math.log(steps[best])) ? k : best), 0);
  return [i, steps[i]];
}

export const LANDSCAPE_PANELS = {
  loss: "loss band: L(w − ηg) over the step sizes η, and L(w)",
  grad: "gradient predictiveness: ‖∇L(w) − ∇L(w − ηg)‖ over η",
  beta: "effective β-smoothness: max ‖Δ∇L‖ / ‖ηg‖",
  shift: "internal covariate shift of the chosen layer: cos(G, G′)",
};

export function landscapeFigure(model, style, which, layerName) {
  const layout = baseLayout(style, LANDSCAPE_PANELS[which]);
  layout.margin = { l: 55, r: 10, t: 30 + style.font, b: 30 };
  layout.xaxis = { ...layout.xaxis, title: { text: "step" } };
  const data = [];
  const li = model.layers.findIndex((l) => l.name === layerName);
  for (const run of model.runs) {
    const { x, y } = run.landscape;
    if (!x.length) continue;
    const c = runColour(model.experiment.spec, run.index);
    if (which === "loss") {
      data.push(...overEtas(model, run, style, x, y.map((l) => l.loss_at), "loss", ["L(w)", y.map((l) => finiteOr(l.loss))]));
    } else if (which === "grad") {
      const [i, m] = nearestToLr(model.experiment.spec);
      const at = [m === 1 ? "at η = lr" : `at η = ${m}×lr`, y.map((l) => finiteOr(l.grad_change[i]))];
      data.push(...overEtas(model, run, style, x, y.map((l) => l.grad_change), "‖Δg‖", at));
    } else if (which === "beta") {
      data.push({ type: "scatter", mode: "lines", name: run.label, meta: { run: run.index }, x, y: y.map((l) => finiteOr(l.beta)), line: { color: c, width: style.line } });
    } else {
      const shift = y.map((l) => l.shift[li] ?? null);
      data.push({
        type: "scatter", mode: "lines", name: run.label, meta: { run: run.index }, x, y: shift.map((s) => finiteOr(s?.cos)),
        customdata: shift.map((s) => finiteOr(s?.l2)), hovertemplate: "cos %{y:.3f}, ‖G − G′‖ %{customdata:.3g}<extra>" + run.label + "</extra>",
        line: { color: c, width: style.line },
      });
    }
  }
  if (which !== "shift") layout.yaxis = { ...layout.yaxis, type: "log" };
  else layout.yaxis = { autorange: false, range: [-1.02, 1.02] };
  if (which === "shift" && li === 0) {
    layout.annotations = [{ text: "the first layer has no layers below it: pick another", xref: "paper", yref: "paper", x: 0.5, y: 0.5, showarrow: false }];
  }
  return { data, layout };
}

// BN runs in train mode: how often an example's predicted class changes when it is batched with other examples.
export function dependenceFigure(model, style) {
  const data = [];
  for (const run of model.runs) {
    const { x, y } = run.dependence;
    if (!x.length) continue;
    const c = runColour(model.experiment.spec, run.index);
    data.push({ type: "scatter", mode: "lines+markers", name: `${run.label} batches of its size`, legendgroup: run.label, meta: { run: run.index }, x, y: y.map((d) => finiteOr(d.flips)), line: { color: c, width: style.line } });
    data.push({ type: "scatter", mode: "lines+markers", name: `${run.label} pairs`, legendgroup: run.label, meta: { run: run.index }, x, y: y.map((d) => finiteOr(d.flips_pairs)), line: { color: c, width: style.line, dash: "dash" } });
  }
  const layout = baseLayout(style, "train mode: predictions that change with the batch (eval mode: none)");
  layout.xaxis = { ...layout.xaxis, title: { text: "step" } };
  layout.yaxis = { autorange: false, range: [0, 1.02], tickformat: ".0%" };
  return { data, layout };
}
