import { api, presenterToken } from "./token.js";

const presets = await api("/api/presets");
const select = document.getElementById("preset");
for (const p of presets) select.add(new Option(p.title, p.id));
const showSummary = () => {
  document.getElementById("summary").textContent = presets.find((p) => p.id === select.value)?.summary ?? "";
};
select.addEventListener("change", showSummary);
showSummary();

if (presenterToken()) {
  document.getElementById("launch").hidden = false;
  document.getElementById("who").textContent = "presenter";
  document.getElementById("start").addEventListener("click", async () => {
    const preset = presets.find((p) => p.id === select.value);
    try {
      const exp = await api("/api/experiments", { method: "POST", body: JSON.stringify(preset.spec) });
      location.href = `/experiments/${exp.id}`;
    } catch (e) {
      document.getElementById("launch-error").textContent = JSON.stringify(e.body?.detail ?? e.message);
    }
  });
}

async function refresh() {
  const rows = (await api("/api/experiments")).map((e) => {
    const tr = document.createElement("tr");
    const a = Object.assign(document.createElement("a"), { href: `/experiments/${e.id}`, textContent: e.spec.name });
    const cells = [a, e.status, `${e.step} / ${e.spec.steps}`, new Date(e.created_at).toLocaleString()];
    for (const c of cells) tr.insertCell().append(c);
    return tr;
  });
  document.querySelector("#experiments tbody").replaceChildren(...rows);
}
await refresh();
setInterval(refresh, 3000);
