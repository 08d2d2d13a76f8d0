// A run's colour says what the lesson compares: its norm picks the hue family (plain blue, BN red, LayerNorm
// amber), the swept value (log-scaled where the sweep is) its lightness within the family, darker = larger.
import { sweepAxis, sweptParams } from "./sweep.js";

export const FAMILIES = {
  none: { name: "plain", base: "#1f77b4" },
  batch: { name: "BN", base: "#d62728" },
  layer: { name: "LayerNorm", base: "#e69f00" },
};
const LIGHTEST = 0.7; // HSL lightness of the smallest value: still clear of the white paper
const DARKEST = 0.27; // of the largest: still a colour, not black
// Past this many runs in a family, the lightness comes in this many steps: runs of a step share a colour and
// so one trace (merge.js), and more shades would not be told apart from the back of the hall anyway.
export const SHADES = 8;

function hsl(hex) {
  const [r, g, b] = [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16) / 255);
  const max = Math.max(r, g, b);
  const min = Math.min(r, g, b);
  const l = (max + min) / 2;
  const d = max - min;
  if (!d) return [0, 0, l];
  const s = d / (1 - Math.abs(2 * l - 1));
  const h = max === r ? ((g - b) / d) % 6 : max === g ? (b - r) / d + 2 : (r - g) / d + 4;
  return [(h * 60 + 360) % 360, s, l];
}

function hex(h, s, l) {
  const a = s * Math.min(l, 1 - l);
  const f = (n) => {
    const k = (n + h / 30) % 12;
    const v = l - a * Math.max(-1, Math.min(k - 3, 9 - k, 1));
    return Math.round(v * 255).toString(16).padStart(2, "0");
  };
  return `#${f(0)}${f(8)}${f(4)}`;
}

// The family's colour at t in [0, 1] of the swept range: its hue and saturation, lightness from light to dark.
export function shade(norm, t) {
  const [h, s] = hsl((FAMILIES[norm] ?? FAMILIES.none).base);
  return hex(h, s, LIGHTEST - t * (LIGHTEST - DARKEST));
}

const step = (t) => Math.round(t * (SHADES - 1)) / (SHADES - 1);

// The colour scale of a family from the smallest swept value (0) to the largest (1), for its colour bar: in
// SHADES steps where the family's runs are (stepped), each step's band centred on the value it stands for.
export function familyScale(norm, stepped = false) {
  if (!stepped) return [0, 0.25, 0.5, 0.75, 1].map((t) => [t, shade(norm, t)]);
  const half = 0.5 / (SHADES - 1);
  return Array.from({ length: SHADES }, (_, k) => {
    const t = k / (SHADES - 1);
    return [[Math.max(0, t - half), shade(norm, t)], [Math.min(1, t + half), shade(norm, t)]];
  }).flat();
}

const colourCache = new WeakMap();

// Every variant's colour, and per family what its lightness means: {colours, families: [{norm, name, runs,
// stepped}], scale: {title, log, min, max} | null}. A family of one run without a sweep keeps the family's own
// colour; one of more than SHADES runs is stepped.
export function runColours(spec) {
  if (colourCache.has(spec)) return colourCache.get(spec);
  const param = sweptParams(spec)[0];
  const axis = param && sweepAxis(spec, param);
  const log = axis?.type === "log";
  const position = (v) => (log ? Math.log10(v) : v);
  const values = axis ? spec.variants.map((v) => position(axis.of(v))) : [];
  const [min, max] = [Math.min(...values), Math.max(...values)];
  const byNorm = new Map();
  spec.variants.forEach((v, i) => {
    const norm = v.norm in FAMILIES ? v.norm : "none";
    if (!byNorm.has(norm)) byNorm.set(norm, []);
    byNorm.get(norm).push(i);
  });
  const colours = [];
  for (const [norm, runs] of byNorm) {
    const at = runs.length > SHADES ? step : (t) => t;
    runs.forEach((i, k) => {
      if (axis && max > min) colours[i] = shade(norm, at((values[i] - min) / (max - min)));
      else if (runs.length > 1) colours[i] = shade(norm, at(k / (runs.length - 1)));
      else colours[i] = FAMILIES[norm].base;
    });
  }
  const families = [...byNorm].map(([norm, runs]) => ({ norm, name: FAMILIES[norm].name, runs, stepped: runs.length > SHADES }));
  const scale = axis && max > min ? { title: axis.title, log, min, max } : null;
  const out = { colours, families, scale };
  colourCache.set(spec, out);
  return out;
}

export const runColour = (spec, index) => runColours(spec).colours[index] ?? FAMILIES.none.base;
