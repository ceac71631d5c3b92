// convkit explore: the page state in the address bar, and the current setting as Python.
import { $, api, state } from "./page.js";
import { buildKernelEditor, updateConv } from "./conv.js";
import { updateSoftmax } from "./steps.js";

// ---------- the page state in the URL, and the setting as Python ----------
export const URL_FIELDS = ["stride", "padding", "dilation", "boundary", "cval", "bias", "pool-size", "pool-stride", "pool-op",
  "classes", "label", "pair", "t", "image-rows", "image-cols", "kernel-rows", "kernel-cols"];
export const matrixText = (m) => m.map((row) => row.map((v) => String(v)).join(",")).join(";");
export const parseMatrix = (text) => text.split(";").map((row) => row.split(",").map(Number));

export function saveState() {
  if (!state.ready) return;
  const q = new URLSearchParams();
  for (const id of URL_FIELDS) q.set(id, $(id).value);
  q.set("flip", $("flip").checked ? "1" : "0");
  q.set("image", state.source);
  if (state.source === "blank" || state.source === "painted") q.set("pixels", state.image.map(matrixText).join("|"));
  q.set("kernel", state.kernelName);
  q.set("weights", state.kernel.map(matrixText).join("|"));
  history.replaceState(null, "", `${location.pathname}?${q.toString()}${location.hash}`);
}

// a shared address: its fields are set as values (never as HTML); the server checks every number
export async function loadState(query) {
  const q = new URLSearchParams(query);
  if (![...q.keys()].length) return false;
  for (const id of URL_FIELDS) if (q.has(id) && id !== "label") $(id).value = q.get(id);
  $("flip").checked = q.get("flip") === "1";
  const source = q.get("image") || "seed";
  if (source === "painted" || source === "blank") {
    const planes = (q.get("pixels") || "").split("|").map(parseMatrix);
    state.image = planes;
    state.source = source;
  } else {
    $("image-source").value = source;
    const s = await api(`/api/sample?name=${encodeURIComponent(source)}`, undefined, "conv");
    if (!s) return false;
    state.image = s.image;
    state.source = source;
  }
  $("image-source").value = source === "painted" ? "blank" : source;
  $("blank-size").hidden = $("image-source").value !== "blank";
  state.kernelName = q.get("kernel") || "seed detector";
  $("kernel-name").value = state.kernelName;
  $("custom-size").hidden = state.kernelName !== "custom";
  state.kernel = (q.get("weights") || "").split("|").map(parseMatrix);
  $("channels").value = String(state.image.length);
  buildKernelEditor();
  await updateConv();
  if (q.has("label")) { $("label").value = q.get("label"); await updateSoftmax(); }
  return true;
}

export const pyMatrix = (m) => `np.array([${m.map((row) => `[${row.map((v) => String(v)).join(", ")}]`).join(",\n    ")}])`;

// the convkit calls that compute the feature map on the screen
export function pythonCode() {
  const c = state.conv, p = c.padding;
  const lines = ["import numpy as np", "import convkit", ""];
  const multi = state.image.length > 1 || c.bias !== 0;
  if (!multi) {
    lines.push(`image = ${pyMatrix(state.image[0])}`, `kernel = ${pyMatrix(state.kernel[0])}`);
    lines.push(p ? `padded = convkit.pad(image, ${p}, "${c.boundary}"${c.boundary === "constant" && c.cval ? `, cval=${c.cval}` : ""})` : "padded = image");
    lines.push(`feature_map = convkit.${c.flip ? "convolve" : "correlate"}(padded, kernel, "valid", stride=${c.stride}, dilation=${c.dilation})`);
  } else {
    lines.push(`image = np.stack([${state.image.map(pyMatrix).join(",\n  ")}])          # (C, H, W)`);
    lines.push(`kernel = np.stack([${state.kernel.map(pyMatrix).join(",\n  ")}])         # (C, kh, kw)`);
    if (c.flip) lines.push("kernel = kernel[:, ::-1, ::-1].copy()   # true convolution turns the kernel by 180 degrees");
    lines.push(p ? `padded = convkit.pad(image, ((0, 0), (${p}, ${p}), (${p}, ${p})), "${c.boundary}"${c.boundary === "constant" && c.cval ? `, cval=${c.cval}` : ""})` : "padded = image");
    lines.push(`feature_map = convkit.conv2d(padded[None], kernel[None], np.array([${c.bias}]), stride=${c.stride}, dilation=${c.dilation})[0, 0]`);
  }
  lines.push("print(feature_map)");
  return lines.join("\n");
}

export async function copyPython() {
  const code = pythonCode();
  $("python-code").textContent = code;
  $("python-code").hidden = false;
  try { await navigator.clipboard.writeText(code); $("copy-note").textContent = "copied to the clipboard"; }
  catch (err) { $("copy-note").textContent = "select the code below and copy it"; }
}
