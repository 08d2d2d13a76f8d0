// What the page knows about one experiment, built from frames; bounded however long the run is.

export const MAX_LOSS_POINTS = 4000; // per run: past this, neighbouring steps are averaged
export const MAX_POINTS = 2000; // per run and series (accuracy): past this, every other point goes
export const MAX_FRAMES = 400; // whole frames kept for layer charts: past this, every other one goes
export const RATE_WINDOW_S = 10; // the recent rate weighs the last ~10 s of training most
const MAX_LR_CHANGES = 100;

// Keeps at most `max` (x, y) pairs: when full, every other pair goes and only every stride-th new one is kept.
export class Thinned {
  constructor(max) {
    this.max = max;
    this.x = [];
    this.y = [];
    this.stride = 1;
    this.seen = 0;
  }

  push(x, y) {
    if (this.seen++ % this.stride !== 0) return;
    this.x.push(x);
    this.y.push(y);
    if (this.x.length > this.max) {
      this.x = this.x.filter((_, i) => i % 2 === 0);
      this.y = this.y.filter((_, i) => i % 2 === 0);
      this.stride *= 2;
    }
  }
}

// Keeps at most `max` points of a per-step series by averaging runs of `stride` steps (a loss stays readable).
export class Averaged {
  constructor(max) {
    this.max = max;
    this.x = [];
    this.y = [];
    this.stride = 1;
    this.sumX = 0;
    this.sumY = 0;
    this.n = 0;
  }

  push(x, y) {
    if (y === null || !Number.isFinite(y)) return;
    this.sumX += x;
    this.sumY += y;
    if (++this.n < this.stride) return;
    this.x.push(this.sumX / this.n);
    this.y.push(this.sumY / this.n);
    this.sumX = this.sumY = this.n = 0;
    if (this.x.length > this.max) {
      const half = (a) => a.filter((_, i) => i % 2 === 0).map((v, i) => (v + (a[2 * i + 1] ?? v)) / 2);
      this.x = half(this.x);
      this.y = half(this.y);
      this.stride *= 2;
    }
  }
}

class RunSeries {
  constructor(index, label) {
    this.index = index;
    this.label = label;
    this.status = "queued";
    this.divergedAt = null;
    this.loss = new Averaged(MAX_LOSS_POINTS);
    this.trainAcc = new Thinned(MAX_POINTS);
    this.valAcc = new Thinned(MAX_POINTS);
    this.valTrainModeAcc = new Thinned(MAX_POINTS);
    this.landscape = new Thinned(MAX_POINTS); // y: the frame's landscape object
    this.dependence = new Thinned(MAX_POINTS); // y: {flips, flips_pairs}
    this.lr = null; // the rate it trains at, from the frames (server-trained runs)
    this.lrChanges = []; // the presenter's set_lr: [{step, lr}], the latest MAX_LR_CHANGES
  }
}

export class ExperimentModel {
  constructor(experiment, layers) {
    this.experiment = experiment;
    this.layers = layers; // [{name, taps, edges: {tap: [...]}}]
    this.runs = experiment.runs.map((r) => new RunSeries(r.index, r.label));
    this.frames = new Thinned(MAX_FRAMES); // x: step, y: frame
    this.latest = null;
    this.lastStep = 0;
    this.elapsed = 0;
    this.rate = null; // steps per second of wall time lately: decayed steps over decayed seconds
    this.recentSteps = 0; // both decay by the same weight, so a first quick interval counts for its length only
    this.recentSeconds = 0;
    this.sentAt = null; // the last frame's wall time, or null: the next frame starts a new interval
    this.pace = null; // the pace in force, where this page knows it (the presenter's)
    this.status = experiment.status;
    this.error = experiment.error;
    this.version = 0; // bumped on every change: charts redraw when it moves
  }

  setLayers(layers) {
    this.layers = layers;
    this.version++;
  }

  setStatus(msg) {
    this.status = msg.status;
    if (msg.status !== "running") this.sentAt = null; // a pause is not a slow stretch of training
    this.error = msg.error ?? null;
    for (const r of msg.runs) this.setRunStatus(r.index, r.status, msg.step);
    this.version++;
  }

  setRunStatus(index, status, step) {
    const run = this.runs[index];
    if (!run) return;
    if (status === "diverged" && run.status !== "diverged") run.divergedAt = step;
    run.status = status;
  }

  // Frames must come in step order; one at or before the last step is a repeat and is ignored.
  ingest(frame) {
    if (frame.step <= this.lastStep) return false;
    for (const rf of frame.runs) {
      const run = this.runs[rf.index];
      if (!run) continue;
      rf.loss.forEach((v, i) => run.loss.push(frame.prev_step + 1 + i, v));
      if (rf.train_acc !== null) run.trainAcc.push(frame.step, rf.train_acc);
      if (rf.val?.acc != null) run.valAcc.push(frame.step, rf.val.acc);
      if (rf.val_train_mode?.acc != null) run.valTrainModeAcc.push(frame.step, rf.val_train_mode.acc);
      if (rf.landscape) run.landscape.push(frame.step, rf.landscape);
      if (rf.batch_dependence) run.dependence.push(frame.step, rf.batch_dependence);
      if (rf.lr != null) run.lr = rf.lr;
      if (rf.lr_changes?.length) run.lrChanges = [...run.lrChanges, ...rf.lr_changes].slice(-MAX_LR_CHANGES);
      this.setRunStatus(rf.index, rf.status, frame.step);
    }
    this.measureRate(frame);
    this.frames.push(frame.step, frame);
    this.latest = frame;
    this.lastStep = frame.step;
    this.elapsed = frame.elapsed;
    this.version++;
    return true;
  }

  // Training images per second, every running variant counted: what a GPU buys shows here.
  imagesPerSecond() {
    if (!this.elapsed || !this.lastStep) return null;
    const spec = this.experiment.spec;
    const perStep = spec.variants.reduce(
      (sum, v, i) => sum + (this.runs[i]?.status === "diverged" ? 0 : v.batch_size ?? spec.batch_size), 0);
    return (perStep * this.lastStep) / this.elapsed;
  }

  measureRate(frame) {
    const dt = this.sentAt === null ? 0 : frame.sent_at - this.sentAt;
    this.sentAt = frame.sent_at;
    if (dt <= 0) return;
    const keep = Math.exp(-dt / RATE_WINDOW_S);
    this.recentSteps = this.recentSteps * keep + (frame.step - this.lastStep);
    this.recentSeconds = this.recentSeconds * keep + dt;
    this.rate = this.recentSteps / this.recentSeconds;
  }

  // Seconds left: at the pace when the training keeps up with it (elapsed counts training, not the pace's
  // waits), else at the recent rate; null before there is one.
  eta() {
    const keepsUp = this.pace && this.elapsed && this.lastStep / this.elapsed >= this.pace;
    const rate = keepsUp ? this.pace : this.rate;
    return rate ? (this.experiment.spec.steps - this.lastStep) / rate : null;
  }
}

// A run's statistics of one tap; a run without a norm layer has no `normed` tap: it is the same as `preact`.
export function tapStats(layerStats, tap) {
  return layerStats.taps[tap] ?? (tap === "normed" ? layerStats.taps.preact : undefined);
}

export function tapEdges(layer, layerStats, tap) {
  return layerStats.taps[tap] ? layer.edges[tap] : tap === "normed" ? layer.edges.preact : undefined;
}
