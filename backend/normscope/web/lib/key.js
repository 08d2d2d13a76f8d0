// How a chart says which line is which: a legend for a few runs, a colour bar per norm family for many.
import { familyScale, runColours } from "./colours.js";

export const LEGEND_RUNS = 6; // past this many runs in a chart, colour bars instead of a legend
export const MAX_LEGEND = 12; // legend entries at most: more squeeze the plot and are not read from the back row

// The runs a figure draws: its traces carry {meta: {run}} (figures.js).
const runsDrawn = (data) => new Set(data.map((t) => t.meta?.run).filter((r) => r !== undefined));

function ticks(scale) {
  const format = (p) => Number((scale.log ? 10 ** p : p).toPrecision(2)).toString();
  const decades = [];
  for (let p = Math.ceil(scale.min); scale.log && p <= scale.max; p++) decades.push(p);
  const at = decades.length >= 2 ? decades : [scale.min, scale.max];
  return { tickvals: at, ticktext: at.map(format) };
}

// One invisible trace per family carrying its colour bar, side by side at the foot of the figure (in the
// bottom margin, clear of the axis title whatever the chart's height).
function colourBars(model, style) {
  const { families, scale } = runColours(model.experiment.spec);
  if (!scale) return [];
  const width = 1 / families.length;
  return families.map((f, k) => ({
    type: "scatter", mode: "markers", x: [null], y: [null], showlegend: false, hoverinfo: "skip",
    name: `${f.name} colour bar`,
    marker: {
      color: [scale.min], cmin: scale.min, cmax: scale.max, colorscale: familyScale(f.norm), showscale: true,
      colorbar: {
        orientation: "h", x: width * (k + 0.5), xanchor: "center", len: width * 0.8, yref: "container", y: 0.01,
        yanchor: "bottom", thickness: 8 + style.font / 2, ...ticks(scale),
        title: { text: `${f.name}: ${scale.title}`, side: "top", font: { size: style.font } },
      },
    },
  }));
}

// The figure's key: at most MAX_LEGEND legend entries for a few runs; for many, no per-run entries and a
// colour bar per family (what a run's lightness means) when colour encodes a swept value.
export function withKey(model, style, figure) {
  const { data, layout } = figure;
  if (layout.showlegend === false) return figure;
  const many = runsDrawn(data).size > LEGEND_RUNS;
  let entries = 0;
  for (const t of data) {
    if (t.showlegend === false) continue;
    if ((many && t.meta?.run !== undefined) || entries >= MAX_LEGEND) t.showlegend = false;
    else entries++;
  }
  const bars = many ? colourBars(model, style) : [];
  if (bars.length) {
    data.push(...bars);
    layout.margin = { ...layout.margin, b: layout.margin.b + 3 * style.font + 30 }; // title, bar and ticks
  }
  return figure;
}
