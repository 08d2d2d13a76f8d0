// Loads the page's own model module and defines feed(n): n more synthetic frames, 4 variants x 4 layers x
// 3 taps, then reports how much the model keeps. The test reads the JS heap between calls.
(async () => {
    const { ExperimentModel, MAX_FRAMES, MAX_LOSS_POINTS, MAX_POINTS } = await import('/static/lib/model.js');
    const taps = ['preact', 'normed', 'act'];
    const layers = [1, 2, 3, 4].map((i) => ({ name: `hidden${i}`, taps,
        edges: Object.fromEntries(taps.map((t) => [t, Array.from({ length: 65 }, (_, k) => k / 64)])) }));
    const runs = [0, 1, 2, 3].map((index) => ({ index, label: `v${index}`, status: 'running' }));
    const m = new ExperimentModel({ spec: { steps: 20000 }, runs, status: 'running', step: 0 }, layers);
    const tapStats = () => ({ counts: Array.from({ length: 64 }, () => 60), under: 0, over: 0, mean: 0.5,
        std: 0.1, q: [0, 0.4, 0.5, 0.6, 1], saturation: 0.01 });
    let f = 0;
    window.longRun = {
        limits: { MAX_FRAMES, MAX_LOSS_POINTS, MAX_POINTS },
        feed(n) {
            for (const end = f + n; f < end; ) {
                const step = ++f * 10;
                m.ingest({ type: 'frame', step, prev_step: step - 10, elapsed: f, runs: runs.map((r) => ({
                    index: r.index, status: 'running', loss: Array.from({ length: 10 }, () => Math.random()),
                    train_acc: 0.5, val: f % 5 ? null : { loss: 1, acc: 0.5 }, val_train_mode: f % 5 ? null : { loss: 1, acc: 0.5 },
                    layers: layers.map((l) => ({ name: l.name, grad_norm: 1, weight_norm: 1, update_ratio: 0.01, bn: null,
                        taps: Object.fromEntries(taps.map((t) => [t, tapStats()])) })) })) });
            }
            return { frames: m.frames.x.length, loss: m.runs[0].loss.x.length, val: m.runs[0].valAcc.x.length,
                train: m.runs[0].trainAcc.x.length, lossEnd: m.runs[0].loss.x.at(-1) };
        },
    };
})
