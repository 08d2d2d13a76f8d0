// The room: one link for a whole lecture. The presenter's page shows the room what it opens (unless switched
// to private); a follower's page moves with it; the lecture bar says where the lesson stands and launches the next.
import { api } from "../token.js";

const ROOM_KEY = "normscope-room"; // "private": the presenter prepares without moving the room

// Presenter: the "shown to the room" switch, kept across pages; show(id) moves the room when it is on.
export class RoomLead {
  constructor(button, experimentId) {
    this.button = button;
    this.id = experimentId;
    this.on = localStorage.getItem(ROOM_KEY) !== "private";
    button.hidden = false;
    button.addEventListener("click", (ev) => {
      ev.currentTarget.blur();
      this.on = !this.on;
      localStorage.setItem(ROOM_KEY, this.on ? "shown" : "private");
      this.draw();
      if (this.on) this.show(this.id);
    });
    this.draw();
  }

  draw() {
    this.button.setAttribute("aria-pressed", String(this.on));
    this.button.textContent = this.on ? "shown to the room" : "private";
    this.button.title = this.on
      ? "the room's link shows what you open or launch; click to prepare privately"
      : "the room stays where it is while you prepare; click to show this experiment to the room";
  }

  // The room moves to the experiment this page opened (a launched lesson's too), once the page has drawn it:
  // the room sees it as the presenter does, and a laptop that also projects a follower's page is not loading
  // two pages at once.
  async show(experimentId) {
    if (!this.on) return null;
    try {
      return await api("/api/room", { method: "PUT", body: JSON.stringify({ experiment_id: experimentId }) });
    } catch (e) {
      console.warn("normscope: the room was not moved", e.body?.detail ?? e);
      return null;
    }
  }
}

// Anyone: {"type": "room", …} on connect and at each change, over a socket that reconnects by itself.
export function followRoom(onRoom) {
  const proto = location.protocol === "https:" ? "wss" : "ws";
  const open = () => {
    const ws = new WebSocket(`${proto}://${location.host}/ws/room`);
    const ping = setInterval(() => ws.readyState === 1 && ws.send('{"type":"ping"}'), 20000);
    ws.onmessage = (ev) => {
      const msg = JSON.parse(ev.data);
      if (msg.type === "room") onRoom(msg);
    };
    ws.onclose = () => {
      clearInterval(ping);
      setTimeout(open, 1000);
    };
  };
  open();
}

// A spare page waits, loaded, until the room page names the experiment it opens (its link then names it).
// Meanwhile it draws a throwaway chart of each kind: Plotly's first plot in a page costs far more than later ones.
export async function roomAssigns() {
  const box = Object.assign(document.createElement("div"), { style: "position:fixed;width:600px;height:400px" });
  document.body.append(box);
  await Plotly.newPlot(box, [{ y: [0, 1], type: "scatter" }, { z: [[0, 1]], type: "heatmap", xaxis: "x2", yaxis: "y2" }], {
    grid: { rows: 1, columns: 2 },
  });
  Plotly.purge(box);
  box.remove();
  return new Promise((resolve) => {
    addEventListener("message", function opened(ev) {
      if (ev.origin !== location.origin || ev.data?.type !== "open") return;
      removeEventListener("message", opened);
      history.replaceState(null, "", roomPage(ev.data.experiment));
      resolve(ev.data.experiment);
    });
    parent.postMessage({ type: "spare" }, location.origin);
  });
}

export const roomPage = (experimentId) => `/experiments/${encodeURIComponent(experimentId)}?room=1`;

// "3 of 7: bigger-lr — next ▶": where the experiment's lesson stands in its lecture; the presenter's next
// launches the following lesson (played from its recording where the server has no GPU, as a launch does)
// and opens it, which moves the room there.
export async function lectureBar(spec, presenter) {
  const bar = document.getElementById("lecture-bar");
  if (!spec.lecture) return;
  const lecture = await api(`/api/lectures/${encodeURIComponent(spec.lecture)}`).catch(() => null);
  if (!lecture?.lessons) return;
  const at = lecture.lessons.indexOf(spec.lesson);
  if (at < 0) return;
  const next = lecture.lessons[at + 1];
  bar.title = lecture.title;
  document.getElementById("lecture-place").textContent = `${at + 1} of ${lecture.lessons.length}: ${spec.lesson}`;
  const button = document.getElementById("lecture-next");
  button.hidden = !presenter || !next;
  if (next) button.textContent = `next: ${next} ▶`;
  bar.hidden = false;
  if (!presenter || !next) return;
  button.addEventListener("click", async () => {
    button.disabled = true;
    const error = document.getElementById("lecture-error");
    error.textContent = "";
    try {
      const body = JSON.stringify({ lecture: spec.lecture });
      const exp = await api(`/api/lessons/${encodeURIComponent(next)}/launch`, { method: "POST", body });
      location.href = `/experiments/${encodeURIComponent(exp.id)}`;
    } catch (e) {
      error.textContent = e.body?.detail?.[0]?.msg ?? e.body?.detail ?? `launch failed (${e.message})`;
      button.disabled = false;
    }
  });
}
