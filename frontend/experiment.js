// Live loss curves for every variant; the full dashboard builds on this stream.
const id = location.pathname.split("/").pop();
const conn = document.getElementById("conn");
const statusEl = document.getElementById("status");
let traces = null;

function onMessage(msg) {
  if (msg.type === "hello") {
    document.getElementById("title").textContent = msg.experiment.spec.name;
    statusEl.textContent = msg.experiment.status;
    traces = msg.experiment.spec.variants.map((v) => ({ x: [], y: [], name: v.label, mode: "lines" }));
    Plotly.newPlot("loss", traces, { title: "training loss", yaxis: { type: "log" } }, { responsive: true });
  } else if (msg.type === "frame" && traces) {
    const xs = [], ys = [];
    for (const run of msg.runs) {
      xs.push(run.loss.map((_, i) => msg.prev_step + 1 + i));
      ys.push(run.loss);
    }
    Plotly.extendTraces("loss", { x: xs, y: ys }, msg.runs.map((r) => r.index));
  } else if (msg.type === "status") {
    statusEl.textContent = msg.status;
  }
}

function connect() {
  const ws = new WebSocket(`${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/ws/experiments/${id}`);
  ws.onopen = () => { conn.textContent = "live"; };
  ws.onmessage = (ev) => onMessage(JSON.parse(ev.data));
  ws.onclose = () => { conn.textContent = "reconnecting"; setTimeout(connect, 1000); };
}
connect();
