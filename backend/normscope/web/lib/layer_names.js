// The probed layers' names a model spec makes, known before anything is built: schemas/architectures.py's
// layer_names, for the pages that choose a lesson's layer before it trains (a test holds the two equal).

const VGG_STAGES = { 11: [1, 1, 2, 2, 2], 13: [2, 2, 2, 2, 2], 16: [2, 2, 3, 3, 3] };
const DEFAULT_DEPTH = { vgg: 11, resnet: 20 };
const DEFAULT_HIDDEN = [100, 100, 100];

// model: a spec's model as the form sends it, fields left out taking the server's defaults
export function layerNames(model = {}) {
  const kind = model.kind ?? "mlp";
  const depth = model.depth ?? DEFAULT_DEPTH[kind];
  let names;
  if (kind === "vgg") {
    names = (VGG_STAGES[depth] ?? []).flatMap((n, s) => Array.from({ length: n }, (_, j) => `stage${s + 1}.conv${j + 1}`));
  } else if (kind === "resnet") {
    const blocks = Math.floor((depth - 2) / 6);
    names = ["stem"];
    for (let s = 1; s <= 3; s++) for (let b = 1; b <= blocks; b++) names.push(`stage${s}.block${b}.conv1`, `stage${s}.block${b}.conv2`);
  } else {
    names = (model.hidden ?? DEFAULT_HIDDEN).map((_, i) => `hidden${i + 1}`);
  }
  return [...names, "output"];
}
