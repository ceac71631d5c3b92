// convkit explore: the page's shared parts: the state, text-only element building, errors beside their controls,
// the requests to the server and the checks of number fields.

export const $ = (id) => document.getElementById(id);
export const MAX_UPLOAD_BYTES = 5 * 1024 * 1024;
export const UPLOAD_SIDE = 32;            // uploads are drawn into at most 32x32 cells
export const DRAW_SIDE = 28;              // the network's drawing is sent as 28x28 gray values
export const state = {
  info: null, image: null, kernel: null, conv: null, steps: null, step: -1, timer: null,
  hover: null, seq: {}, source: "seed", kernelName: "seed detector", net: null, netImage: null,
};

// ---------- building the page: text only ----------
// el("td", { class: "x", data: { value: 1 } }, "text", child): strings become text nodes
export function el(tag, props, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props || {})) {
    if (key === "class") node.className = value;
    else if (key === "data") for (const [k, v] of Object.entries(value)) node.dataset[k] = String(v);
    else node[key] = value;
  }
  node.append(...children.filter((c) => c !== null && c !== undefined).map((c) => (typeof c === "number" ? String(c) : c)));
  return node;
}

// ---------- errors: shown beside the control that caused them; the pictures they affect go stale ----------
// request kind -> [message prefix, control id]; the first word of a server message names the field
export const ERROR_FIELDS = {
  conv: [["stride", "stride"], ["padding", "padding"], ["dilation", "dilation"], ["the kernel spans", "dilation"],
    ["cval", "cval"], ["bias", "bias"], ["boundary", "boundary"], ["kernel", "kernel-name"], ["image", "image-source"],
    ["sample", "image-source"]],
  steps: [["pool size", "pool-size"], ["size", "pool-size"], ["stride", "pool-stride"], ["op", "pool-op"],
    ["classes", "classes"], ["map", "pool-size"]],
  softmax: [["scores", "scores"], ["label", "label"]],
  network: [["image", "draw-upload"], ["cell", "layers"]],
  continuous: [["t", "t"], ["pair", "pair"]],
  page: [],
};
export const DEFAULT_CONTROL = { conv: "image-source", steps: "pool-size", softmax: "scores", network: "draw-upload",
  continuous: "pair", page: "message" };
// what each kind of request draws: stale when its request fails (later steps depend on earlier ones)
export const DRAWS = {
  conv: ["output-canvas", "relu-canvas", "pool-canvas", "flat", "dense-canvas", "dense-scores", "softmax-table"],
  steps: ["relu-canvas", "pool-canvas", "flat", "dense-canvas", "dense-scores", "softmax-table"],
  softmax: ["softmax-table"], network: ["probabilities", "layers"], continuous: ["cont-top", "cont-bottom"], page: [],
};

export class FieldError extends Error {
  constructor(control, message) { super(message); this.control = control; }
}

export function errorBox(kind) {
  let box = $(`error-${kind}`);
  if (!box) box = el("span", { class: "error field-error", id: `error-${kind}`, role: "alert", hidden: true });
  return box;
}

export function showError(kind, control, text) {
  if (kind === "page") { $("message").textContent = text; $("message").hidden = false; return; }
  const box = errorBox(kind), target = $(control);
  box.textContent = text;
  box.dataset.control = control;
  // right after the field, inside its label (a wrapped row cannot separate them), else after its figure
  const anchor = target ? (target.closest("label") ? target : target.closest("figure") || target) : $(`${kind}-controls`) || $("message");
  anchor.after(box);
  box.hidden = false;
  setStale(kind, true);
}

export function clearError(kind) {
  if (kind === "page") { $("message").hidden = true; return; }
  const box = $(`error-${kind}`);
  if (box) box.hidden = true;
  setStale(kind, false);
}

export function setStale(kind, stale) {
  for (const id of DRAWS[kind]) {
    const node = $(id);
    if (!node) continue;
    const holder = node.closest("figure") || node;
    holder.classList.toggle("stale", stale);
    if (stale) holder.dataset.stale = "1"; else delete holder.dataset.stale;
  }
}

export function controlFor(kind, message) {
  for (const [prefix, control] of ERROR_FIELDS[kind]) if (message.startsWith(prefix)) return control;
  return DEFAULT_CONTROL[kind];
}

export async function api(path, body, kind, key) {
  // the answer of an older request of the same kind is dropped, so a fast slider never flickers
  const tag = key || path;
  const seq = (state.seq[tag] = (state.seq[tag] || 0) + 1);
  const options = body === undefined ? {} :
    { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) };
  let response, data;
  try {
    response = await fetch(path, options);
    data = await response.json();
  } catch (err) {
    if (seq === state.seq[tag]) showError(kind, DEFAULT_CONTROL[kind], "the explorer's server did not answer; is `convkit explore` still running?");
    return null;
  }
  if (seq !== state.seq[tag]) return null;
  if (!response.ok) {
    const message = data.error || `request failed (${response.status})`;
    showError(kind, controlFor(kind, message), message);
    return null;
  }
  clearError(kind);
  return data;
}

// number fields are checked here first: an empty or out-of-range field is named beside itself
export function intField(id, lo, hi, what) {
  const raw = $(id).value.trim(), v = Number(raw);
  if (raw === "" || !Number.isInteger(v) || v < lo || v > hi)
    throw new FieldError(id, `${what} must be a whole number from ${lo} to ${hi}` + (raw === "" ? " (the field is empty)" : `, got ${raw}`));
  return v;
}

export function numField(id, what) {
  const raw = $(id).value.trim(), v = Number(raw);
  if (raw === "" || !Number.isFinite(v) || Math.abs(v) > 1e6)
    throw new FieldError(id, `${what} must be a number within ±1e6` + (raw === "" ? " (the field is empty)" : `, got ${raw}`));
  return v;
}

export function fieldsOr(kind, read) {
  try { return read(); } catch (err) {
    if (!(err instanceof FieldError)) throw err;
    showError(kind, err.control, err.message);
    return null;
  }
}
