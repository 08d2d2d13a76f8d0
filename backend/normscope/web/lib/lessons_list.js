// The start page's lessons: the built-in ones and the presenter's own apart, each with its file to download;
// the presenter launches one, deletes an own one, or uploads a lesson file. A file that does not validate is
// listed with its errors, so whoever wrote it sees what to fix.
import { api } from "../token.js";
import { refusal, slug } from "./save_lesson.js";

const GROUPS = { own: "lessons-own", builtin: "lessons-builtin" };

export class LessonsList {
  // changed(): after an upload or a delete (the launch form's list of lessons follows)
  constructor(root, presenter, changed = () => {}) {
    this.root = root;
    this.presenter = presenter;
    this.changed = changed;
    this.error = root.querySelector("#lessons-error");
    const upload = root.querySelector("#lesson-upload");
    upload.hidden = !presenter;
    root.querySelector("#lesson-file").addEventListener("change", (ev) => this.upload(ev.target));
  }

  async refresh() {
    const lessons = await api("/api/lessons");
    for (const [source, id] of Object.entries(GROUPS)) {
      const mine = lessons.filter((l) => l.source === source);
      this.root.querySelector(`#${id}`).replaceChildren(...mine.map((l) => this.item(l)));
      this.root.querySelector(`#${id}-none`).hidden = mine.length > 0;
    }
  }

  item(lesson) {
    const li = document.createElement("li");
    li.dataset.id = lesson.id;
    const name = Object.assign(document.createElement("span"), { className: "lesson-name", textContent: lesson.title ?? lesson.id });
    if (lesson.summary) name.title = lesson.summary;
    const id = Object.assign(document.createElement("code"), { textContent: lesson.id });
    const parts = [name, id];
    if (lesson.recording) parts.push(Object.assign(document.createElement("span"), { className: "badge", textContent: `recorded on ${lesson.recording.device}` }));
    if (lesson.marks?.length) parts.push(Object.assign(document.createElement("span"), { className: "hint", textContent: lesson.marks.length === 1 ? "1 mark" : `${lesson.marks.length} marks` }));
    const actions = Object.assign(document.createElement("span"), { className: "lesson-actions" });
    if (this.presenter) {
      const launch = Object.assign(document.createElement("button"), { textContent: "launch", className: "launch", disabled: lesson.errors.length > 0 });
      launch.addEventListener("click", () => this.launch(lesson.id));
      actions.append(launch);
    }
    const file = Object.assign(document.createElement("a"), {
      href: `/api/lessons/${encodeURIComponent(lesson.id)}/file`, textContent: "file", className: "download", download: `${lesson.id}.toml`,
    });
    file.title = "download the lesson's TOML file";
    actions.append(file);
    if (this.presenter && lesson.source === "own") {
      const del = Object.assign(document.createElement("button"), { textContent: "delete", className: "danger" });
      del.addEventListener("click", () => confirm(`Delete the lesson "${lesson.title ?? lesson.id}" (its file)?`) && this.remove(lesson.id));
      actions.append(del);
    }
    li.append(...parts, actions);
    if (lesson.errors.length) {
      li.classList.add("broken");
      li.append(Object.assign(document.createElement("p"), { className: "error", textContent: lesson.errors.join("\n") }));
    }
    return li;
  }

  async act(what) {
    this.error.textContent = "";
    try {
      return await what();
    } catch (e) {
      this.error.textContent = e.body ? refusal(e.body.detail) : e.message;
      return null;
    }
  }

  // The experiment's page opens on the lesson's view and shows its text: spec.lesson names it.
  async launch(id) {
    const exp = await this.act(() => api(`/api/lessons/${encodeURIComponent(id)}/launch`, { method: "POST", body: "{}" }));
    if (exp) location.href = `/experiments/${exp.id}`;
  }

  async remove(id) {
    await this.act(() => api(`/api/lessons/${encodeURIComponent(id)}`, { method: "DELETE" }));
    await this.refresh();
    this.changed();
  }

  // A lesson file from disk, sent as its TOML text: the server keeps it as written, comments and all. A file
  // without an id takes its name's, as the server reads a file in its lessons folder.
  async upload(input) {
    const file = input.files[0];
    if (!file) return;
    const sent = await this.act(async () => {
      const text = await file.text();
      const named = /^id\s*=/m.test(text) ? text : `id = "${slug(file.name.replace(/\.toml$/i, ""))}"\n${text}`;
      return api("/api/lessons", { method: "POST", body: named, headers: { "Content-Type": "application/toml" } });
    });
    input.value = "";
    if (!sent) return;
    await this.refresh();
    this.changed();
  }
}
