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

// One invisible trace per family carrying its colour bar, side by side in the bottom margin under the x axis
// title: `below` is that title's foot as a fraction of the plot's height (Plotly places bars in its units).
function colourBars(model, style, below) {
  const { families, scale } = runColours(model.experiment.spec);
  if (!scale) return [];
  const width = 1 / families.length;
  return families.map((f, k) => ({
    type: "scatter", mode: "markers", x: [null], y: [null], showlegend: false, hoverinfo: "skip",
    name: `${f.name} colour bar`,
    marker: {
      color: [scale.min], cmin: scale.min, cmax: scale.max, colorscale: familyScale(f.norm, f.stepped), showscale: true,
      colorbar: {
        orientation: "h", x: width * (k + 0.5), xanchor: "center", len: width * 0.8, y: -below,
        yanchor: "top", thickness: 8 + style.font / 2, ...ticks(scale),
        title: { text: `${f.name}: ${scale.title}`, side: "top", font: { size: style.font } },
      },
    },
  }));
}

// The figure's key: at most MAX_LEGEND legend entries for a few runs; for many, no per-run entries and a
// colour bar per family (what a run's lightness means) when colour encodes a swept value.
// height: the chart's height in pixels.
export function withKey(model, style, figure, height) {
  const { data, layout } = figure;
  if (layout.showlegend === false) return figure;
  const many = runsDrawn(data).size > LEGEND_RUNS;
  let entries = 0;
  for (const t of data) {
    if (t.showlegend === false) continue;
    if ((many && t.meta?.run !== undefined) || entries >= MAX_LEGEND) t.showlegend = false;
    else entries++;
  }
  if (!many) return figure;
  const axisTitle = 3 * style.font + 20; // tick labels and the x axis title under the plot, in pixels
  const bar = 3 * style.font + 26; // the bar's title, the bar and its tick labels
  layout.margin = { ...layout.margin, b: axisTitle + bar };
  const plot = Math.max(height - layout.margin.t - layout.margin.b, 40);
  data.push(...colourBars(model, style, axisTitle / plot));
  return figure;
}
