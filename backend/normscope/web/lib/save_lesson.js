// Save as lesson: the presenter keeps a spec, what to say about it, the view it opens on and its marks as an
// own lesson file (POST /api/lessons). The start page lists it, and it launches like a built-in one.
import { api } from "../token.js";
import { toast } from "./snapshot.js";

const MAX_ID = 64;

// A title as a lesson's id (its file's name): lower case, words joined by dashes, at most 64 characters.
export function slug(text) {
  const plain = text.normalize("NFKD").replace(/\p{M}/gu, "").toLowerCase(); // é: e and its accent, the accent dropped
  const words = plain.replace(/[^a-z0-9]+/g, "-").replace(/^-+/, "");
  return words.slice(0, MAX_ID).replace(/-+$/, "");
}

// The Lesson the dialog posts. The spec leaves out the lesson it came from: launching the new one names it.
// A page that shows every chart opens the lesson on the server's default chart; marks before step 1 (a
// presenter's mark at the start) are not a lesson's.
export function lessonBody({ id, title, summary, spec, view, marks = [] }) {
  const { lesson: _from, ...kept } = spec;
  return {
    id,
    title,
    summary,
    spec: kept,
    view: { layer: view.layer, tap: view.tap, ...(view.chart ? { chart: view.chart } : {}) },
    marks: marks.filter((m) => m.step >= 1).map(({ step, note }) => ({ step, note })),
  };
}

// The server's refusal as lines a person reads: a 422's fields (spec.variants[0].lr: …), or its sentence.
export function refusal(detail) {
  if (!Array.isArray(detail)) return String(detail ?? "");
  const where = (loc) =>
    (loc[0] === "body" ? loc.slice(1) : loc)
      .map((part, i) => (typeof part === "number" ? `[${part}]` : i ? `.${part}` : part))
      .join("") || "lesson";
  return detail.map((e) => `${where(e.loc)}: ${e.msg}`).join("\n");
}

// What the dialog says it keeps besides the fields: the view's tap and chart, and the marks.
export function keeps(view, marks) {
  const kept = marks.filter((m) => m.step >= 1);
  const chart = `the ${view.chart ?? "bands"} chart`; // a lesson opens on one chart: the bands, unless another is shown
  const listed = kept.map((m) => `step ${m.step}${m.note ? ` “${m.note}”` : ""}`).join(", ");
  return `opens on the ${view.tap} tap and ${chart}; ${kept.length ? `marks: ${listed}` : "no marks"}`;
}

const DIALOG = `
  <form id="save-lesson-form">
    <h2>Save as lesson</h2>
    <label class="field">title <input id="save-lesson-title" required maxlength="200" autocomplete="off"></label>
    <label class="field">id: its file's name, lessons/&lt;id&gt;.toml
      <input id="save-lesson-id" required maxlength="${MAX_ID}" pattern="[a-z0-9][a-z0-9\\-]*" autocomplete="off"
        title="lower-case letters, digits and dashes, starting with a letter or digit"></label>
    <label class="field">what to look for (paragraphs apart by a blank line)
      <textarea id="save-lesson-summary" rows="6" required maxlength="8000"></textarea></label>
    <label class="field">opens on layer <select id="save-lesson-layer"></select></label>
    <p id="save-lesson-keeps" class="hint"></p>
    <p id="save-lesson-error" class="error" role="alert"></p>
    <p class="dialog-buttons"><button value="save" class="primary">save lesson</button>
      <button value="cancel" formnovalidate>cancel</button></p>
  </form>`;

export class SaveLesson {
  // gather(): what to save now, {spec, title, summary, layers, view: {layer, tap, chart}, marks}; it may
  // throw (a form field that cannot be read). saved(lesson): after the server wrote it.
  constructor(button, gather, saved = () => {}) {
    this.gather = gather;
    this.saved = saved;
    this.dialog = Object.assign(document.createElement("dialog"), { id: "save-lesson-dialog", innerHTML: DIALOG });
    this.dialog.setAttribute("aria-label", "save as lesson");
    document.body.append(this.dialog);
    // the page's keys (M, L, space …) are not for a dialog being typed into
    this.dialog.addEventListener("keydown", (ev) => ev.stopPropagation());
    const el = (id) => this.dialog.querySelector(`#save-lesson-${id}`);
    this.fields = { title: el("title"), id: el("id"), summary: el("summary"), layer: el("layer"), keeps: el("keeps"), error: el("error") };
    // the id follows the title until the presenter types one
    this.fields.title.addEventListener("input", () => {
      if (!this.idTyped) this.fields.id.value = slug(this.fields.title.value);
    });
    this.fields.id.addEventListener("input", () => {
      this.idTyped = true;
    });
    el("form").addEventListener("submit", (ev) => {
      ev.preventDefault();
      if (ev.submitter?.value === "cancel") this.dialog.close();
      else this.save();
    });
    button.addEventListener("click", () => this.open());
  }

  open() {
    let data;
    try {
      data = this.gather();
    } catch (e) {
      return toast(`cannot save: ${e.message}`);
    }
    this.data = data;
    const f = this.fields;
    f.title.value = data.title ?? "";
    f.id.value = slug(f.title.value);
    this.idTyped = false;
    f.summary.value = data.summary ?? "";
    f.layer.replaceChildren(...data.layers.map((name) => new Option(name, name)));
    f.layer.value = data.layers.includes(data.view.layer) ? data.view.layer : data.layers.at(-1);
    f.keeps.textContent = keeps(data.view, data.marks ?? []);
    f.error.textContent = "";
    this.dialog.showModal();
    f.title.select();
  }

  async save() {
    const f = this.fields;
    const body = lessonBody({
      ...this.data,
      id: f.id.value.trim(),
      title: f.title.value.trim(),
      summary: f.summary.value.trim(),
      view: { ...this.data.view, layer: f.layer.value },
    });
    f.error.textContent = "";
    try {
      const lesson = await api("/api/lessons", { method: "POST", body: JSON.stringify(body) });
      this.dialog.close();
      toast(`saved as lesson “${lesson.title}” (lessons/${lesson.id}.toml)`);
      this.saved(lesson);
    } catch (e) {
      f.error.textContent = e.body ? refusal(e.body.detail) : `not saved (${e.message})`;
    }
  }
}
