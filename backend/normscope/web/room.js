// The room's link: a standby screen until the presenter shows an experiment, then that experiment's page,
// moved on with the presenter. A spare page is kept loaded (Plotly parsed, modules ready) and told which
// experiment to open, so a move costs a websocket's hello and a draw, not a page load. A viewer who stopped
// following stays, and their page is told where the presenter went.
import { followRoom } from "./lib/room.js";

const SPARE_DELAY_MS = 1500; // the next spare loads once the shown page has drawn, not competing with it
const el = (id) => document.getElementById(id);
let current = null; // {frame, id}: the experiment on screen
let spare = null; // {frame, ready}: a page waiting for an experiment
let shown = null; // the experiment the room is shown
let following = true;

function makeSpare() {
  const frame = Object.assign(document.createElement("iframe"), {
    src: "/experiments/spare?room=1&spare=1",
    className: "room-frame spare",
    title: "the experiment the presenter shows",
    allow: "fullscreen; clipboard-write",
  });
  el("frames").append(frame); // laid out at full size out of sight, so its first draw is not its first layout
  spare = { frame, ready: false };
}

function open(id) {
  if (!spare) makeSpare();
  if (!spare.ready) return; // it opens `shown` once ready
  const old = current;
  current = { frame: spare.frame, id };
  spare = null;
  delete document.body.dataset.spare;
  following = true;
  current.frame.contentWindow.postMessage({ type: "open", experiment: id }, location.origin);
  current.frame.classList.remove("spare");
  document.body.classList.add("showing");
  old?.frame.remove();
  setTimeout(() => spare || makeSpare(), SPARE_DELAY_MS);
}

function tellCurrent() {
  const elsewhere = shown && shown !== current.id ? shown : null;
  current.frame.contentWindow.postMessage({ type: "room", elsewhere }, location.origin);
}

addEventListener("message", (ev) => {
  if (ev.origin !== location.origin) return;
  if (ev.data?.type === "spare" && spare && ev.source === spare.frame.contentWindow) {
    spare.ready = true;
    document.body.dataset.spare = "ready"; // the next move is a hello and a draw
    if (shown && (!current || (following && shown !== current.id))) open(shown);
  } else if (ev.data?.type === "follow" && current && ev.source === current.frame.contentWindow) {
    following = ev.data.on;
    if (following && shown && shown !== current.id) open(shown);
  }
});

makeSpare();
followRoom((msg) => {
  el("conn").textContent = "live";
  el("conn").dataset.state = "live";
  shown = msg.experiment;
  if (!shown || !current || following) {
    if (shown && shown !== current?.id) open(shown);
  }
  if (current) tellCurrent();
});
