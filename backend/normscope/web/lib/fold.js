// The folding panel: each finished BN run with BN merged into its linear layers for inference.
import { api } from "../token.js";

// Stored before the run's final status is announced: a finished run without one has no BN run to fold
// (or it diverged, or the worker died).
export async function fetchFolds(experimentId) {
  try {
    return await api(`/api/experiments/${experimentId}/fold`);
  } catch (e) {
    if (e.status === 404) return null;
    throw e;
  }
}

const FOLDED_PAST = 4; // rows

export function showFolds(folds) {
  if (!folds?.length) return;
  const rows = folds.map((f) => {
    const tr = document.createElement("tr");
    const cells = [
      f.label,
      `${f.layers_before} → ${f.layers_after}`,
      f.bn_kept ? `${f.bn_folded} (${f.bn_kept} kept: before a padded conv)` : String(f.bn_folded),
      f.max_abs_diff.toExponential(1),
      `${(100 * f.same_predictions).toFixed(1)}% of ${f.samples}`,
    ];
    for (const c of cells) tr.insertCell().textContent = c;
    return tr;
  });
  document.querySelector("#fold tbody").replaceChildren(...rows);
  document.getElementById("fold-count").textContent = `(${rows.length} variant${rows.length === 1 ? "" : "s"})`;
  const panel = document.getElementById("fold");
  panel.open = rows.length <= FOLDED_PAST; // a sweep's table would push the charts down: below them, folded
  panel.hidden = false;
}
