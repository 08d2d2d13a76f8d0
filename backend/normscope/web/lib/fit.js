// A chart's title fitted to its box: broken into lines at spaces, and shortened with "…" past MAX_LINES, so no
// title runs past the chart's edges at a large type (lecture mode) or on a narrow screen; the top margin grows
// by the lines added.

const FAMILY = '"Open Sans", verdana, arial, sans-serif'; // Plotly's default font
const MAX_LINES = 3;
const SIDE = 16; // pixels kept clear at each edge
const PAD = 8; // pixels above the title and between it and the plot
const LINE = 1.3; // a title line's height, in font sizes
const context = document.createElement("canvas").getContext("2d");

function width(text, size) {
  context.font = `${size}px ${FAMILY}`;
  return context.measureText(text).width;
}

// The words of `text` in lines no wider than `room`; a single word too long is cut.
export function wrap(text, size, room, maxLines = MAX_LINES) {
  const lines = [];
  let line = "";
  for (const word of text.split(" ")) {
    const next = line ? `${line} ${word}` : word;
    if (line && width(next, size) > room) {
      lines.push(line);
      line = word;
    } else {
      line = next;
    }
  }
  lines.push(line);
  const kept = lines.slice(0, maxLines);
  if (lines.length > maxLines) kept[maxLines - 1] += "…";
  return kept.map((l) => {
    while (l.length > 1 && width(l, size) > room) l = `${l.slice(0, -2)}…`;
    return l;
  });
}

export function fitTitle(layout, boxWidth) {
  const title = layout.title;
  if (!title?.text || title.text.includes("<br>") || !boxWidth) return;
  const size = title.font?.size ?? 17;
  const lines = wrap(title.text, size, boxWidth - 2 * SIDE);
  if (lines.length === 1 && lines[0] === title.text) return;
  // hung from the top of the chart, its lines going down into a top margin made tall enough for them
  // (Plotly anchors a title of several lines at its first line's middle: that line's half height more)
  const top = PAD + size * LINE * 0.5;
  layout.title = { ...title, text: lines.join("<br>"), yref: "container", y: 1, yanchor: "top", pad: { t: top } };
  const margin = layout.margin ?? {};
  layout.margin = { ...margin, t: Math.max(margin.t ?? 80, Math.ceil(top + lines.length * size * LINE + PAD)) };
}

const rect = (el) => el.getBoundingClientRect();
const GAP = 4; // pixels between an axis title and the legend below it

// How far (in the plot's height) the drawn legend must move down to clear every axis title it covers; 0: none.
export function legendOverlap(chartEl) {
  const legend = chartEl.querySelector(".legend");
  const plot = chartEl.querySelector(".nsewdrag");
  if (!legend || !plot) return 0;
  const l = rect(legend);
  let overlap = 0;
  for (const title of chartEl.querySelectorAll(".xtitle, .ytitle")) {
    const t = rect(title);
    const across = l.left < t.right && t.left < l.right;
    if (title.textContent && across && l.top < t.bottom + GAP && t.top < l.bottom) overlap = Math.max(overlap, t.bottom + GAP - l.top);
  }
  return overlap / rect(plot).height;
}

// A legend taller than half its chart (25 runs on a phone), or one Plotly had to give a scrollbar, leaves no room
// to plot or covers the axis title: it is left out.
export function legendTooTall(chartEl) {
  const legend = chartEl.querySelector(".legend");
  if (!legend) return false;
  const scrollbar = legend.querySelector(".scrollbar");
  return rect(legend).height > 0.5 * chartEl.clientHeight || (scrollbar ? rect(scrollbar).height > 0 : false);
}
