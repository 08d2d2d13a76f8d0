// The lecture hall: the presenter's page leads (each change of view goes to the room), a viewer's page
// follows unless the viewer says otherwise, and the share screen shows the room's link as a QR code.
import { api } from "../token.js";

// Presenter: PUT each new view; one request in flight, and only the newest waiting view goes next.
export class Lead {
  constructor(experimentId) {
    this.url = `/api/experiments/${encodeURIComponent(experimentId)}/view`;
    this.waiting = null;
    this.busy = false;
    this.sent = 0;
  }

  send(state) {
    this.waiting = state;
    if (!this.busy) this.flush();
  }

  async flush() {
    this.busy = true;
    while (this.waiting) {
      const body = JSON.stringify(this.waiting);
      this.waiting = null;
      try {
        await api(this.url, { method: "PUT", body });
        this.sent++;
      } catch (e) {
        console.warn("normscope: the room did not get the view", e.body?.detail ?? e);
      }
    }
    this.busy = false;
  }
}

// Viewer: follows the presenter's view by default; one click (or choosing a view of one's own) stops it.
export class Follow {
  constructor(button, apply, changed = () => {}) {
    this.button = button;
    this.apply = apply; // apply(state): show the presenter's view
    this.changed = changed; // changed(on): following started or stopped (the room page moves only followers)
    this.latest = null; // the presenter's newest view, followed or not
    this.on = true;
    button.hidden = false;
    button.addEventListener("click", (ev) => {
      ev.currentTarget.blur();
      this.set(!this.on);
    });
    this.show();
  }

  received(state) {
    this.latest = state;
    if (this.on) this.apply(state);
  }

  set(on) {
    this.on = on;
    this.show();
    this.changed(on);
    if (on && this.latest) this.apply(this.latest);
  }

  // The viewer picked a layer, tap or chart: they look on their own until they follow again.
  ownChoice() {
    if (this.on && this.latest) this.set(false);
  }

  show() {
    this.button.setAttribute("aria-pressed", String(this.on));
    this.button.textContent = this.on ? "following presenter" : "follow presenter";
    this.button.title = this.on ? "your page shows what the presenter shows; click to look on your own" : "show what the presenter shows";
  }
}

const LOOPBACK = new Set(["127.0.0.1", "localhost", "[::1]"]);

// Presenter: a full-screen QR code of the room's link (made on the server; one scan serves the whole lecture,
// whatever the presenter shows next), the link in large type, and a choice of address when the server has
// several; Esc closes it.
export function setupShare() {
  const el = (id) => document.getElementById(id);
  const screen = el("share-screen");
  const address = el("share-address");
  let bases = null;
  const link = () => `${address.value}/room`;
  const draw = () => {
    const url = link();
    el("share-url").textContent = url;
    el("share-qr").src = `/api/qr?text=${encodeURIComponent(url)}`;
    el("share-qr").alt = `QR code of ${url}`;
  };
  const open = async () => {
    if (!bases) {
      const share = await api("/api/share");
      const own = LOOPBACK.has(location.hostname) ? [] : [location.origin]; // what the presenter typed works
      bases = [...new Set([...own, ...share.urls])];
      el("share-hint").textContent = bases.length ? "" : share.hint ?? "";
      if (!bases.length) bases = [location.origin];
      address.replaceChildren(...bases.map((b) => new Option(b.replace(/^https?:\/\//, ""), b)));
      address.hidden = bases.length < 2;
    }
    draw();
    screen.hidden = false;
    el("share-close").focus();
  };
  const close = () => {
    screen.hidden = true;
  };
  el("share").hidden = false;
  el("share").addEventListener("click", (ev) => {
    ev.currentTarget.blur();
    open();
  });
  address.addEventListener("change", draw);
  el("share-close").addEventListener("click", close);
  document.addEventListener("keydown", (ev) => {
    if (ev.key !== "Escape" || screen.hidden) return;
    ev.preventDefault(); // this Esc closes the share screen, nothing else
    close();
  });
}
