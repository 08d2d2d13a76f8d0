// One experiment, live or replayed: wires the stream, the model, the charts, the controls and the view state.
import { runColour, runColours } from "./lib/colours.js";
import { setupControls } from "./lib/controls.js";
import * as fig from "./lib/figures.js";
import { Follow, Lead, setupShare } from "./lib/hall.js";
import { emphasize, Highlight } from "./lib/highlight.js";
import { LEGEND_RUNS, withKey } from "./lib/key.js";
import { typing } from "./lib/keys.js";
import { layerNames } from "./lib/layer_names.js";
import { Marks } from "./lib/marks.js";
import { mergeAlike } from "./lib/merge.js";
import { chosenRuns, DRAWN_ALONE } from "./lib/picks.js";
import { ExperimentModel } from "./lib/model.js";
import { Renderer } from "./lib/render.js";
import { RunTable, statusBadges } from "./lib/runtable.js";
import { SaveLesson } from "./lib/save_lesson.js";
import { snapshotButtons } from "./lib/snapshot.js";
import { isSweep, sweptParams } from "./lib/sweep.js";
import { fetchFolds, showFolds } from "./lib/fold.js";
import { loadFrames, setupReplay } from "./lib/replay.js";
import { RoomLead, followRoom, lectureBar, roomAssigns, roomPage } from "./lib/room.js";
import { Stream } from "./lib/stream.js";
import { chartStyle, hallState, readView, viewQuery, writeView } from "./lib/view.js";
import { api, presenterToken } from "./token.js";

const TERMINAL = new Set(["done", "cancelled", "failed", "interrupted"]);
const el = (id) => document.getElementById(id);
// The HTML export's embedded experiment (set by offline.js), or null on the server's page.
const offline = window.NORMSCOPE_EXPORT ?? null;
// The room page keeps a spare page loaded (Plotly and these modules ready) and tells it which experiment to open.
const experimentId = offline
  ? offline.experiment.id
  : new URLSearchParams(location.search).has("spare")
    ? await roomAssigns()
    : decodeURIComponent(location.pathname.split("/").pop());
const presenter = !offline && Boolean(presenterToken()); // keeps a ?token= before the view rewrites the query
const view = readView();
// The lesson the experiment was launched from (spec.lesson), or the one an old `?preset=` link names.
async function lessonOf(spec) {
  if (offline) return offline.preset;
  const id = spec.lesson ?? view.preset;
  return id ? api(`/api/lessons/${encodeURIComponent(id)}`).catch(() => null) : null;
}
const linkTo = (chart) => `${location.origin}${location.pathname}?${viewQuery({ ...view, chart, open: null })}`;
// One run picked out in every chart, the badges and the run table (before the focus's Esc: a pin clears first).
const highlight = new Highlight(() => redraw());
const runTable = new RunTable(el("run-table"), highlight);
const renderer = new Renderer(
  (chartEl) => snapshotButtons(chartEl, () => model?.experiment.spec.name ?? "normscope", linkTo),
  (chartEl) => toggleFocus(chartEl.closest(".panel").dataset.chart),
  () => Boolean(model?.latest), // no empty axes before the first frame
  (figure, height) =>
    mergeAlike(emphasize(withKey(model, style(), figure, height), highlight.active, model?.runs[highlight.active]?.label)),
  (chartEl) => highlight.attachChart(chartEl),
);
let model = null;
let updateControls = () => {};
let replay = null; // {seek, step} once a finished experiment replays
let projector = localStorage.getItem("normscope-theme") === "projector";

const layerName = () => view.layer ?? model?.layers.at(-1)?.name ?? "";
const wide = matchMedia("(min-width: 641px)"); // style.css's phones are narrower: their layout stays
// picked: the highlighted run, which per-layer charts of many runs draw beside their chosen few (picks.js)
const style = () => ({ ...chartStyle(view, projector, wide.matches), picked: highlight.active });
const marks = new Marks(experimentId, presenter, () => redraw(), (step) => replay?.seek(step));
// Charts over steps carry the presenter's marks.
const overTime = (id, build) => renderer.add(id, () => fig.withMarks(marks.list, style(), build()));
overTime("chart-loss", () => fig.lossFigure(model, style()));
overTime("chart-accuracy", () => fig.accuracyFigure(model, style()));
overTime("chart-bands", () => fig.bandsFigure(model, style(), layerName(), view.tap));
for (const which of Object.keys(fig.BN_PANELS)) overTime(`chart-bn-${which}`, () => fig.bnFigure(model, style(), layerName(), which));
for (const which of Object.keys(fig.OVER_TIME)) overTime(`chart-${which}`, () => fig.overTimeFigure(model, style(), which, layerName()));
for (const which of Object.keys(fig.LANDSCAPE_PANELS)) {
  overTime(`chart-landscape-${which}`, () => fig.landscapeFigure(model, style(), which, layerName()));
}
overTime("chart-dependence", () => fig.dependenceFigure(model, style()));

// Charts of what only some experiments measure are shown only for those.
function showOptionalPanels(spec) {
  const shown = {
    sweep: isSweep(spec),
    landscape: spec.probe.landscape_every > 0,
    dependence: spec.probe.batch_dependence && spec.variants.some((v) => v.norm === "batch"),
    backprop: Boolean(spec.probe.grad),
  };
  el("tap-grad").hidden = !spec.probe.grad;
  el("external").hidden = !spec.external;
  const untapped = spec.external?.untapped ?? [];
  el("untapped-intro").hidden = !untapped.length;
  el("untapped").replaceChildren(...untapped.map((line) => Object.assign(document.createElement("li"), { textContent: line })));
  for (const [chart, on] of Object.entries(shown)) document.querySelector(`.panel[data-chart="${chart}"]`).hidden = !on;
}

// A sweep: a chart per swept parameter, parallel coordinates for several; a refined round draws its parent too.
let parentRound = null;
function setupSweep(spec) {
  const params = sweptParams(spec);
  if (!params.length) return;
  smallMultiples("sweep-charts", "chart-sweep", params, (param) => fig.sweepFigure(model, style(), param, parentRound));
  el("chart-sweep-parallel").hidden = params.length < 2;
  if (params.length >= 2) renderer.add("chart-sweep-parallel", () => fig.parallelFigure(model, style(), parentRound));
  if (spec.sweep?.parent && !offline) loadParentRound(spec.sweep.parent);
}

async function loadParentRound(id) {
  try {
    const parent = await api(`/api/experiments/${encodeURIComponent(id)}`);
    const [last] = (await api(`/api/experiments/${encodeURIComponent(id)}/frames?since=${parent.step - 1}`)).slice(-1);
    const accs = parent.spec.variants.map((_, i) => last?.runs.find((r) => r.index === i)?.val?.acc ?? null);
    parentRound = { spec: parent.spec, accs };
    el("sweep-round").textContent = `(open markers: the coarse round, ${parent.spec.name})`;
    redraw();
  } catch (e) {
    if (e.status !== 404) throw e; // the coarse round was deleted: this round alone
  }
}

// The presenter's refine: the next round of a finished sweep opens in its place.
el("refine").addEventListener("click", async () => {
  el("refine-error").textContent = "";
  try {
    const next = await api(`/api/experiments/${experimentId}/refine`, { method: "POST", body: "{}" });
    location.href = `/experiments/${next.id}?${viewQuery({ ...view, chart: null, open: "sweep" })}`;
  } catch (e) {
    el("refine-error").textContent = e.body?.detail ?? `refine failed (${e.message})`;
  }
});

// Small multiples, one chart each (Plotly's cost grows with traces per chart): histograms per layer, heatmaps per run.
function smallMultiples(containerId, prefix, items, build) {
  const box = el(containerId);
  for (const old of box.children) renderer.remove(old.id);
  box.replaceChildren(
    ...items.map((_, i) => Object.assign(document.createElement("div"), { id: `${prefix}-${i}`, className: "chart small" })),
  );
  items.forEach((item, i) => renderer.add(`${prefix}-${i}`, () => build(item)));
}

// A ResNet-56 has 56 layers: its histograms come a page at a time, the page holding the chosen layer first.
const HIST_PAGE = 12;
let histPage = 0;

function setupHistograms() {
  const pages = Math.ceil(model.layers.length / HIST_PAGE);
  histPage = Math.max(0, Math.min(histPage, pages - 1));
  const shown = model.layers.slice(histPage * HIST_PAGE, (histPage + 1) * HIST_PAGE);
  smallMultiples("histograms", "chart-hist", shown, (layer) =>
    fig.histogramFigure(model, style(), layer, view.tap, model.latest),
  );
  el("hist-pager").hidden = pages <= 1;
  el("hist-page").textContent = shown.length ? `${shown[0].name} – ${shown.at(-1).name} (${model.layers.length} layers)` : "";
  el("hist-prev").disabled = histPage === 0;
  el("hist-next").disabled = histPage >= pages - 1;
}

function pageOfLayer() {
  const i = model.layers.findIndex((l) => l.name === layerName());
  return i < 0 ? 0 : Math.floor(i / HIST_PAGE);
}

// The histograms' page turns to the chosen layer when it lies on another page.
function turnToLayer() {
  if (pageOfLayer() === histPage) return;
  histPage = pageOfLayer();
  setupHistograms();
}

el("hist-prev").addEventListener("click", () => { histPage -= 1; setupHistograms(); redraw(); });
el("hist-next").addEventListener("click", () => { histPage += 1; setupHistograms(); redraw(); });

function setupMultiples() {
  histPage = pageOfLayer();
  setupHistograms();
  // many runs: a panel per chosen run (the best of each norm, the highlighted one), not one per run
  const many = model.runs.length > DRAWN_ALONE;
  const slots = many ? [...Array(runColours(model.experiment.spec).families.length + 1).keys()] : model.runs.map((r) => r.index);
  smallMultiples("heatmaps", "chart-heat", slots, (slot) => {
    const run = many ? [...chosenRuns(model, highlight.active)].sort((a, b) => a - b)[slot] : slot;
    if (run === undefined) return { data: [], layout: fig.baseLayout(style(), "hover or click a run to see it here") };
    return fig.withMarks(marks.list, style(), fig.heatmapFigure(model, style(), layerName(), view.tap, run));
  });
}

// For the browser tests and the curious: timings of each batched update and what each chart holds.
window.normscope = { renderer, model: () => model, view, stream: () => stream, marks, highlight };

function redraw() {
  if (model) renderer.invalidate();
  showStatus();
}

function showStatus() {
  if (!model) return;
  const total = model.experiment.spec.steps;
  el("status").textContent = model.status;
  el("status").dataset.status = model.status;
  el("step").textContent = `step ${model.lastStep} / ${total}`;
  el("progress-bar").style.width = `${Math.min(100, (100 * model.lastStep) / total)}%`;
  const eta = model.eta();
  el("eta").textContent = model.status === "running" && eta !== null ? `ETA ${formatSeconds(eta)}` : "";
  const rate = model.imagesPerSecond();
  el("speed-rate").textContent = rate ? `${Math.round(rate).toLocaleString("en")} img/s` : "";
  if (model.lastStep > 0 || TERMINAL.has(model.status)) el("download").hidden = true;
  // A layer no run normalizes has no BN internals: one line instead of four empty plots.
  const noBn = Boolean(model.latest) && !model.latest.runs.some((rf) => rf.layers.find((l) => l.name === layerName())?.bn);
  el("bn-none").hidden = !noBn;
  el("bn-charts").hidden = noBn;
  el("error").hidden = !model.error;
  el("error").textContent = model.error ? `${model.status}: ${model.error}` : "";
  // many runs: a badge per status with its count; the run table names each run
  const badge = (r) => {
    const b = document.createElement("span");
    b.className = "run";
    b.dataset.status = r.status;
    b.style.borderColor = runColour(model.experiment.spec, r.index);
    b.textContent = r.status === "diverged" ? `${r.label}: diverged at step ${r.divergedAt}` : `${r.label}: ${r.status}`;
    highlight.attachRun(b, r.index);
    return b;
  };
  el("runs").replaceChildren(...(model.runs.length > LEGEND_RUNS ? statusBadges(model) : model.runs.map(badge)));
  runTable.update(model);
  updateControls(model.status);
}

function formatSeconds(s) {
  return s < 90 ? `${Math.round(s)} s` : `${Math.floor(s / 60)} min ${Math.round(s % 60)} s`;
}

// Layers named by stage (stage2.block1.conv2) are grouped by it, so 56 of them stay findable.
function setupView(layers) {
  const select = el("layer");
  const groups = new Map();
  for (const l of layers) {
    const stage = l.name.includes(".") ? l.name.split(".")[0] : "";
    if (!groups.has(stage)) groups.set(stage, []);
    groups.get(stage).push(new Option(l.name, l.name));
  }
  select.replaceChildren(
    ...[...groups].flatMap(([stage, options]) => {
      if (!stage) return options;
      const group = Object.assign(document.createElement("optgroup"), { label: stage });
      group.append(...options);
      return [group];
    }),
  );
  // no layers yet (queued): the link's layer waits for them rather than being dropped
  if (layers.length && !layers.some((l) => l.name === view.layer)) view.layer = layers.at(-1).name;
  select.value = view.layer ?? "";
}

// The hall: the presenter's page sends each view it shows to the room; a viewer's page follows it.
const lead = presenter ? new Lead(experimentId) : null;
const follow = presenter || offline ? null : new Follow(el("follow"), showPresenterView, (on) => view.room && followChanged(on));
if (presenter) setupShare();

// The room: the presenter's page shows the room what it opens (unless private); a page opened from the room's
// link moves on with the presenter, or, once its viewer stopped following, says where the presenter went.
const roomLead = presenter ? new RoomLead(el("to-room"), experimentId) : null;
const ROOM_WAIT_MS = 3000;
let roomShown = false;
const showRoom = () => {
  if (roomShown) return;
  roomShown = true;
  requestAnimationFrame(() => roomLead?.show(experimentId)); // after this page's draw
};
let roomElsewhere = null; // what the room is shown, when it is not this experiment
// Inside the room page that page moves on (it holds the room's socket); opened alone, this page does.
const embedded = window.parent !== window;
function roomMoved(elsewhere) {
  roomElsewhere = elsewhere;
  if (!roomElsewhere) el("moved-on").hidden = true;
  else if (!follow.on) showMovedOn(roomElsewhere);
  else if (!embedded) location.replace(roomPage(roomElsewhere));
}
function followChanged(on) {
  if (embedded) parent.postMessage({ type: "follow", on }, location.origin);
  else if (on && roomElsewhere) location.replace(roomPage(roomElsewhere));
}
if (view.room && follow) {
  if (embedded) {
    addEventListener("message", (ev) => {
      if (ev.origin === location.origin && ev.data?.type === "room") roomMoved(ev.data.elsewhere);
    });
  } else {
    followRoom((msg) => roomMoved(msg.experiment && msg.experiment !== experimentId ? msg.experiment : null));
  }
  el("moved-on-follow").addEventListener("click", () => follow.set(true));
}

async function showMovedOn(id) {
  const link = el("moved-on-link");
  link.href = embedded ? "/room" : roomPage(id);
  link.target = embedded ? "_top" : "";
  link.textContent = "open what the presenter shows";
  el("moved-on").hidden = false;
  const shown = await api(`/api/experiments/${encodeURIComponent(id)}`).catch(() => null);
  if (shown && roomElsewhere === id) link.textContent = shown.spec.name;
}
if (presenter) marks.setupDialog(() => (replay ? replay.step() : model?.lastStep ?? 0));

function showPresenterView(state) {
  view.layer = state.layer ?? view.layer;
  view.tap = state.tap;
  view.chart = state.chart;
  view.lecture = state.lecture;
  if (model?.layers.some((l) => l.name === view.layer)) {
    el("layer").value = view.layer;
    turnToLayer();
  }
  applyView();
  if (state.replay_step !== null) replay?.seek(state.replay_step);
}

// A change the person at this page made: the presenter's goes to the room, a viewer's ends following.
function chosen() {
  applyView();
  lead?.send(hallState(view, replay ? replay.step() : null));
  follow?.ownChoice();
}

function applyView() {
  document.body.classList.toggle("lecture", view.lecture);
  document.body.classList.toggle("projector", projector);
  el("projector").setAttribute("aria-pressed", String(projector));
  document.body.classList.toggle("focus", Boolean(view.chart));
  fitFocus();
  for (const p of document.querySelectorAll(".panel")) p.classList.toggle("focused", p.dataset.chart === view.chart);
  for (const r of document.querySelectorAll('input[name="tap"]')) r.checked = r.value === view.tap;
  el("focus").value = view.chart ?? "";
  el("lecture").setAttribute("aria-pressed", String(view.lecture));
  writeView(view);
  redraw(); // a chart whose box changed size is redrawn by the renderer's ResizeObserver too
}

el("layer").addEventListener("change", (ev) => {
  view.layer = ev.target.value;
  turnToLayer();
  chosen();
});
for (const r of document.querySelectorAll('input[name="tap"]')) r.addEventListener("change", () => { view.tap = r.value; chosen(); });
el("focus").addEventListener("change", (ev) => { view.chart = ev.target.value || null; chosen(); });
el("lecture").addEventListener("click", (ev) => { ev.currentTarget.blur(); view.lecture = !view.lecture; chosen(); });
// The theme belongs to the screen (a projector, a phone), not to the room: kept here, not followed.
el("projector").addEventListener("click", (ev) => {
  ev.currentTarget.blur();
  projector = !projector;
  localStorage.setItem("normscope-theme", projector ? "projector" : "default");
  applyView();
});
const fullscreen = () => (document.fullscreenElement ? document.exitFullscreen() : document.documentElement.requestFullscreen());
el("fullscreen").addEventListener("click", (ev) => { ev.currentTarget.blur(); fullscreen(); });
const KEYS = { l: () => el("lecture").click(), f: fullscreen, p: () => el("projector").click() };
document.addEventListener("keydown", (ev) => {
  const act = KEYS[ev.key.toLowerCase()];
  if (!act || typing(ev.target) || ev.ctrlKey || ev.metaKey || ev.altKey) return;
  ev.preventDefault(); // a focused menu would also jump to an option starting with the letter
  act();
});
addEventListener("resize", fitFocus);
el("lesson").addEventListener("toggle", fitFocus);

// A focused chart fills the screen below the header, the lesson's text and the view's menus, stacked at the top
// (style.css); their heights depend on how they wrap.
function fitFocus() {
  const header = document.querySelector("header").offsetHeight;
  const viewBar = header + el("lesson").offsetHeight;
  document.body.style.setProperty("--header-height", `${header}px`);
  document.body.style.setProperty("--view-bar-top", `${viewBar}px`);
  document.body.style.setProperty("--focus-top", `${viewBar + el("view-bar").offsetHeight}px`);
}

// Double-clicking a chart (in its plot: the renderer; around it: here) fills the screen with it; again shows all.
function toggleFocus(chart) {
  view.chart = view.chart === chart ? null : chart;
  chosen();
}
for (const panel of document.querySelectorAll(".panel[data-chart]")) {
  panel.addEventListener("dblclick", (ev) => {
    if (!ev.target.closest(".js-plotly-plot")) toggleFocus(panel.dataset.chart);
  });
}
document.addEventListener("keydown", (ev) => {
  if (ev.key !== "Escape" || ev.defaultPrevented || !view.chart || el("mark-dialog").open) return;
  view.chart = null;
  chosen();
});

// The presenter's stored view as this page's (its replay position is the replay's business).
function hallView(state) {
  return { layer: state.layer ?? view.layer, tap: state.tap, chart: state.chart, lecture: state.lecture };
}

// A lesson opens on its own layer, tap and chart, unless the link names a view or the presenter showed one.
function useLessonView(lesson, presenterView) {
  if (!lesson?.view || view.named || presenterView) return;
  view.layer = lesson.view.layer ?? view.layer;
  view.tap = lesson.view.tap ?? view.tap;
  view.chart = lesson.view.chart ?? view.chart;
}

// A preset opens on its chart: scrolled into view and outlined for a moment.
function openChart() {
  const panel = view.open && document.querySelector(`.panel[data-chart="${view.open}"]`);
  if (!panel || panel.hidden) return;
  panel.scrollIntoView({ block: "center" });
  panel.classList.add("opened");
  setTimeout(() => panel.classList.remove("opened"), 4000);
}

// What to look for, a paragraph per blank-line-separated block of the lesson's summary.
function showLesson(lesson) {
  if (!lesson?.summary) return;
  el("lesson").hidden = false;
  el("lesson-title").textContent = lesson.title ? `: ${lesson.title}` : "";
  const paragraphs = lesson.summary.trim().split(/\n\s*\n/);
  el("lesson-text").replaceChildren(...paragraphs.map((t) => Object.assign(document.createElement("p"), { textContent: t })));
}

// Presenter: the experiment's spec, the view shown now and its marks become an own lesson; the lesson it came
// from gives the title and text to start from.
function saveAsLesson(lesson) {
  el("save-lesson").hidden = false;
  new SaveLesson(el("save-lesson"), () => ({
    spec: model.experiment.spec,
    title: lesson?.title ?? model.experiment.spec.name,
    summary: lesson?.summary ?? "",
    layers: model.layers.length ? model.layers.map((l) => l.name) : layerNames(model.experiment.spec.model),
    view: { layer: layerName(), tap: view.tap, chart: view.chart },
    marks: marks.list,
  }));
}

// The download menu: the server streams each format; an exported page is itself the export.
function setupExports() {
  if (offline) return;
  el("exports").hidden = false;
  for (const a of el("exports").querySelectorAll("a[data-format]")) {
    a.href = `/api/experiments/${encodeURIComponent(experimentId)}/export?format=${a.dataset.format}`;
  }
}

function showDeleted() {
  el("conn").textContent = "deleted";
  el("conn").dataset.state = "deleted";
  el("controls").hidden = true;
  el("replay").hidden = true;
  el("error").hidden = false;
  el("error").textContent = "This experiment was deleted by the presenter.";
}

let replaying = false;
async function startReplay(hello) {
  replaying = true; // the socket stays open: the presenter's view and marks still reach the replay
  el("controls").hidden = true;
  el("refine").hidden = !(presenter && hello.experiment.spec.sweep && hello.experiment.status === "done");
  el("conn").textContent = "replay";
  el("conn").dataset.state = "replay";
  if (offline) showFolds(offline.folds);
  else fetchFolds(experimentId).then(showFolds);
  let frames = offline?.frames;
  try {
    frames ??= await loadFrames(experimentId);
  } catch (e) {
    if (e.status !== 404) throw e;
    return showDeleted(); // deleted while the page watched it: the stream's close says so too
  }
  const onMove = (step) => {
    lead?.send(hallState(view, step));
    follow?.ownChoice();
  };
  replay = setupReplay(hello, frames, (m) => {
    m.status = hello.experiment.status;
    m.error = hello.experiment.error;
    for (const r of hello.experiment.runs) if (m.runs[r.index].status !== "diverged") m.runs[r.index].status = r.status;
    model = m;
    redraw();
  }, onMove);
  const wanted = follow?.on ? follow.latest?.replay_step : null; // a viewer who unfollowed stays put
  if (wanted !== null && wanted !== undefined) replay.seek(wanted);
}

const handlers = {
  async hello(msg, first) {
    marks.set(msg.marks);
    if (first) {
      // the lesson's view matters only before the presenter showed one: then the charts need not wait for it
      const lessonAsked = lessonOf(msg.experiment.spec);
      if (!msg.view) useLessonView(await lessonAsked, msg.view);
      else if (presenter && !view.named) Object.assign(view, hallView(msg.view)); // back where they left it
      lessonAsked.then((lesson) => {
        showLesson(lesson);
        fitFocus(); // the text pushes the charts down (the charts redraw at their new size by themselves)
        if (presenter && !msg.experiment.spec.external) saveAsLesson(lesson);
      });
      if (!offline) lectureBar(msg.experiment.spec, presenter);
      if (msg.view) follow?.received(msg.view);
      model = new ExperimentModel(msg.experiment, msg.layers);
      document.title = `normscope — ${msg.experiment.spec.name}`;
      el("title").textContent = msg.experiment.spec.name;
      setupView(msg.layers);
      setupMultiples();
      showOptionalPanels(msg.experiment.spec);
      setupSweep(msg.experiment.spec);
      applyView();
      openChart();
      if (presenter && !msg.view) lead.send(hallState(view, null)); // the room starts where the presenter does
      // the room moves once this page has something to draw (a new run's first frame, a finished one's replay),
      // so followers land on charts rather than wait on a worker's start; a queued one moves it after a while
      if (TERMINAL.has(msg.experiment.status)) showRoom();
      else setTimeout(showRoom, ROOM_WAIT_MS);
      if (presenter && !TERMINAL.has(msg.experiment.status)) {
        const runs = msg.experiment.spec.external ? null : () => model.runs;
        const onPace = (pace) => {
          model.pace = pace;
        };
        updateControls = setupControls(experimentId, () => model?.status, runs, msg.experiment.spec.pace ?? null, onPace);
      }
      if (offline || TERMINAL.has(msg.experiment.status)) startReplay(msg); // an export of a running one too
    } else if (!model.layers.length && msg.layers.length) {
      model.setLayers(msg.layers);
      setupView(msg.layers);
      setupMultiples();
    }
    if (!first && msg.view) follow?.received(msg.view); // what the presenter showed while we were away
    model.setStatus(msg.experiment);
    redraw();
  },
  frame(frame) {
    if (replaying) return; // the history a reconnect sends: the replay has every frame already
    model.ingest(frame);
    redraw();
    showRoom();
  },
  status(msg) {
    model.setStatus(msg);
    redraw();
    if (TERMINAL.has(msg.status) && !replaying) {
      startReplay({ experiment: { ...model.experiment, ...msg, type: undefined }, layers: model.layers });
    }
  },
  layers(msg) {
    model.setLayers(msg.layers);
    setupView(msg.layers);
    setupMultiples();
    applyView();
  },
  view(msg) {
    follow?.received(msg);
  },
  mark(msg) {
    marks.add(msg);
  },
  unmark(msg) {
    marks.remove(msg.id);
  },
  download(msg) {
    const mb = (n) => (n / 1e6).toFixed(1);
    el("download").hidden = false;
    el("download").textContent = `preparing the data: downloading ${msg.file}, ${mb(msg.done)} of ${mb(msg.total)} MB`;
  },
  connection(state) {
    if (state === "deleted") return showDeleted();
    if (el("conn").dataset.state === "replay") return;
    el("conn").textContent = state;
    el("conn").dataset.state = state;
  },
};
// Offline (the HTML export) the experiment is already here, ended: it opens straight into its replay.
const stream = offline ? null : new Stream(experimentId, handlers);
if (offline) handlers.hello({ ...offline, view: null }, true);
setupExports();
