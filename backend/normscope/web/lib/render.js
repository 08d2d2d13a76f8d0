// Redraws the charts from the model once per animation frame, only those on screen, within a time budget.
//
// Every chart on screen is redrawn from the newest state in the same animation frame when that fits the
// budget; on a slow machine the stalest charts go first and the rest follow in a later animation frame,
// so no single update blocks the page for long, and drawing takes at most MAX_BUSY of the time (frames that
// arrive meanwhile are merged into the next draw). Charts scrolled out of view cost nothing until they return.
// Nothing is drawn before the first data, nor into a box with no size (a hidden panel): a ResizeObserver draws
// the chart once its box has one. A chart whose figure throws is reported and skipped; the others still draw.
// A chart whose figure is the one it shows at its size is not drawn again (Plotly redraws it whole otherwise).
import { fitTitle, legendOverlap, legendTooTall } from "./fit.js";
import { signatureOf } from "./signature.js";

export const BUDGET_MS = 35;
export const MAX_BUSY = 0.4; // share of the time spent drawing at most: input, the socket and the trainer get the rest
// A rest no longer than this: one dear first draw (parallel coordinates build their WebGL context in seconds
// without a GPU) must not leave the other charts empty for longer still.
export const MAX_REST_MS = 250;
const TIMINGS_KEPT = 2000;
const COSTS_KEPT = 4; // a chart's last draws, whose dearest says whether it fits an update's budget

function keep(timings, ms) {
  timings.push(ms);
  if (timings.length > TIMINGS_KEPT) timings.splice(0, timings.length - TIMINGS_KEPT);
}

export class Renderer {
  // buttons(chartEl): the extra modebar buttons of a chart (its image and link buttons);
  // doubleClicked(chartEl): a double click in a chart's plot area, which Plotly keeps from the page;
  // hasData(): whether there is anything to draw yet (no empty axes before the first frame);
  // decorate(figure, height): every built figure passes through it (the key, the highlight; height: the chart's, in
  // pixels); plotted(chartEl): once drawn
  constructor(buttons = () => [], doubleClicked = () => {}, hasData = () => true, decorate = (figure) => figure, plotted = () => {}) {
    this.buttons = buttons;
    this.doubleClicked = doubleClicked;
    this.hasData = hasData;
    this.decorate = decorate;
    this.plotted = plotted;
    this.panels = new Map(); // id -> {el, build, config, visible, sized, drawnAt, cost, costs, traces, error, signature}
    this.version = 0; // bumped by invalidate(): every chart is stale until redrawn; nothing drawn before
    this.pending = false;
    this.restUntil = 0; // no drawing before this time (performance.now())
    this.timings = []; // milliseconds per animation-frame update, for the browser test
    this.chartTimings = []; // milliseconds per chart drawn: the unit an update is measured against
    this.observer = new IntersectionObserver((entries) => {
      for (const e of entries) {
        const panel = this.panels.get(e.target.id);
        if (panel) panel.visible = e.isIntersecting;
      }
      this.schedule();
    });
    // a box that gets a size (a panel shown, the window or the focus changed) is drawn at that size
    this.sizes = new ResizeObserver((entries) => {
      for (const e of entries) {
        const panel = this.panels.get(e.target.id);
        if (!panel) continue;
        const { width, height } = e.contentRect;
        panel.sized = width > 0 && height > 0;
        if (panel.sized && (width !== panel.width || height !== panel.height)) {
          Object.assign(panel, { width, height, resizeDue: true, drawnAt: -1, legendShift: 0, legendTooTall: false });
        }
      }
      this.schedule();
    });
  }

  add(id, build) {
    const el = document.getElementById(id);
    const config = { responsive: true, displayModeBar: "hover", displaylogo: false, modeBarButtonsToRemove: ["toImage"], modeBarButtonsToAdd: this.buttons(el) };
    // a first draw is dear; resizeDue: the box changed size while the chart was off screen
    this.panels.set(id, {
      el, build, config, visible: false, sized: false, width: 0, height: 0, drawnAt: 0, cost: BUDGET_MS, costs: [BUDGET_MS], traces: 0,
      resizeDue: false, error: null, legendShift: 0, legendTooTall: false,
    });
    this.observer.observe(el);
    this.sizes.observe(el);
  }

  remove(id) {
    const panel = this.panels.get(id);
    if (!panel) return;
    this.observer.unobserve(panel.el);
    this.sizes.unobserve(panel.el);
    Plotly.purge(panel.el);
    this.panels.delete(id);
  }

  invalidate() {
    this.version++;
    this.schedule();
  }

  schedule() {
    if (this.pending) return;
    this.pending = true;
    const rest = Math.min(MAX_REST_MS, this.restUntil - performance.now());
    if (rest > 0) setTimeout(() => requestAnimationFrame(() => this.draw()), rest);
    else requestAnimationFrame(() => this.draw());
  }

  stale() {
    return [...this.panels.entries()]
      .filter(([, p]) => p.visible && p.sized && p.drawnAt < this.version)
      .sort(([, a], [, b]) => a.drawnAt - b.drawnAt);
  }

  draw() {
    this.pending = false;
    if (!this.hasData()) return; // invalidate() schedules again when the data comes
    const t0 = performance.now();
    let plotted = 0;
    for (const [id, panel] of this.stale()) {
      const t = performance.now();
      // the rest next frame: this one would not fit, at the dearest of its last draws (a busy machine doubles some)
      if (plotted && t - t0 + Math.max(...panel.costs) > BUDGET_MS) break;
      panel.drawnAt = this.version; // a chart that throws waits for the next change rather than throwing each frame
      let redrawn = true;
      try {
        redrawn = this.drawOne(panel);
        panel.error = null;
      } catch (e) {
        panel.error = String(e?.message ?? e);
        console.error(`chart ${id}:`, e);
      }
      if (!redrawn) continue; // the figure on screen already: no draw to time
      plotted++;
      panel.cost = performance.now() - t;
      panel.costs = [...panel.costs.slice(1 - COSTS_KEPT), panel.cost];
      keep(this.chartTimings, panel.cost);
    }
    const spent = performance.now() - t0;
    this.restUntil = performance.now() + (spent * (1 - MAX_BUSY)) / MAX_BUSY;
    if (plotted) keep(this.timings, spent); // an update is one that drew: skipped charts would flatter the figures
    if (this.stale().length) this.schedule();
  }

  // Draws the panel's figure; false where it is the figure already drawn at this size (accuracy and the sweep
  // change only at an evaluation, a frame in five: the other frames cost them a build, not a draw).
  drawOne(panel) {
    // the box's size as the ResizeObserver saw it (no layout read before the draw)
    const { data, layout } = this.decorate(panel.build(), panel.height);
    // Plotly's default ('hide past div') measures every tick label at every draw, a sixth of a line chart's draw
    // with a forced layout each; the margins keep our labels inside the chart
    for (const axis of ["xaxis", "yaxis"]) layout[axis] = { ticklabeloverflow: "allow", ...layout[axis] };
    fitTitle(layout, panel.width);
    if (panel.legendShift && layout.legend) layout.legend = { ...layout.legend, y: (layout.legend.y ?? 0) - panel.legendShift };
    if (panel.legendTooTall) layout.showlegend = false; // the runs' badges above the charts name every colour
    const first = !panel.el.data;
    const signature = signatureOf({ data, layout });
    if (!first && !panel.resizeDue && signature === panel.signature) return false;
    panel.signature = signature;
    layout.datarevision = this.version; // series grow in place: same arrays, new points
    Plotly.react(panel.el, data, layout, panel.config);
    if (first) panel.el.on("plotly_doubleclick", () => this.doubleClicked(panel.el));
    if (first) this.plotted(panel.el);
    if (panel.resizeDue && !first) Plotly.Plots.resize(panel.el); // react keeps the size it had: fit the new box
    panel.resizeDue = false;
    // a legend under the plot is placed in the plot's height, which its own rows shrink: measured, and moved
    // below the axis title on the next draw (which the legend's growing margin may take a few of)
    const shift = legendOverlap(panel.el);
    if (shift > 0 && panel.legendShift < 3) Object.assign(panel, { legendShift: panel.legendShift + 1.5 * shift, drawnAt: -1 });
    if (legendTooTall(panel.el)) Object.assign(panel, { legendTooTall: true, drawnAt: -1 });
    // a trace of nulls only carries a key (a legend sample, a colour bar): not data
    panel.traces = data.filter((tr) => (tr.x ?? []).some((v) => v !== null) || (tr.z?.length ?? 0) > 0 || tr.dimensions?.length).length;
    return true;
  }

  // What each chart holds and cost at its last draw: read by the browser tests.
  report() {
    return Object.fromEntries(
      [...this.panels].map(([id, p]) => [id, { traces: p.traces, cost: p.cost, visible: p.visible, drawn: p.drawnAt === this.version, error: p.error }]),
    );
  }
}
