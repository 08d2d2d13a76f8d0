// The presenter's marks: a step and a short note, drawn on every time-axis chart for the whole room, listed
// under the toolbar; the presenter drops one with M and takes one back with its ×.
import { api } from "../token.js";
import { typing } from "./keys.js";

export class Marks {
  // onChange(): the charts redraw; onPick(step): a mark in the list was clicked (replay goes there)
  constructor(experimentId, presenter, onChange, onPick) {
    this.url = `/api/experiments/${encodeURIComponent(experimentId)}/marks`;
    this.presenter = presenter;
    this.onChange = onChange;
    this.onPick = onPick;
    this.list = [];
  }

  set(marks) {
    this.list = [...marks].sort((a, b) => a.step - b.step || a.id - b.id);
    this.changed();
  }

  add(mark) {
    if (this.list.some((m) => m.id === mark.id)) return; // our own POST's answer and its broadcast
    this.set([...this.list, mark]);
  }

  remove(id) {
    this.set(this.list.filter((m) => m.id !== id));
  }

  changed() {
    this.render();
    this.onChange();
  }

  render() {
    const box = document.getElementById("marks");
    box.hidden = !this.list.length;
    document.getElementById("mark-list").replaceChildren(
      ...this.list.map((m) => {
        const item = document.createElement("li");
        item.dataset.step = String(m.step);
        const go = Object.assign(document.createElement("button"), {
          className: "mark", textContent: `⚑ ${m.step}${m.note ? `: ${m.note}` : ""}`, title: `step ${m.step}`,
        });
        go.addEventListener("click", () => this.onPick(m.step));
        item.append(go);
        if (this.presenter) {
          const drop = Object.assign(document.createElement("button"), { className: "unmark", textContent: "×", title: "remove this mark" });
          drop.addEventListener("click", () => this.drop(m.id));
          item.append(drop);
        }
        return item;
      }),
    );
  }

  async drop(id) {
    try {
      await api(`${this.url}/${id}`, { method: "DELETE" });
      this.remove(id);
    } catch (e) {
      if (e.status === 404) this.remove(id);
      else console.warn("normscope: mark not removed", e.body?.detail ?? e);
    }
  }

  // Presenter: M opens a small form for the note at the step now shown; Enter drops the mark.
  setupDialog(stepNow) {
    const el = (id) => document.getElementById(id);
    const dialog = el("mark-dialog");
    let step = 0;
    document.addEventListener("keydown", (ev) => {
      if (typing(ev.target) || dialog.open) return;
      if (ev.key !== "m" && ev.key !== "M") return;
      ev.preventDefault();
      step = stepNow();
      el("mark-step").textContent = `at step ${step}`;
      el("mark-note").value = "";
      el("mark-error").textContent = "";
      dialog.showModal();
    });
    el("mark-form").addEventListener("submit", async (ev) => {
      ev.preventDefault();
      if (ev.submitter?.value === "cancel") return dialog.close();
      try {
        this.add(await api(this.url, { method: "POST", body: JSON.stringify({ step, note: el("mark-note").value.trim() }) }));
        dialog.close();
      } catch (e) {
        el("mark-error").textContent = e.body?.detail ?? `mark not saved (${e.message})`;
      }
    });
  }
}
