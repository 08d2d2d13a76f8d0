// The launch form: the whole ExperimentSpec, a variants editor, and the server's 422 errors beside the fields.
// A short basic part (the lesson, dataset, model, learning rate, steps, variants) and the rest under "advanced";
// the menus' choices come from GET /api/catalog, the spec's own types.

// The fields shown without opening "advanced".
const BASIC = new Set(["dataset.name", "model.kind", "optimizer.lr", "steps"]);

// [path, label, kind, options]; kinds: text, int, float, bool, tristate (empty: the server's default), select,
// ints (comma list), floats (comma list), json (an object typed as JSON); a select's options: a list, or the
// name of a list in the catalog
const FIELDS = [
  ["dataset.name", "dataset", "select", "datasets"],
  ["model.kind", "model", "select", "model_kinds"],
  ["optimizer.lr", "learning rate", "float"],
  ["steps", "steps", "int"],
  ["name", "name", "text"],
  ["dataset.standardize", "standardize inputs", "bool"],
  ["dataset.val_fraction", "validation share", "float"],
  ["dataset.n_samples", "samples (synthetic: drawn; files: most read)", "int"],
  ["dataset.n_classes", "classes (synthetic)", "int"],
  ["dataset.n_features", "features (blobs)", "int"],
  ["dataset.noise", "noise (synthetic)", "float"],
  ["dataset.feature_scales", "feature scales (blobs, comma list)", "floats"],
  ["dataset.path", "folder of IDX files (idx)", "text"],
  ["dataset.augment", "crop & flip (images; default: on for CIFAR)", "tristate"],
  ["model.hidden", "hidden widths / channels (mlp, cnn; comma list)", "ints"],
  ["model.depth", "depth (vgg 11/13/16, resnet 20/32/44/56)", "int"],
  ["model.width", "first-stage channels (vgg 64, resnet 16)", "int"],
  ["model.residual_init", "plain resnet init", "select", "residual_inits"],
  ["model.activation", "activation", "select", "activations"],
  ["model.init", "init", "select", "inits"],
  ["model.init_std", "gaussian init std", "float"],
  ["optimizer.name", "optimizer", "select", "optimizers"],
  ["optimizer.momentum", "momentum", "float"],
  ["optimizer.weight_decay", "weight decay", "float"],
  ["batch_size", "batch size", "int"],
  ["precision", "precision", "select", "precisions"],
  ["seed", "seed", "int"],
  ["pace", "start pace (steps/s; empty: as fast as it goes)", "float"],
  ["probe.every", "sample every (steps)", "int"],
  ["probe.bins", "histogram bins", "int"],
  ["probe.eval_every", "validate every (samples)", "int"],
  ["probe.landscape_every", "landscape probe every (samples, 0: off)", "int"],
  ["probe.landscape_steps", "landscape step sizes (× lr, comma list)", "floats"],
  ["probe.batch_dependence", "measure BN's batch dependence", "bool"],
  ["probe.grad", "grad tap: the gradient at each pre-activation", "bool"],
  ["probe.exact_quantiles_up_to", "exact percentiles up to (elements; larger taps sample)", "int"],
  ["sweep", "sweep (JSON): it makes the variants, so the table below stays empty", "json",
    '{"n": 25, "seed": 0, "params": {"optimizer.lr": {"log_uniform": [0.001, 1]}, "optimizer.momentum": {"one_minus_log_uniform": [0.001, 0.1]}}, "norms": ["none", "batch"]}'],
];

// Per variant, each a column headed by its label; an empty value inherits the experiment's setting.
const VARIANT_FIELDS = [
  ["label", "label", "text"],
  ["norm", "norm", "select", "norms"],
  ["placement", "placement", "select", "placements"],
  ["lr", "lr", "float"],
  ["batch_size", "batch", "int"],
  ["standardize", "standardize", "select", ["", "true", "false"]],
  ["init", "init", "select", ["", "inits"]],
  ["bn_momentum", "BN momentum", "float"],
  ["momentum", "momentum", "float"],
  ["weight_decay", "weight decay", "float"],
];

const get = (obj, path) => path.split(".").reduce((o, k) => (o == null ? undefined : o[k]), obj);
function set(obj, path, value) {
  const keys = path.split(".");
  let o = obj;
  for (const k of keys.slice(0, -1)) o = o[k] ??= {};
  o[keys.at(-1)] = value;
}

function input(path, kind, options) {
  let control;
  if (kind === "tristate") {
    control = document.createElement("select");
    for (const [label, value] of [["(default)", ""], ["on", "true"], ["off", "false"]]) control.add(new Option(label, value));
  } else if (kind === "json") {
    control = Object.assign(document.createElement("textarea"), { rows: 3, spellcheck: false, placeholder: options });
  } else if (kind === "select") {
    control = document.createElement("select");
    for (const o of options) control.add(new Option(o === "" ? "(inherit)" : o, o));
  } else {
    control = document.createElement("input");
    control.type = kind === "bool" ? "checkbox" : kind === "int" || kind === "float" ? "number" : "text";
    if (kind === "float") control.step = "any";
  }
  control.dataset.path = path;
  control.dataset.kind = kind;
  control.name = path;
  return control;
}

function field(path, label, kind, options) {
  const wrap = document.createElement("label");
  wrap.className = "field";
  wrap.append(Object.assign(document.createElement("span"), { textContent: label }), input(path, kind, options));
  wrap.append(Object.assign(document.createElement("span"), { className: "field-error" }));
  return wrap;
}

function read(control) {
  const v = control.value.trim();
  switch (control.dataset.kind) {
    case "bool": return control.checked;
    case "tristate": return v === "" ? null : v === "true";
    case "int": return v === "" ? null : Number(v);
    case "float": return v === "" ? null : Number(v);
    case "ints":
    case "floats": return v === "" ? null : v.split(/[\s,]+/).filter(Boolean).map(Number);
    case "json":
      try {
        return v === "" ? null : JSON.parse(v);
      } catch (e) {
        throw Object.assign(new Error(`${control.dataset.path}: not JSON (${e.message})`), { path: control.dataset.path });
      }
    default: return v;
  }
}

function write(control, value) {
  if (control.dataset.kind === "bool") control.checked = Boolean(value);
  else if (control.dataset.kind === "json") control.value = value == null ? "" : JSON.stringify(value);
  else if (Array.isArray(value)) control.value = value.join(", ");
  else control.value = value == null ? "" : String(value);
}

// A select's options: a catalog list named by a string, spliced into a list too (["", "inits"]).
const choices = (options, catalog) =>
  Array.isArray(options) ? options.flatMap((o) => (o && catalog[o] ? catalog[o] : [o])) : catalog[options];

export class SpecForm {
  // catalog: GET /api/catalog's answer
  constructor(root, catalog) {
    this.root = root;
    this.fields = root.querySelector("#spec-fields");
    this.variants = root.querySelector("#variants tbody");
    this.variantFields = VARIANT_FIELDS.map(([key, label, kind, options]) => [key, label, kind, options && choices(options, catalog)]);
    for (const [path, label, kind, options] of FIELDS) {
      const part = BASIC.has(path) ? this.fields : root.querySelector("#advanced-fields");
      part.append(field(path, label, kind, options && choices(options, catalog)));
    }
    const head = root.querySelector("#variants thead tr");
    head.replaceChildren(...this.variantFields.map(([, label]) => Object.assign(document.createElement("th"), { textContent: label })));
    head.append(Object.assign(document.createElement("th"), { textContent: "", ariaLabel: "remove" }));
    root.querySelector("#add-variant").addEventListener("click", () => this.addVariant({ label: `variant ${this.variants.rows.length + 1}` }));
  }

  addVariant(v) {
    const tr = this.variants.insertRow();
    for (const [key, , kind, options] of this.variantFields) {
      const cell = tr.insertCell();
      const control = input(key, kind, options);
      write(control, v[key] === undefined || v[key] === null ? "" : v[key]);
      cell.append(control, Object.assign(document.createElement("span"), { className: "field-error" }));
    }
    const remove = Object.assign(document.createElement("button"), { type: "button", textContent: "remove" });
    remove.addEventListener("click", () => tr.remove());
    tr.insertCell().append(remove);
  }

  // A sweep's variants are made by the server from the sweep: the table stays empty while there is one.
  fill(spec) {
    for (const control of this.controls()) write(control, get(spec, control.dataset.path));
    this.variants.replaceChildren();
    if (!spec.sweep) for (const v of spec.variants) this.addVariant(v);
    this.clearErrors();
  }

  // Empty fields are left out, so the server's defaults apply; the server validates everything.
  spec() {
    const spec = {};
    for (const control of this.controls()) {
      const v = read(control);
      if (v !== null && v !== "") set(spec, control.dataset.path, v);
    }
    if (spec.sweep) return spec;
    spec.variants = [...this.variants.rows].map((tr) => {
      const v = {};
      for (const control of tr.querySelectorAll("[data-path]")) {
        let value = read(control);
        if (control.dataset.path === "standardize" && value !== "") value = value === "true";
        if (value !== null && value !== "") v[control.dataset.path] = value;
      }
      return v;
    });
    return spec;
  }

  // The spec's own fields, basic and advanced (not the variants' cells).
  controls() {
    return this.root.querySelectorAll(":is(#spec-fields, #advanced-fields) [data-path]");
  }

  // What is typed, as typed (a half-written list too): kept across a reload.
  state() {
    const fields = Object.fromEntries([...this.controls()].map((c) => [c.name, c.type === "checkbox" ? c.checked : c.value]));
    const variants = [...this.variants.rows].map((tr) => Object.fromEntries([...tr.querySelectorAll("[data-path]")].map((c) => [c.name, c.value])));
    return { fields, variants };
  }

  restore({ fields, variants }) {
    for (const c of this.controls()) {
      if (!(c.name in fields)) continue;
      if (c.type === "checkbox") c.checked = fields[c.name];
      else c.value = fields[c.name];
    }
    this.variants.replaceChildren();
    for (const v of variants) this.addVariant(v);
    this.clearErrors();
  }

  clearErrors() {
    for (const e of this.root.querySelectorAll(".field-error")) e.textContent = "";
    for (const e of this.root.querySelectorAll(".invalid")) e.classList.remove("invalid");
    this.root.querySelector("#form-error").textContent = "";
  }

  // FastAPI's 422: [{loc: ["body", "variants", 0, "lr"], msg}]; each message goes next to its field.
  showErrors(detail) {
    this.clearErrors();
    if (!Array.isArray(detail)) {
      this.root.querySelector("#form-error").textContent = String(detail);
      return;
    }
    const general = [];
    for (const err of detail) {
      const loc = err.loc[0] === "body" ? err.loc.slice(1) : err.loc;
      const control = this.controlAt(loc);
      if (control) {
        control.classList.add("invalid");
        const slot = control.parentElement.querySelector(".field-error");
        slot.textContent = [slot.textContent, err.msg].filter(Boolean).join("; ");
      } else {
        general.push(`${loc.join(".") || "spec"}: ${err.msg}`);
      }
    }
    this.root.querySelector("#form-error").textContent = general.join("\n");
  }

  controlAt(loc) {
    if (loc[0] === "variants" && Number.isInteger(loc[1])) {
      const tr = this.variants.rows[loc[1]];
      return tr?.querySelector(`[data-path="${loc[2]}"]`) ?? null;
    }
    // A list entry (hidden.3) points at the list's field.
    for (let n = loc.length; n > 0; n--) {
      const c = [...this.controls()].find((control) => control.dataset.path === loc.slice(0, n).join("."));
      if (c) {
        if (!c.checkVisibility()) this.root.querySelector("#advanced").open = true; // an error shows where it is
        return c;
      }
    }
    return null;
  }
}
