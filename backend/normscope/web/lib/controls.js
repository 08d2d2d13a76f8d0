// Presenter controls: buttons, the pace slider and the keys (space = pause/resume, → = step).
import { api } from "../token.js";
import { typing } from "./keys.js";

export const PACES = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, null]; // steps per second; null: as fast as it goes

// runs(): the model's runs, whose learning rates fill the per-variant fields; null hides them (a watched loop).
// onPace(stepsPerSecond or null): the pace in force, at the start and after each change.
export function setupControls(experimentId, getStatus, runs = null, startPace = null, onPace = () => {}) {
  const el = (id) => document.getElementById(id);
  el("controls").hidden = false;
  const send = async (body) => {
    el("control-error").textContent = "";
    try {
      await api(`/api/experiments/${experimentId}/control`, { method: "POST", body: JSON.stringify(body) });
    } catch (e) {
      el("control-error").textContent = e.body?.detail ?? `control failed (${e.message})`;
    }
  };
  const button = (id, action) =>
    el(id).addEventListener("click", (ev) => {
      ev.currentTarget.blur(); // the keys stay shortcuts instead of pressing the focused button again
      send({ action });
    });
  button("pause", "pause");
  button("resume", "resume");
  button("step-once", "step");
  button("cancel", "cancel");
  const pace = el("pace");
  // a spec's pace between the notches gets a notch of its own: the slider shows the pace in force
  const paces = PACES.includes(startPace) ? PACES : [...PACES.slice(0, -1), startPace].sort((a, b) => a - b).concat(null);
  pace.max = String(paces.length - 1);
  pace.value = String(paces.indexOf(startPace));
  const showPace = () => {
    const v = paces[Number(pace.value)];
    el("pace-label").textContent = v === null ? "unlimited" : `${v} steps/s`;
    return v;
  };
  onPace(showPace());
  pace.addEventListener("input", showPace);
  pace.addEventListener("change", () => {
    const v = showPace();
    onPace(v);
    send({ action: "pace", steps_per_second: v });
  });
  const lrFields = runs ? learningRateFields(runs(), send) : [];

  document.addEventListener("keydown", (ev) => {
    if (typing(ev.target)) return;
    const status = getStatus();
    if (ev.key === " ") {
      ev.preventDefault();
      if (status === "running") send({ action: "pause" });
      else if (status === "paused") send({ action: "resume" });
    } else if (ev.key === "ArrowRight" && status === "paused") {
      ev.preventDefault();
      send({ action: "step" });
    }
  });

  // Buttons that cannot act in the current status are disabled, so a click never meets a 409.
  return (status) => {
    const live = status === "running" || status === "paused";
    el("pause").disabled = status !== "running";
    el("resume").disabled = status !== "paused";
    el("step-once").disabled = status !== "paused";
    el("cancel").disabled = !(live || status === "queued");
    pace.disabled = !live;
    for (const input of lrFields) {
      const run = runs()[Number(input.dataset.variant)];
      input.disabled = !live || run.status !== "running";
      if (document.activeElement !== input && run.lr !== null) input.value = String(run.lr);
    }
  };
}

// The panda's knob: one learning-rate field per variant; Enter or leaving the field sets it from the next step.
function learningRateFields(runs, send) {
  const inputs = runs.map((run) => {
    const input = Object.assign(document.createElement("input"), { type: "number", step: "any", min: "0" });
    input.dataset.variant = String(run.index);
    input.setAttribute("aria-label", `${run.label} learning rate`);
    input.addEventListener("change", () => {
      const lr = Number(input.value);
      if (input.value !== "" && lr > 0) send({ action: "set_lr", variant: run.index, lr });
    });
    const label = Object.assign(document.createElement("label"), { textContent: `${run.label} lr ` });
    label.append(input);
    return { label, input };
  });
  document.getElementById("lr-fields").replaceChildren(...inputs.map((f) => f.label));
  return inputs.map((f) => f.input);
}
