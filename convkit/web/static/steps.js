// convkit explore: reLU, pooling, flattening, the dense layer, softmax and cross-entropy on the convolution's map.
import { $, api, el, fieldsOr, intField, showError, state } from "./page.js";
import { cellSize, drawGrid, fmt } from "./grid.js";
import { saveState } from "./share.js";

// ---------- ReLU, pooling, flatten, dense, softmax ----------
export async function updateSteps() {
  if (!state.conv) return;
  const body = fieldsOr("steps", () => ({ map: state.conv.output, size: intField("pool-size", 1, 8, "pool size"),
    stride: intField("pool-stride", 1, 8, "pool stride"), op: $("pool-op").value, classes: intField("classes", 2, 10, "classes") }));
  if (!body) return;
  const steps = await api("/api/steps", body, "steps");
  if (!steps) return;
  state.steps = steps;
  const h = steps.relu.length, w = steps.relu[0].length;
  const marks = (steps.winners || []).flat().map((k) => [Math.floor(k / w), k % w, "#e07b00"]);
  drawGrid($("relu-canvas"), [steps.relu], { cell: cellSize(h, w, 300), numbers: true, marks });
  drawGrid($("pool-canvas"), [steps.pooled], { cell: cellSize(steps.pooled.length, steps.pooled[0].length, 200), numbers: true });
  $("pool-caption").textContent = `${steps.op}-pooled ${steps.pooled.length}x${steps.pooled[0].length} (${steps.size}x${steps.size} windows, stride ${steps.stride})`;
  $("flat").replaceChildren(...steps.flat.map((v, k) => el("div", {}, `${k}: ${fmt(v)}`)));
  $("flat-caption").textContent = `flattened: ${steps.flat.length} numbers`;
  const d = steps.dense, n = steps.flat.length;
  const cell = Math.max(3, Math.min(48, Math.floor(420 / Math.max(n, d.weight.length))));
  drawGrid($("dense-canvas"), [d.weight], { cell, numbers: true });
  $("dense-caption").textContent = `dense weights: ${d.weight.length} classes x ${n} inputs (row k scores class k; ` +
    `Dense(${n}, ${d.weight.length}, seed=0) as initialised, bias ${d.bias.map(fmt).join(", ")})`;
  $("dense-scores").replaceChildren(...d.scores.map((v, k) => el("div", { class: "score", data: { class: k, value: v } }, `class ${k}: ${fmt(v)}`)));
  if ($("scores-dense").checked) $("scores").value = d.scores.map(fmt).join(", ");
  saveState();
  await updateSoftmax();
  document.body.dataset.stepsVersion = String(Number(document.body.dataset.stepsVersion || 0) + 1);
}

export async function updateSoftmax() {
  const typed = !$("scores-dense").checked;
  const scores = typed ? $("scores").value.split(/[\s,;]+/).filter((s) => s !== "").map(Number) : state.steps.dense.scores;
  if (scores.length === 0 || scores.some((v) => !Number.isFinite(v))) {
    showError("softmax", "scores", "scores must be numbers separated by commas, like 2, 1, 0.1");
    return;
  }
  const labels = $("label");
  if (labels.options.length !== scores.length) {
    const keep = Math.min(Number(labels.value) || 0, scores.length - 1);
    labels.replaceChildren(...scores.map((_, k) => el("option", { value: String(k) }, String(k))));
    labels.value = String(keep);
  }
  const sm = await api("/api/softmax", { scores, label: Number(labels.value) }, "softmax");
  if (!sm) return;
  const head = el("tr", {}, ...["class", "score", "exp(score - max)", "probability"].map((t) => el("th", {}, t)));
  const rows = sm.scores.map((s, k) => el("tr", { class: k === sm.label ? "label" : "" }, el("td", {}, String(k)),
    el("td", {}, fmt(s)), el("td", {}, sm.exp[k].toFixed(4)), el("td", { class: "p" }, sm.probabilities[k].toFixed(4))));
  $("softmax-table").replaceChildren(head, ...rows);
  const p = sm.probabilities[sm.label];
  $("loss").replaceChildren(`cross-entropy of label ${sm.label}: −log p`, el("sub", {}, String(sm.label)),
    ` = −log ${p.toPrecision(4)} = `, el("b", { id: "loss-value" }, sm.loss.toFixed(4)));
  saveState();
}
