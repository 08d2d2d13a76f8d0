// Replay of a finished experiment: every stored frame from REST, a scrubber over them, play at a chosen speed.
import { api } from "../token.js";
import { ExperimentModel } from "./model.js";

const PAGE = 1000;
export const REPLAY_MAX_FRAMES = 20000;
const TICK_MS = 100; // 10 frames a second at 1×

export async function loadFrames(experimentId) {
  const frames = [];
  let since = -1;
  while (frames.length < REPLAY_MAX_FRAMES) {
    const page = await api(`/api/experiments/${experimentId}/frames?since=${since}&limit=${PAGE}`);
    frames.push(...page);
    if (page.length < PAGE) break;
    since = page.at(-1).step;
  }
  return frames;
}

// onModel(model) gets a model holding the frames up to the scrubber's position; onMove(step) hears of each
// move the user makes (the presenter's room follows it). Returns seek(step) and the step shown.
export function setupReplay(hello, frames, onModel, onMove = () => {}) {
  const el = (id) => document.getElementById(id);
  el("replay").hidden = false;
  const scrubber = el("scrubber");
  scrubber.max = String(Math.max(frames.length - 1, 0));
  scrubber.value = scrubber.max;
  el("replay-note").textContent =
    frames.length >= REPLAY_MAX_FRAMES ? `the first ${REPLAY_MAX_FRAMES} frames` : `${frames.length} frames`;
  let model = null;
  let shown = -1; // the model holds frames[0..shown]
  let timer = null;

  const statusAt = (i) => ({ ...hello.experiment, step: frames[i]?.step ?? 0 });
  const show = (i) => {
    if (!model || i < shown) {
      model = new ExperimentModel(statusAt(i), hello.layers); // backward: rebuild; forward: extend
      shown = -1;
    }
    for (let k = shown + 1; k <= i && k < frames.length; k++) model.ingest(frames[k]);
    shown = Math.max(shown, i);
    el("replay-step").textContent = frames.length ? `step ${frames[i].step} / ${frames.at(-1).step}` : "no frames";
    onModel(model);
  };
  const stop = () => {
    clearInterval(timer);
    timer = null;
    el("play").textContent = "play";
  };
  const stepAt = () => frames[Number(scrubber.value)]?.step ?? 0;
  scrubber.addEventListener("input", () => {
    stop();
    show(Number(scrubber.value));
    onMove(stepAt());
  });
  el("play").addEventListener("click", () => {
    if (timer) return stop();
    if (Number(scrubber.value) >= frames.length - 1) scrubber.value = "0";
    show(Number(scrubber.value));
    el("play").textContent = "stop";
    timer = setInterval(() => {
      const next = Math.min(Number(scrubber.value) + Number(el("speed").value), frames.length - 1);
      scrubber.value = String(next);
      show(next);
      onMove(stepAt());
      if (next >= frames.length - 1) stop();
    }, TICK_MS);
  });
  show(Number(scrubber.value));
  return {
    step: stepAt,
    // The last frame at or before `step` (a viewer following the presenter's replay).
    seek(step) {
      stop();
      let i = frames.findLastIndex((f) => f.step <= step);
      i = Math.max(i, 0);
      scrubber.value = String(i);
      show(i);
    },
  };
}
