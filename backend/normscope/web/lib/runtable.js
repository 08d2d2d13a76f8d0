// Every run in a small table, by validation accuracy: which run is which colour, and the best ones first.
// Hovering a row highlights the run in every chart; clicking pins it (highlight.js).
import { runColour } from "./colours.js";
import { NORM_NAMES, sweepAxis, sweptParams } from "./sweep.js";

const cell = (tag, text, attrs = {}) => Object.assign(document.createElement(tag), { textContent: text, ...attrs });
const percent = (v) => (v === null ? "–" : `${(100 * v).toFixed(1)}%`);
const number = (v) => Number(v.toPrecision(3)).toString();

export class RunTable {
  constructor(details, highlight) {
    this.details = details;
    this.highlight = highlight;
    this.descending = true; // the best first
    this.rows = null; // run index -> its row, built once per model (rowsOf)
    this.rowsOf = null;
    this.details.addEventListener("toggle", () => this.update(this.model));
  }

  update(model) {
    this.model = model;
    if (!model) return;
    this.details.hidden = model.runs.length <= 2;
    this.details.querySelector("summary").textContent = `${model.runs.length} runs, by validation accuracy`;
    if (!this.details.open) return;
    if (this.rowsOf !== model) this.build(model);
    const acc = (r) => r.valAcc.y.at(-1) ?? null;
    for (const r of model.runs) {
      const tr = this.rows.get(r.index);
      tr.lastChild.textContent = r.status === "diverged" ? "diverged" : percent(acc(r));
      tr.classList.toggle("highlighted", this.highlight.active === r.index);
      tr.classList.toggle("pinned", this.highlight.pinned === r.index);
    }
    const sign = this.descending ? -1 : 1;
    const runs = [...model.runs].sort((a, b) => sign * ((acc(a) ?? -1) - (acc(b) ?? -1)) || a.index - b.index);
    // rows are moved, not rebuilt: a click on one survives the frames arriving meanwhile
    this.details.querySelector("tbody").append(...runs.map((r) => this.rows.get(r.index)));
    this.sortButton.textContent = `val acc ${this.descending ? "▼" : "▲"}`;
  }

  build(model) {
    const spec = model.experiment.spec;
    const params = sweptParams(spec).map((p) => sweepAxis(spec, p));
    this.sortButton = cell("button", "", { className: "sort", title: "sort by validation accuracy (eval mode)" });
    this.sortButton.addEventListener("click", () => {
      this.descending = !this.descending;
      this.update(model);
    });
    const head = document.createElement("tr");
    head.append(cell("th", "run"), cell("th", "norm"), ...params.map((a) => cell("th", a.title)), cell("th", ""));
    head.lastChild.append(this.sortButton);
    this.details.querySelector("thead").replaceChildren(head);
    this.rows = new Map(model.runs.map((r) => {
      const variant = spec.variants[r.index];
      const tr = document.createElement("tr");
      tr.dataset.run = r.index;
      const swatch = cell("span", "", { className: "swatch" });
      swatch.style.background = runColour(spec, r.index);
      const name = cell("td", "");
      name.append(swatch, r.label);
      tr.append(name, cell("td", NORM_NAMES[variant.norm] ?? variant.norm), ...params.map((a) => cell("td", number(a.of(variant)))), cell("td", ""));
      this.highlight.attachRun(tr, r.index);
      return [r.index, tr];
    }));
    this.rowsOf = model;
    this.details.querySelector("tbody").replaceChildren();
  }
}

// Many runs' statuses in a few badges: "20 done", "5 diverged".
export function statusBadges(model) {
  const counts = new Map();
  for (const r of model.runs) counts.set(r.status, (counts.get(r.status) ?? 0) + 1);
  return [...counts].map(([status, n]) => {
    const badge = cell("span", `${n} ${status}`, { className: "run" });
    badge.dataset.status = status;
    return badge;
  });
}
