// Redraws the charts from the model once per animation frame, only those on screen, within a time budget.
//
// Every chart on screen is redrawn from the newest state in the same animation frame when that fits the
// budget; on a slow machine the stalest charts go first and the rest follow in a later animation frame,
// so no single update blocks the page for long, and drawing takes at most MAX_BUSY of the time (frames that
// arrive meanwhile are merged into the next draw). Charts scrolled out of view cost nothing until they return.

export const BUDGET_MS = 35;
export const MAX_BUSY = 0.4; // share of the time spent drawing at most: input, the socket and the trainer get the rest
const TIMINGS_KEPT = 2000;

function keep(timings, ms) {
  timings.push(ms);
  if (timings.length > TIMINGS_KEPT) timings.splice(0, timings.length - TIMINGS_KEPT);
}

export class Renderer {
  // buttons(chartEl): the extra modebar buttons of a chart (its image and link buttons);
  // doubleClicked(chartEl): a double click in a chart's plot area, which Plotly keeps from the page;
  // decorate(figure, chartEl): every built figure passes through it (the key, the highlight); plotted(chartEl): once drawn
  constructor(buttons = () => [], doubleClicked = () => {}, decorate = (figure) => figure, plotted = () => {}) {
    this.buttons = buttons;
    this.doubleClicked = doubleClicked;
    this.decorate = decorate;
    this.plotted = plotted;
    this.panels = new Map(); // id -> {el, build, config, visible, drawnAt, cost, traces}
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
  }

  add(id, build) {
    const el = document.getElementById(id);
    const config = { responsive: true, displaylogo: false, modeBarButtonsToRemove: ["toImage"], modeBarButtonsToAdd: this.buttons(el) };
    // a first draw is dear; resizeDue: the box changed size while the chart was off screen
    this.panels.set(id, { el, build, config, visible: false, drawnAt: 0, cost: BUDGET_MS, traces: 0, resizeDue: false });
    this.observer.observe(el);
  }

  remove(id) {
    const panel = this.panels.get(id);
    if (!panel) return;
    this.observer.unobserve(panel.el);
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
    const rest = this.restUntil - performance.now();
    if (rest > 0) setTimeout(() => requestAnimationFrame(() => this.draw()), rest);
    else requestAnimationFrame(() => this.draw());
  }

  stale() {
    return [...this.panels.entries()]
      .filter(([, p]) => p.visible && p.drawnAt < this.version)
      .sort(([, a], [, b]) => a.drawnAt - b.drawnAt);
  }

  draw() {
    this.pending = false;
    const t0 = performance.now();
    let drawn = 0;
    for (const [, panel] of this.stale()) {
      const t = performance.now();
      if (drawn++ && t - t0 + panel.cost > BUDGET_MS) break; // the rest next frame: this one would not fit
      const { data, layout } = this.decorate(panel.build(), panel.el);
      layout.datarevision = this.version; // series grow in place: same arrays, new points
      const first = !panel.el.data;
      Plotly.react(panel.el, data, layout, panel.config);
      if (first) panel.el.on("plotly_doubleclick", () => this.doubleClicked(panel.el));
      if (first) this.plotted(panel.el);
      if (panel.resizeDue) Plotly.Plots.resize(panel.el); // react keeps the size it had: fit the new box
      panel.resizeDue = false;
      panel.drawnAt = this.version;
      panel.cost = performance.now() - t;
      keep(this.chartTimings, panel.cost);
      // a trace of nulls only carries a key (a legend sample, a colour bar): not data
      panel.traces = data.filter((tr) => (tr.x ?? []).some((v) => v !== null) || (tr.z?.length ?? 0) > 0).length;
    }
    const spent = performance.now() - t0;
    this.restUntil = performance.now() + (spent * (1 - MAX_BUSY)) / MAX_BUSY;
    keep(this.timings, spent);
    if (this.stale().length) this.schedule();
  }

  // Charts on screen fit their boxes now; the others when they are next drawn.
  resize() {
    for (const p of this.panels.values()) {
      if (p.visible && p.el.data) Plotly.Plots.resize(p.el);
      else Object.assign(p, { resizeDue: true, drawnAt: -1 }); // stale: drawn again once on screen
    }
  }

  // What each chart holds and cost at its last draw: read by the browser tests.
  report() {
    return Object.fromEntries([...this.panels].map(([id, p]) => [id, { traces: p.traces, cost: p.cost, visible: p.visible }]));
  }
}
