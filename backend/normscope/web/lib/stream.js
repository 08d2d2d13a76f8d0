// The experiment's websocket: messages handled strictly in order, gaps filled from REST, reconnects forever.
import { api } from "../token.js";

const BACKFILL_PAGE = 200;
const BACKFILL_MAX = 2000; // frames fetched for one gap; a longer outage keeps the thinned history instead
const PING_MS = 20000;
// Frames gzipped by the server (a third of the bytes of a deep net's frame) where the browser can unpack them.
const GZIP = typeof DecompressionStream === "function";

const gunzip = (buffer) =>
  new Response(new Blob([buffer]).stream().pipeThrough(new DecompressionStream("gzip"))).text();

export class Stream {
  // handlers: {hello(msg, first), frame(frame), status(msg), layers(msg), download(msg), view(msg), mark(msg),
  // unmark(msg), connection(state)}
  constructor(experimentId, handlers) {
    this.id = experimentId;
    this.h = handlers;
    this.lastStep = 0;
    this.historyUntil = 0; // frames up to here came as the server's (thinned) history: gaps there are expected
    this.queue = Promise.resolve();
    this.hellos = 0;
    this.closed = false;
    this.backfilled = 0;
    this.open();
  }

  open() {
    const proto = location.protocol === "https:" ? "wss" : "ws";
    const ws = new WebSocket(`${proto}://${location.host}/ws/experiments/${this.id}${GZIP ? "?frames=gzip" : ""}`);
    ws.binaryType = "arraybuffer";
    this.ws = ws;
    this.h.connection(this.hellos ? "reconnecting" : "connecting");
    ws.onopen = () => {
      this.h.connection("live");
      this.ping = setInterval(() => ws.readyState === 1 && ws.send('{"type":"ping"}'), PING_MS);
    };
    ws.onmessage = (ev) => {
      // unpacked in the queue: a gzipped frame keeps its place among the text messages around it
      const text = typeof ev.data === "string" ? ev.data : gunzip(ev.data);
      this.queue = this.queue
        .then(async () => this.handle(JSON.parse(await text)))
        .catch((e) => console.error("normscope stream", e));
    };
    ws.onclose = (ev) => {
      clearInterval(this.ping);
      const final = { 4404: "not found", 4410: "deleted" }[ev.code]; // the server will not take us back
      if (this.closed || final) {
        this.h.connection(final ?? "closed");
        return;
      }
      this.h.connection("reconnecting");
      setTimeout(() => this.open(), 1000);
    };
  }

  close() {
    this.closed = true;
    this.ws?.close();
  }

  async handle(msg) {
    switch (msg.type) {
      case "hello":
        // A first visit accepts the thinned history; after a reconnect every missing frame is fetched.
        if (this.hellos === 0) this.historyUntil = msg.experiment.step;
        await this.h.hello(msg, this.hellos++ === 0);
        break;
      case "frame":
        if (msg.step <= this.lastStep) return; // a repeat after a reconnect
        if (msg.prev_step !== this.lastStep && msg.step > this.historyUntil) await this.backfill(msg.prev_step);
        this.apply(msg);
        break;
      case "status":
        this.h.status(msg);
        break;
      case "layers":
        this.h.layers(msg);
        break;
      case "download":
      case "view":
      case "mark":
      case "unmark":
        this.h[msg.type]?.(msg);
        break;
      case "error":
        console.warn("normscope server:", msg.detail);
        break;
    }
  }

  apply(frame) {
    if (frame.step <= this.lastStep) return;
    this.lastStep = frame.step;
    this.h.frame(frame);
  }

  // Frames after lastStep up to `until` (the missing ones before a frame whose prev_step is not ours).
  async backfill(until) {
    let fetched = 0;
    while (this.lastStep < until && fetched < BACKFILL_MAX) {
      const page = await api(`/api/experiments/${this.id}/frames?since=${this.lastStep}&limit=${BACKFILL_PAGE}`);
      const wanted = page.filter((f) => f.step <= until);
      wanted.forEach((f) => this.apply(f));
      fetched += wanted.length;
      this.backfilled += wanted.length;
      if (wanted.length < page.length || page.length < BACKFILL_PAGE) break;
    }
  }
}
