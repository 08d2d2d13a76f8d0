// The view lives in the query string, so a link shows the students exactly what the presenter shows.

const TAPS = ["preact", "normed", "act", "grad"];

export function readView() {
  const q = new URLSearchParams(location.search);
  const charts = [...document.querySelectorAll(".panel[data-chart]")].map((p) => p.dataset.chart); // the page's own
  return {
    layer: q.get("layer"),
    tap: TAPS.includes(q.get("tap")) ? q.get("tap") : "normed",
    chart: charts.includes(q.get("chart")) ? q.get("chart") : null, // the one chart filling the screen
    lecture: q.get("lecture") === "1",
    preset: q.get("preset"),
    open: charts.includes(q.get("open")) ? q.get("open") : null, // scrolled to and marked on arrival
    named: ["layer", "tap", "chart", "open"].some((k) => q.has(k)), // else a preset's own view applies
    room: q.get("room") === "1", // opened from the room's link: moves on when the presenter does
  };
}

export function viewQuery(view) {
  const q = new URLSearchParams();
  if (view.layer) q.set("layer", view.layer);
  q.set("tap", view.tap);
  if (view.chart) q.set("chart", view.chart);
  if (view.lecture) q.set("lecture", "1");
  if (view.preset) q.set("preset", view.preset);
  if (view.open) q.set("open", view.open);
  return q.toString();
}

export function writeView(view) {
  history.replaceState(null, "", `${location.pathname}?${view.room ? "room=1&" : ""}${viewQuery(view)}`);
}

// What the room follows: the presenter's choices, not how their own page is scrolled.
export function hallState(view, replayStep) {
  return { layer: view.layer, tap: view.tap, chart: view.chart, lecture: view.lecture, replay_step: replayStep };
}

// Chart styling for the room: bigger type and thicker lines in lecture mode; the projector theme adds
// black ink and heavier lines still, for washed-out projectors. focus: one chart fills a wide screen.
export function chartStyle(view, projector = false, wide = true) {
  const focus = Boolean(view.chart) && wide;
  const style = view.lecture
    ? { font: 20, line: 4, ink: "#000", paper: "#fff", focus }
    : { font: 12, line: 2, ink: "#222", paper: "#fff", focus };
  return projector ? { ...style, font: style.font + 2, line: style.line + 1, ink: "#000" } : style;
}
