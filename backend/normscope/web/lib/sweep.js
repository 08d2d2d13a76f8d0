// What a sweep varies and how each parameter reads: shared by the sweep charts and the run colours.

// The parameters a sweep can vary: the variant field holding each, and the experiment-wide value it overrides.
const SWEPT = {
  "optimizer.lr": { field: "lr", title: "learning rate", base: (spec) => spec.optimizer.lr },
  "optimizer.momentum": { field: "momentum", title: "momentum β", base: (spec) => spec.optimizer.momentum },
  "optimizer.weight_decay": { field: "weight_decay", title: "weight decay", base: (spec) => spec.optimizer.weight_decay },
  "batch_size": { field: "batch_size", title: "batch size", base: (spec) => spec.batch_size },
};
export const NORM_NAMES = { none: "no norm", batch: "BatchNorm", layer: "LayerNorm" };
export const NORM_ORDER = ["none", "batch", "layer"];

export const isSweep = (spec) => Boolean(spec.sweep) || new Set(spec.variants.map((v) => v.lr ?? spec.optimizer.lr)).size >= 3;

// What a sweep varies, in the order its labels name them (a hand-made learning-rate sweep varies the lr).
export function sweptParams(spec) {
  if (spec.sweep) return Object.keys(SWEPT).filter((p) => p in spec.sweep.params);
  return isSweep(spec) ? ["optimizer.lr"] : [];
}

// How a parameter's axis reads: β as 1 − β on a log axis (near 1 is where it matters), a parameter drawn on a
// log scale or spread over decades on a log axis, the rest linear.
export function sweepAxis(spec, param) {
  const d = spec.sweep?.params[param];
  const value = (v, i) => v[SWEPT[param].field] ?? SWEPT[param].base(spec, i);
  if (param === "optimizer.momentum") return { title: "1 − β", type: "log", of: (v) => 1 - value(v) };
  const values = d?.grid ?? d?.choice ?? [];
  const decades = values.length && Math.min(...values) > 0 && Math.max(...values) / Math.min(...values) >= 100;
  const log = d ? Boolean(d.log_uniform) || decades : param === "optimizer.lr";
  return { title: SWEPT[param].title, type: log ? "log" : "linear", of: value };
}
