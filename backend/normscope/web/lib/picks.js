// Per-layer charts of many runs draw a chosen few (the best of each norm, the highlighted run) and the spread
// of the rest as a band per family: 25 runs × 4 layers would be 100 lines nobody can follow.
import { runColours } from "./colours.js";

export const DRAWN_ALONE = 6; // up to this many runs a per-layer chart draws every one
export const SPREAD = [0.1, 0.9]; // the band: the 10th to 90th percentile of the family's other runs

const lastAcc = (run) => run.valAcc.y.at(-1) ?? -1;

// The runs drawn individually: all of them for a few; else the best of each family by validation accuracy
// (eval mode) and the highlighted one. A Set of run indexes.
export function chosenRuns(model, highlighted = null) {
  if (model.runs.length <= DRAWN_ALONE) return new Set(model.runs.map((r) => r.index));
  const chosen = new Set();
  for (const f of runColours(model.experiment.spec).families) {
    const runs = f.runs.map((i) => model.runs[i]).filter((r) => r && r.status !== "diverged");
    if (runs.length) chosen.add(runs.reduce((best, r) => (lastAcc(r) > lastAcc(best) ? r : best)).index);
  }
  if (highlighted !== null && model.runs[highlighted]) chosen.add(highlighted);
  return chosen;
}

function quantile(sorted, q) {
  const at = (sorted.length - 1) * q;
  const lo = Math.floor(at);
  return sorted[lo] + (sorted[Math.min(lo + 1, sorted.length - 1)] - sorted[lo]) * (at - lo);
}

// The spread of the runs not chosen, per family: {norm, name, runs, x, low, high} at each step where at
// least two of them have a finite value. series: Map run index -> {x, y}.
export function familySpreads(model, series, chosen) {
  const out = [];
  for (const f of runColours(model.experiment.spec).families) {
    const byStep = new Map();
    const rest = f.runs.filter((i) => !chosen.has(i) && series.has(i));
    for (const i of rest) {
      const { x, y } = series.get(i);
      x.forEach((step, k) => {
        if (y[k] === null || y[k] === undefined || !Number.isFinite(y[k])) return;
        if (!byStep.has(step)) byStep.set(step, []);
        byStep.get(step).push(y[k]);
      });
    }
    const steps = [...byStep.keys()].filter((s) => byStep.get(s).length >= 2).sort((a, b) => a - b);
    if (!steps.length) continue;
    const sorted = steps.map((s) => byStep.get(s).sort((a, b) => a - b));
    out.push({
      norm: f.norm, name: f.name, runs: rest.length, x: steps,
      low: sorted.map((v) => quantile(v, SPREAD[0])), high: sorted.map((v) => quantile(v, SPREAD[1])),
    });
  }
  return out;
}
