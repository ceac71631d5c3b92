// convkit explore: draws what the server computed (this file wires the sections together). The page asks /api/* for every number it
// shows (feature maps, pooling winners, dense scores, probabilities, areas, a network cell's
// window and sum); here are only layout, colours, the products of two numbers already on screen,
// and the user's input. Every text is set as text (textContent, text nodes): class names and
// messages come from files and models, and the page's policy forbids writing HTML from script.
import { $, UPLOAD_SIDE, api, el, showError, state } from "./page.js";
import { cellAt } from "./grid.js";
import { buildKernelEditor, drawConv, loadSample, paintAt, readUpload, setChannels, setKernel, stepBy, togglePlay, updateConv } from "./conv.js";
import { updateSoftmax, updateSteps } from "./steps.js";
import { setupDrawing, updateNetwork } from "./network.js";
import { updateContinuous } from "./continuous.js";
import { copyPython, loadState, saveState } from "./share.js";

// ---------- wiring ----------
export function fillSelect(select, values, chosen) {
  select.replaceChildren(...values.map(([v, text]) => el("option", { value: v }, text)));
  if (chosen !== undefined) select.value = chosen;
}

export async function start() {
  const info = await api("/api/info", undefined, "page");
  if (!info) return;
  state.info = info;
  fillSelect($("image-source"), [...info.samples.map((s) => [s, s === "seed" ? "the tutorial's 7x7 image" : `${s} (32x32)`]),
    ["blank", "blank (choose its size, then paint it)"]], "seed");
  fillSelect($("kernel-name"), [["seed detector", "the tutorial's detector 3x3"], ...info.kernels.map((k) => [k.name, k.name]),
    ["custom", "custom (choose its size, then edit the cells)"]]);
  fillSelect($("boundary"), info.boundaries.map((b) => [b.name, `${b.name}   ${b.picture}`]), "constant");
  fillSelect($("pool-op"), info.pool_ops.map((o) => [o, o]), "max");
  fillSelect($("pair"), info.pairs.map((p) => [p.name, p.label]));
  for (const [id, hi] of [["image-rows", info.limits.side], ["image-cols", info.limits.side], ["kernel-rows", info.limits.kernel], ["kernel-cols", info.limits.kernel]]) $(id).max = String(hi);

  for (const id of ["stride", "padding", "dilation", "boundary", "cval", "flip", "bias"]) $(id).addEventListener("input", updateConv);
  for (const id of ["pool-size", "pool-stride", "pool-op", "classes"]) $(id).addEventListener("input", updateSteps);
  $("scores").addEventListener("input", () => { $("scores-dense").checked = false; updateSoftmax(); });
  $("scores-dense").addEventListener("change", updateSteps);
  $("label").addEventListener("change", updateSoftmax);
  $("image-source").addEventListener("change", (e) => loadSample(e.target.value));
  for (const id of ["image-rows", "image-cols"]) $(id).addEventListener("input", () => loadSample("blank"));
  $("kernel-name").addEventListener("change", (e) => setKernel(e.target.value));
  for (const id of ["kernel-rows", "kernel-cols"]) $(id).addEventListener("input", () => setKernel("custom"));
  $("channels").addEventListener("change", (e) => { setChannels(Number(e.target.value)); buildKernelEditor(); updateConv(); });
  $("upload").addEventListener("change", async (e) => {
    const file = e.target.files[0];
    if (!file) return;
    try {
      const rgb = await readUpload(file, UPLOAD_SIDE);
      state.image = rgb;
      state.source = "painted";
      state.kernel = rgb.map(() => state.kernel[0].map((row) => row.slice()));
      setChannels(1);
      buildKernelEditor();
      await updateConv();
    } catch (err) { showError("conv", "upload", err.message); }
  });
  const out = $("output-canvas");
  out.addEventListener("mousemove", (e) => {
    const cell = cellAt(out, e);
    const same = cell && state.hover && cell[0] === state.hover[0] && cell[1] === state.hover[1];
    if (cell && !same) { state.hover = cell; drawConv(); }
  });
  out.addEventListener("mouseleave", () => { state.hover = null; drawConv(); });
  const inp = $("input-canvas");
  let painting = false;
  $("paint").addEventListener("change", () => inp.classList.toggle("painting", $("paint").checked));
  inp.addEventListener("mousedown", (e) => { if ($("paint").checked) { painting = true; paintAt(e); } });
  inp.addEventListener("mousemove", (e) => { if (painting) paintAt(e); });
  window.addEventListener("mouseup", () => { painting = false; });
  $("step").addEventListener("click", () => stepBy(1));
  $("step-back").addEventListener("click", () => stepBy(-1));
  $("play").addEventListener("click", togglePlay);
  $("copy-python").addEventListener("click", copyPython);
  $("pair").addEventListener("change", () => { $("t").value = "120"; updateContinuous(); });
  $("t").addEventListener("input", updateContinuous);
  document.addEventListener("keydown", (e) => { if (e.key === "Escape") { $("net-detail").hidden = true; } });

  if (info.model.available) {
    $("model-view").hidden = false;
    // the overview: each layer with the shape of what it hands to the next
    const shapes = info.model.shapes.map((sh) => sh.join("×"));
    $("model-message").textContent = `input ${shapes[0]} → ` +
      info.model.layers.map((name, k) => `${name} ${shapes[k + 1]}`).join(" → ") + " → softmax";
    $("model-path").textContent = `model ${info.model.path}: input ${info.model.input_shape.join("x")}, classes ${info.model.classes.join(" ")}`;
    setupDrawing();
    await updateNetwork();
  } else $("model-message").textContent = info.model.message;

  const query = location.search;
  if (!(query && await loadState(query))) await loadSample("seed");
  if ($("pair").value) await updateContinuous();
  state.ready = true;
  saveState();
  document.body.dataset.ready = "1";
}

// the page's state, for the browser tests and the console
window.state = state;
window.addEventListener("DOMContentLoaded", start);
