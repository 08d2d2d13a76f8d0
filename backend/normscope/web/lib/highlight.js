// One run picked out everywhere: hovering a run (its line, badge or table row) highlights it in every chart and
// greys the rest; a click pins it until another click or Esc.
import { runOfPoint } from "./merge.js";

export const GREY = "#c8c8c8";

export class Highlight {
  constructor(changed) {
    this.changed = changed; // redraws the charts
    this.hovered = null;
    this.pinned = null;
    document.addEventListener("keydown", (ev) => {
      if (ev.key !== "Escape" || this.pinned === null || ev.defaultPrevented) return;
      ev.preventDefault(); // the pin goes first; the next Esc leaves a focused chart
      this.pin(null);
    });
  }

  get active() {
    return this.pinned ?? this.hovered;
  }

  set(hovered, pinned) {
    const before = [this.active, this.pinned];
    [this.hovered, this.pinned] = [hovered, pinned];
    if (this.active !== before[0] || this.pinned !== before[1]) this.changed();
  }

  hover(run) {
    this.set(run, this.pinned);
  }

  // Clicking the pinned run again frees it.
  pin(run) {
    this.set(this.hovered, run === this.pinned ? null : run);
  }

  // A chart's lines: their traces carry {meta: {run}} (figures.js), or name each point's run once joined (merge.js).
  attachChart(chartEl) {
    const runOf = (ev) => runOfPoint(ev.points?.[0]);
    chartEl.on("plotly_hover", (ev) => runOf(ev) !== undefined && this.hover(runOf(ev)));
    chartEl.on("plotly_unhover", () => this.hover(null));
    chartEl.on("plotly_click", (ev) => runOf(ev) !== undefined && this.pin(runOf(ev)));
  }

  // A badge or a table row standing for one run; a press pins (badges are rebuilt with every frame: a click,
  // press and release on the same element, could miss).
  attachRun(element, run) {
    element.addEventListener("mouseenter", () => this.hover(run));
    element.addEventListener("mouseleave", () => this.hover(null));
    element.addEventListener("pointerdown", () => this.pin(run));
    element.classList.toggle("highlighted", this.active === run);
    element.classList.toggle("pinned", this.pinned === run);
  }
}

// The highlighted run's lines thicker and drawn last (on top), named above the plot; every other run's in grey.
export function emphasize(figure, active, label) {
  if (active === null) return figure;
  const mine = [];
  const rest = [];
  for (const t of figure.data) {
    const run = t.meta?.run;
    if (run === active) {
      if (t.line) t.line = { ...t.line, width: (t.line.width ?? 2) * 1.6 };
      mine.push(t);
      continue;
    }
    if (run !== undefined) { // a family's band keeps its faint colour: plain against BN still reads
      if (t.line) t.line = { ...t.line, color: GREY };
      if (t.fillcolor) t.fillcolor = "rgba(200,200,200,0.3)";
      if (t.marker?.color && !t.marker.showscale) t.marker = { ...t.marker, color: GREY };
    }
    rest.push(t);
  }
  figure.data = [...rest, ...mine];
  if (mine.length) { // which run it is, in its colour, above the plot's top left corner
    figure.layout.annotations = [...(figure.layout.annotations ?? []), {
      text: `${label} (Esc: all)`, xref: "paper", yref: "paper", x: 0, y: 1,
      xanchor: "left", yanchor: "bottom", showarrow: false, font: { color: mine[0].line?.color ?? "#000" },
    }];
  }
  return figure;
}
