// The start page: the experiments list for everyone, the launch form for the presenter.
import { SpecForm } from "./lib/form.js";
import { layerNames } from "./lib/layer_names.js";
import { LessonsList } from "./lib/lessons_list.js";
import { SaveLesson } from "./lib/save_lesson.js";
import { api, presenterToken } from "./token.js";

const presenter = Boolean(presenterToken());
let presets = await api("/api/presets");
const byId = (id) => presets.find((p) => p.id === id);
const select = document.getElementById("preset");
const lessons = new LessonsList(document.getElementById("lessons"), presenter, () => reloadPresets());
await lessons.refresh();

// The form offers every lesson that validates: an own one saved or uploaded here too, without a reload.
async function reloadPresets() {
  const chosen = select.value;
  presets = await api("/api/presets");
  select.replaceChildren(new Option("(custom)", ""), ...presets.map((p) => new Option(p.title, p.id)));
  select.value = byId(chosen) ? chosen : "";
}

// What the presenter typed into the form, kept across a reload (and a launch) until a reset or another lesson.
const KEPT = "normscope-form";

if (presenter) {
  document.getElementById("launch").hidden = false;
  document.getElementById("who").textContent = "presenter";
  const form = new SpecForm(document.getElementById("spec-form"), await api("/api/catalog"));
  for (const p of presets) select.add(new Option(p.title, p.id));
  const edited = document.getElementById("edited");
  const showLesson = () => {
    document.getElementById("summary").textContent = byId(select.value)?.summary ?? "";
    document.getElementById("reset").hidden = !select.value;
  };
  const keep = () => localStorage.setItem(KEPT, JSON.stringify({ preset: select.value, edited: !edited.hidden, ...form.state() }));
  const pick = () => {
    const preset = byId(select.value);
    showLesson();
    if (preset) form.fill(preset.spec);
    edited.hidden = true;
    keep();
  };
  select.addEventListener("change", pick);
  document.getElementById("reset").addEventListener("click", pick);
  // Any change to the lesson's spec is marked beside its name; the launch still records the lesson.
  const edit = (ev) => {
    if (ev.target !== select) edited.hidden = !select.value;
    keep();
  };
  const formEl = document.getElementById("spec-form");
  formEl.addEventListener("input", edit);
  formEl.addEventListener("change", edit);
  formEl.addEventListener("click", (ev) => ev.target.closest("#add-variant, #variants button") && edit(ev));
  const kept = JSON.parse(localStorage.getItem(KEPT) ?? "null");
  if (kept && (kept.preset === "" || byId(kept.preset))) {
    select.value = kept.preset;
    showLesson();
    form.restore(kept);
    edited.hidden = !kept.edited;
  } else {
    select.value = presets[0]?.id ?? "";
    pick();
  }
  // The spec as edited, kept with a title and the text; the lesson's view when it came from one.
  new SaveLesson(document.getElementById("save-lesson"), () => {
    const preset = byId(select.value);
    const spec = form.spec();
    return {
      spec,
      title: preset ? `${preset.title}${edited.hidden ? "" : " (edited)"}` : spec.name,
      summary: preset?.summary ?? "",
      layers: layerNames(spec.model),
      view: preset?.view ?? { layer: null, tap: "normed", chart: "bands" },
      marks: [],
    };
  }, async () => {
    await lessons.refresh();
    await reloadPresets();
  });
  formEl.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    form.clearErrors();
    try {
      // the lesson it came from, edited or not: every page of the experiment shows what to look for
      const spec = { ...form.spec(), lesson: select.value || null };
      const exp = await api("/api/experiments", { method: "POST", body: JSON.stringify(spec) });
      const preset = byId(select.value);
      // The preset's layer, tap and chart (scrolled to); all charts stay on screen (the chart menu focuses one).
      const v = preset?.view;
      const q = new URLSearchParams(preset ? { preset: preset.id, layer: v.layer, tap: v.tap, open: v.chart } : {});
      location.href = `/experiments/${exp.id}?${q}`;
    } catch (e) {
      form.showErrors(e.body?.detail ?? (e.path ? [{ loc: [e.path], msg: e.message }] : e.message));
    }
  });
}

// A lecture starts with its first lesson, launched as part of it (the lecture bar then leads on).
if (presenter) {
  const lectures = await api("/api/lectures");
  const select = document.getElementById("lecture");
  for (const l of lectures) select.add(new Option(l.title ? `${l.title} (${l.lessons.length} lessons)` : `${l.id}: broken`, l.id));
  const info = () => {
    const l = lectures.find((x) => x.id === select.value);
    document.getElementById("lecture-info").textContent = l?.lessons?.join(" → ") ?? l?.errors.join("\n") ?? "";
    document.getElementById("lecture-start").disabled = !l?.lessons;
  };
  select.addEventListener("change", info);
  document.getElementById("lectures").hidden = !lectures.length;
  info();
  document.getElementById("lecture-start").addEventListener("click", async () => {
    const l = lectures.find((x) => x.id === select.value);
    const error = document.getElementById("lecture-start-error");
    error.textContent = "";
    try {
      const body = JSON.stringify({ lecture: l.id });
      const exp = await api(`/api/lessons/${encodeURIComponent(l.lessons[0])}/launch`, { method: "POST", body });
      location.href = `/experiments/${exp.id}`;
    } catch (e) {
      error.textContent = e.body?.detail?.[0]?.msg ?? e.body?.detail ?? e.message;
    }
  });
}

if (presenter) {
  document.getElementById("import").hidden = false;
  document.getElementById("import-file").addEventListener("change", async (ev) => {
    const file = ev.target.files[0];
    if (!file) return;
    const error = document.getElementById("import-error");
    error.textContent = "";
    try {
      const name = encodeURIComponent(file.name.replace(/\.jsonl?$/, "") || "imported");
      const exp = await api(`/api/import?name=${name}`, {
        method: "POST",
        body: await file.text(),
        headers: { "Content-Type": "text/plain" },
      });
      location.href = `/experiments/${exp.id}`;
    } catch (e) {
      error.textContent = e.body?.detail ?? e.message;
    }
  });
}

async function remove(id) {
  await api(`/api/experiments/${id}`, { method: "DELETE" });
  await refresh();
}

async function refresh() {
  const rows = (await api("/api/experiments")).map((e) => {
    const tr = document.createElement("tr");
    tr.dataset.status = e.status;
    const a = Object.assign(document.createElement("a"), { href: `/experiments/${e.id}`, textContent: e.spec.name });
    const status = Object.assign(document.createElement("span"), { className: "badge", textContent: e.status });
    status.dataset.status = e.status;
    const cells = [a, status, `${e.step} / ${e.spec.steps}`, new Date(e.created_at).toLocaleString()];
    for (const c of cells) tr.insertCell().append(c);
    const actions = tr.insertCell();
    if (presenter) {
      const del = Object.assign(document.createElement("button"), { textContent: "delete", className: "danger" });
      del.addEventListener("click", () => confirm(`Delete "${e.spec.name}" and its frames?`) && remove(e.id));
      actions.append(del);
    }
    return tr;
  });
  document.querySelector("#experiments tbody").replaceChildren(...rows);
}
await refresh();
setInterval(refresh, 3000);
