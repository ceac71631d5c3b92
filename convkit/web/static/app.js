// convkit explore: draws what the server computed. The page asks /api/* for every number it
// shows (feature maps, pooling winners, dense scores, probabilities, areas, a network cell's
// window and sum); here are only layout, colours, the products of two numbers already on screen,
// and the user's input. Every text is set as text (textContent, text nodes): class names and
// messages come from files and models, and the page's policy forbids writing HTML from script.
"use strict";

const $ = (id) => document.getElementById(id);
const MAX_UPLOAD_BYTES = 5 * 1024 * 1024;
const UPLOAD_SIDE = 32;            // uploads are drawn into at most 32x32 cells
const DRAW_SIDE = 28;              // the network's drawing is sent as 28x28 gray values
const state = {
  info: null, image: null, kernel: null, conv: null, steps: null, step: -1, timer: null,
  hover: null, seq: {}, source: "seed", kernelName: "seed detector", net: null, netImage: null,
};

// ---------- building the page: text only ----------
// el("td", { class: "x", data: { value: 1 } }, "text", child): strings become text nodes
function el(tag, props, ...children) {
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
const ERROR_FIELDS = {
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
const DEFAULT_CONTROL = { conv: "image-source", steps: "pool-size", softmax: "scores", network: "draw-upload",
  continuous: "pair", page: "message" };
// what each kind of request draws: stale when its request fails (later steps depend on earlier ones)
const DRAWS = {
  conv: ["output-canvas", "relu-canvas", "pool-canvas", "flat", "dense-canvas", "dense-scores", "softmax-table"],
  steps: ["relu-canvas", "pool-canvas", "flat", "dense-canvas", "dense-scores", "softmax-table"],
  softmax: ["softmax-table"], network: ["probabilities", "layers"], continuous: ["cont-top", "cont-bottom"], page: [],
};

class FieldError extends Error {
  constructor(control, message) { super(message); this.control = control; }
}

function errorBox(kind) {
  let box = $(`error-${kind}`);
  if (!box) box = el("span", { class: "error field-error", id: `error-${kind}`, role: "alert", hidden: true });
  return box;
}

function showError(kind, control, text) {
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

function clearError(kind) {
  if (kind === "page") { $("message").hidden = true; return; }
  const box = $(`error-${kind}`);
  if (box) box.hidden = true;
  setStale(kind, false);
}

function setStale(kind, stale) {
  for (const id of DRAWS[kind]) {
    const node = $(id);
    if (!node) continue;
    const holder = node.closest("figure") || node;
    holder.classList.toggle("stale", stale);
    if (stale) holder.dataset.stale = "1"; else delete holder.dataset.stale;
  }
}

function controlFor(kind, message) {
  for (const [prefix, control] of ERROR_FIELDS[kind]) if (message.startsWith(prefix)) return control;
  return DEFAULT_CONTROL[kind];
}

async function api(path, body, kind, key) {
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
function intField(id, lo, hi, what) {
  const raw = $(id).value.trim(), v = Number(raw);
  if (raw === "" || !Number.isInteger(v) || v < lo || v > hi)
    throw new FieldError(id, `${what} must be a whole number from ${lo} to ${hi}` + (raw === "" ? " (the field is empty)" : `, got ${raw}`));
  return v;
}

function numField(id, what) {
  const raw = $(id).value.trim(), v = Number(raw);
  if (raw === "" || !Number.isFinite(v) || Math.abs(v) > 1e6)
    throw new FieldError(id, `${what} must be a number within ±1e6` + (raw === "" ? " (the field is empty)" : `, got ${raw}`));
  return v;
}

function fieldsOr(kind, read) {
  try { return read(); } catch (err) {
    if (!(err instanceof FieldError)) throw err;
    showError(kind, err.control, err.message);
    return null;
  }
}

// ---------- drawing grids ----------
function fmt(v) {
  if (Number.isInteger(v)) return String(v);
  const a = Math.abs(v);
  if (a >= 1e5 || (a > 0 && a < 1e-3)) return v.toExponential(2);
  return a >= 100 ? v.toFixed(0) : a >= 1 ? v.toFixed(2).replace(/\.?0+$/, "") : v.toFixed(3).replace(/\.?0+$/, "");
}

// a colour scale: gray from 0 (black) to the largest value (white) when nothing is negative,
// else blue above zero and red below, white at zero, symmetric around 0
function makeScale(lo, hi) {
  if (lo >= 0) return { signed: false, lo: 0, hi: hi > 0 ? hi : 0 };
  const m = Math.max(Math.abs(lo), Math.abs(hi));
  return { signed: true, lo: -m, hi: m };
}

function colour(v, scale) {
  if (!scale.signed) {
    const g = scale.hi > 0 ? Math.round(255 * Math.min(1, Math.max(0, v / scale.hi))) : 0;
    return `rgb(${g},${g},${g})`;
  }
  const s = Math.min(1, Math.abs(v) / scale.hi), c = Math.round(255 * (1 - s));
  return v < 0 ? `rgb(255,${c},${c})` : `rgb(${c},${c},255)`;
}

function light(v, scale) {        // whether dark text reads on this cell
  if (!scale.signed) return scale.hi > 0 && v / scale.hi > 0.5;
  return Math.abs(v) / scale.hi < 0.6;
}

function range(planes) {
  let lo = Infinity, hi = -Infinity;
  for (const p of planes) for (const row of p) for (const v of row) { lo = Math.min(lo, v); hi = Math.max(hi, v); }
  return [lo, hi];
}

function cellSize(rows, cols, px) { return Math.max(4, Math.min(44, Math.floor(px / Math.max(rows, cols)))); }

// A (C, H, W) stack drawn as one canvas: RGB when C = 3 and values in [0, 1], else the first plane.
// opts: cell, scale, inner [r0, c0, h, w] (outlined), marks [[r, c, colour]], numbers (bool)
function drawGrid(canvas, planes, opts) {
  const h = planes[0].length, w = planes[0][0].length, cell = opts.cell;
  canvas.width = w * cell; canvas.height = h * cell;
  canvas.dataset.cell = cell; canvas.dataset.rows = h; canvas.dataset.cols = w;
  const ctx = canvas.getContext("2d");
  const [lo, hi] = range(planes);
  const scale = opts.scale || makeScale(lo, hi);
  const rgb = planes.length === 3 && lo >= 0 && hi <= 1;
  for (let r = 0; r < h; r++) {
    for (let c = 0; c < w; c++) {
      if (rgb) {
        const k = (i) => Math.round(255 * planes[i][r][c]);
        ctx.fillStyle = `rgb(${k(0)},${k(1)},${k(2)})`;
      } else ctx.fillStyle = colour(planes[0][r][c], scale);
      ctx.fillRect(c * cell, r * cell, cell, cell);
    }
  }
  if (opts.numbers && cell >= 22 && !rgb) {
    ctx.font = `${Math.min(13, cell / 2.6)}px monospace`; ctx.textAlign = "center"; ctx.textBaseline = "middle";
    for (let r = 0; r < h; r++) for (let c = 0; c < w; c++) {
      const v = planes[0][r][c];
      ctx.fillStyle = light(v, scale) ? "#000" : "#fff";
      if (scale.signed) ctx.fillStyle = "#000";
      ctx.fillText(fmt(v), c * cell + cell / 2, r * cell + cell / 2);
    }
  }
  if (cell >= 8) {
    ctx.strokeStyle = "rgba(128,128,128,0.35)"; ctx.lineWidth = 1;
    for (let r = 0; r <= h; r++) { ctx.beginPath(); ctx.moveTo(0, r * cell + 0.5); ctx.lineTo(w * cell, r * cell + 0.5); ctx.stroke(); }
    for (let c = 0; c <= w; c++) { ctx.beginPath(); ctx.moveTo(c * cell + 0.5, 0); ctx.lineTo(c * cell + 0.5, h * cell); ctx.stroke(); }
  }
  if (opts.inner) {
    const [r0, c0, ih, iw] = opts.inner;
    ctx.strokeStyle = "#e07b00"; ctx.lineWidth = 2; ctx.setLineDash([5, 3]);
    ctx.strokeRect(c0 * cell + 1, r0 * cell + 1, iw * cell - 2, ih * cell - 2); ctx.setLineDash([]);
  }
  for (const [r, c, col] of opts.marks || []) {
    ctx.strokeStyle = col; ctx.lineWidth = Math.max(2, cell / 8);
    ctx.strokeRect(c * cell + 1.5, r * cell + 1.5, cell - 3, cell - 3);
  }
}

function cellAt(canvas, event) {
  const box = canvas.getBoundingClientRect(), cell = Number(canvas.dataset.cell);
  const r = Math.floor((event.clientY - box.top) / cell), c = Math.floor((event.clientX - box.left) / cell);
  if (r < 0 || c < 0 || r >= Number(canvas.dataset.rows) || c >= Number(canvas.dataset.cols)) return null;
  return [r, c];
}

// a detail box opens beside the cell it explains, inside the visible part of the page
function placeNear(box, canvas, r, c) {
  box.hidden = false;
  const rect = canvas.getBoundingClientRect(), cell = Number(canvas.dataset.cell);
  const x = rect.left + c * cell, y = rect.top + r * cell;
  const w = box.offsetWidth, h = box.offsetHeight;
  const vw = document.documentElement.clientWidth, vh = window.innerHeight;
  // beside the whole picture when there is room (no cell hidden), else beside the cell
  let left = rect.right + 14;
  if (left + w > vw - 8) left = rect.left - w - 14;
  if (left < 8) left = x + cell + 14 + w <= vw - 8 ? x + cell + 14 : x - w - 14;
  left = Math.max(8, Math.min(left, vw - w - 8));
  let top = y - 10;
  if (top + h > vh - 8) top = vh - h - 8;
  top = Math.max(8, top);
  box.style.left = `${left + window.scrollX}px`;
  box.style.top = `${top + window.scrollY}px`;
}

function table(caption, rows, cls) {
  return el("table", { class: cls || "" }, el("caption", {}, caption),
    ...rows.map((row) => el("tr", {}, ...row.map((v) => el("td", { data: { value: v } }, fmt(v))))));
}

// ---------- convolution ----------
function convRequest() {
  return { image: state.image, kernel: state.kernel, stride: intField("stride", 1, 8, "stride"),
    padding: intField("padding", 0, 16, "padding"), dilation: intField("dilation", 1, 8, "dilation"),
    boundary: $("boundary").value, cval: numField("cval", "cval"), flip: $("flip").checked, bias: numField("bias", "bias") };
}

async function updateConv() {
  const started = performance.now();
  const body = fieldsOr("conv", convRequest);
  if (!body) return;
  const conv = await api("/api/convolution", body, "conv");
  if (!conv) return;
  state.conv = conv;
  const outSize = [conv.output.length, conv.output[0].length];
  if (state.step >= outSize[0] * outSize[1]) state.step = -1;
  if (state.hover && (state.hover[0] >= outSize[0] || state.hover[1] >= outSize[1])) state.hover = null;
  drawConv();
  saveState();
  await updateSteps();
  document.body.dataset.redrawMs = (performance.now() - started).toFixed(1);
  document.body.dataset.convVersion = String(Number(document.body.dataset.convVersion || 0) + 1);
}

function windowCells(conv, i, j) {
  // padded-image cells under the kernel for output cell (i, j): row i*stride + a*dilation
  const kh = conv.laid[0].length, kw = conv.laid[0][0].length, cells = [];
  for (let a = 0; a < kh; a++) for (let b = 0; b < kw; b++)
    cells.push([i * conv.stride + a * conv.dilation, j * conv.stride + b * conv.dilation, a, b]);
  return cells;
}

function sideFormula(n, p, d, k, s, out) {
  return `floor((${n} + 2·${p} − ${d}·(${k} − 1) − 1) / ${s}) + 1 = ${out}`;
}

function drawConv() {
  const conv = state.conv, p = conv.padding;
  const hp = conv.padded[0].length, wp = conv.padded[0][0].length;
  const ho = conv.output.length, wo = conv.output[0].length;
  const focus = state.hover || (state.step >= 0 ? [Math.floor(state.step / wo), state.step % wo] : null);
  const marks = focus ? windowCells(conv, focus[0], focus[1]).map(([r, c]) => [r, c, "#00a000"]) : [];
  const [lo, hi] = range(state.image);
  drawGrid($("input-canvas"), conv.padded, { cell: cellSize(hp, wp, 380), numbers: true,
    inner: p > 0 ? [p, p, hp - 2 * p, wp - 2 * p] : null, marks, scale: makeScale(Math.min(lo, 0), hi) });
  drawGrid($("output-canvas"), [conv.output], { cell: cellSize(ho, wo, 300), numbers: true,
    marks: focus ? [[focus[0], focus[1], "#00a000"]] : [] });
  const h = state.image[0].length, w = state.image[0][0].length, kh = conv.laid[0].length, kw = conv.laid[0][0].length;
  $("input-caption").textContent = `image ${h}x${w}, ${state.image.length} channel(s)` +
    (p ? `, padded by ${p} (${conv.boundary}; the dashed box is the image)` : "");
  $("output-caption").textContent = `feature map ${ho}x${wo}` + (conv.flip ? " (true convolution)" : " (correlation)");
  $("shape-formula").textContent = `output rows = ${sideFormula(h, p, conv.dilation, kh, conv.stride, ho)}; ` +
    `columns = ${sideFormula(w, p, conv.dilation, kw, conv.stride, wo)}`;
  $("boundary-name").textContent = conv.boundary;
  $("boundary-picture").textContent = conv.picture;
  $("step-label").textContent = state.step >= 0 ? `step ${state.step + 1}/${ho * wo}` : "";
  showDetail(focus);
}

function showDetail(focus) {
  const box = $("hover-detail");
  if (!focus) { box.hidden = true; box.replaceChildren(); return; }
  const conv = state.conv, [i, j] = focus, cells = windowCells(conv, i, j);
  const parts = [el("p", {}, `feature map cell (row ${i}, column ${j}): window at padded row ${i * conv.stride}, column ${j * conv.stride}` +
    (conv.flip ? "; the kernel is turned by 180 degrees (true convolution)" : ""))];
  const terms = [], products = [];
  conv.padded.forEach((plane, ch) => {
    const kh = conv.laid[ch].length, kw = conv.laid[ch][0].length;
    const grid = (value) => Array.from({ length: kh }, (_, a) => Array.from({ length: kw }, (_, b) => {
      const [r, c] = cells[a * kw + b];
      return value(plane[r][c], conv.laid[ch][a][b]);
    }));
    const label = conv.padded.length > 1 ? `channel ${ch}: ` : "";
    const prods = grid((x, wt) => x * wt);
    prods.flat().forEach((v) => products.push(v));
    parts.push(el("div", { class: "triple" }, table(label + "window", grid((x) => x)), " × ",
      table("kernel", grid((x, wt) => wt)), " = ", table("products", prods, "products"),
      el("span", {}, `sum ${fmt(conv.partial[ch][i][j])}`)));
    terms.push(conv.partial[ch][i][j]);
  });
  const spelled = products.length <= 27 ? products.map(fmt).join(" + ") : `${products.length} products`;
  const channelSums = terms.length > 1 ? ` = ${terms.map(fmt).join(" + ")} (per channel)` : "";
  const bias = conv.bias !== 0 ? ` + bias ${fmt(conv.bias)}` : "";
  const value = conv.output[i][j];
  parts.push(el("p", { class: "sum" }, `sum = ${spelled}${channelSums}${bias} = `,
    el("b", { id: "hover-sum", data: { value } }, fmt(value))));
  box.replaceChildren(...parts);
  box.dataset.row = i; box.dataset.col = j;
  placeNear(box, $("output-canvas"), i, j);
}

function stepBy(delta) {
  const n = state.conv.output.length * state.conv.output[0].length;
  state.step = ((state.step + delta) % n + n) % n;
  state.hover = null;
  drawConv();
}

function togglePlay() {
  if (state.timer) { clearInterval(state.timer); state.timer = null; $("play").textContent = "play"; return; }
  $("play").textContent = "pause";
  state.timer = setInterval(() => stepBy(1), 450);
}

// ---------- the image and the kernel ----------
function blank(rows, cols) { return [Array.from({ length: rows }, () => new Array(cols).fill(0))]; }

function setChannels(c) {
  const now = state.image.length;
  if (c === now) return;
  if (c === 1) {                       // RGB -> gray with the library's luma weights
    const L = state.info.luma;
    state.image = [state.image[0].map((row, r) => row.map((_, k) =>
      L[0] * state.image[0][r][k] + L[1] * state.image[1][r][k] + L[2] * state.image[2][r][k]))];
  } else state.image = [0, 1, 2].map(() => state.image[0].map((row) => row.slice()));
  state.kernel = Array.from({ length: c }, () => state.kernel[0].map((row) => row.slice()));
  $("channels").value = String(c);
}

async function loadSample(name, keepKernel) {
  state.source = name;
  $("blank-size").hidden = name !== "blank";
  if (name === "blank") {
    const size = fieldsOr("conv", () => [intField("image-rows", 1, state.info.limits.side, "image rows"),
      intField("image-cols", 1, state.info.limits.side, "image columns")]);
    if (!size) return;
    state.image = blank(size[0], size[1]);
    state.kernel = (state.kernel || [[[0, 0, 1], [1, 0, 0], [0, 1, 1]]]).slice(0, 1);
  } else {
    const s = await api(`/api/sample?name=${encodeURIComponent(name)}`, undefined, "conv");
    if (!s) return;
    state.image = s.image;
    if (!keepKernel) { state.kernel = [s.kernel]; state.kernelName = "seed detector"; }
    state.kernel = s.image.map(() => state.kernel[0].map((row) => row.slice()));
  }
  $("channels").value = String(state.image.length);
  $("kernel-name").value = state.kernelName;
  buildKernelEditor();
  state.step = -1;
  await updateConv();
}

async function setKernel(name) {
  let k;
  state.kernelName = name;
  $("custom-size").hidden = name !== "custom";
  if (name === "seed detector") k = (await api("/api/sample?name=seed", undefined, "conv")).kernel;
  else if (name === "custom") {
    const size = fieldsOr("conv", () => [intField("kernel-rows", 1, state.info.limits.kernel, "kernel rows"),
      intField("kernel-cols", 1, state.info.limits.kernel, "kernel columns")]);
    if (!size) return;
    const [n, m] = size;     // an impulse in the middle: the map starts as a copy of the image
    k = Array.from({ length: n }, (_, r) => Array.from({ length: m }, (_, c) => (r === (n - 1) >> 1 && c === (m - 1) >> 1 ? 1 : 0)));
  } else {
    const got = await api(`/api/kernel?name=${encodeURIComponent(name)}`, undefined, "conv");
    if (!got) return;
    k = got.kernel;
  }
  state.kernel = state.image.map(() => k.map((row) => row.slice()));
  buildKernelEditor();
  await updateConv();
}

function buildKernelEditor() {
  const box = $("kernel-editor");
  const planes = state.kernel.map((plane, ch) => {
    const rows = plane.map((row, r) => el("tr", {}, ...row.map((v, c) => {
      const input = el("input", { type: "number", step: "any", value: String(Math.round(v * 1e4) / 1e4 === v ? v : v.toFixed(4)) });
      input.dataset.ch = ch; input.dataset.r = r; input.dataset.c = c;
      input.addEventListener("input", () => {
        const x = Number(input.value);
        if (input.value !== "" && Number.isFinite(x)) { state.kernel[ch][r][c] = x; updateConv(); }
      });
      return el("td", {}, input);
    })));
    return el("div", { class: "kernel-plane" }, state.kernel.length > 1 ? el("div", {}, `channel ${ch}`) : null, el("table", {}, ...rows));
  });
  box.replaceChildren(...planes);
  const k = state.kernel[0];
  $("kernel-caption").textContent = `kernel ${k.length}x${k[0].length}` +
    (state.kernel.length > 1 ? ` per channel, ${state.kernel.length} channels + bias: one CNN output map` : "") + " (edit the cells)";
}

// an uploaded picture becomes at most 32x32 RGB cells, decoded by the browser
async function readUpload(file, side) {
  if (file.size > MAX_UPLOAD_BYTES) throw new Error(`${file.name} is ${(file.size / 1048576).toFixed(1)} MB; at most 5 MB`);
  let bitmap;
  try { bitmap = await createImageBitmap(file); } catch (e) { throw new Error(`${file.name} is not an image the browser can read`); }
  if (bitmap.width * bitmap.height > 40e6) throw new Error(`${file.name} has too many pixels`);
  const scale = side / Math.max(bitmap.width, bitmap.height);
  const w = Math.max(1, Math.round(bitmap.width * scale)), h = Math.max(1, Math.round(bitmap.height * scale));
  const canvas = el("canvas", { width: w, height: h });
  const ctx = canvas.getContext("2d");
  ctx.imageSmoothingQuality = "high";
  ctx.drawImage(bitmap, 0, 0, w, h);
  const px = ctx.getImageData(0, 0, w, h).data;
  return [0, 1, 2].map((k) => Array.from({ length: h }, (_, r) => Array.from({ length: w }, (_, c) => px[4 * (r * w + c) + k] / 255)));
}

function paintAt(event) {
  const cell = cellAt($("input-canvas"), event);
  if (!cell) return;
  const p = state.conv.padding, r = cell[0] - p, c = cell[1] - p;
  if (r < 0 || c < 0 || r >= state.image[0].length || c >= state.image[0][0].length) return;
  const v = Number($("brush").value);
  if (!Number.isFinite(v) || state.image.every((plane) => plane[r][c] === v)) return;
  state.image.forEach((plane) => { plane[r][c] = v; });
  state.source = "painted";
  updateConv();
}

// ---------- ReLU, pooling, flatten, dense, softmax ----------
async function updateSteps() {
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

async function updateSoftmax() {
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

// ---------- the network ----------
function drawingPixels() {
  const small = el("canvas", { width: DRAW_SIDE, height: DRAW_SIDE });
  const ctx = small.getContext("2d");
  ctx.imageSmoothingQuality = "high";
  ctx.drawImage($("draw"), 0, 0, DRAW_SIDE, DRAW_SIDE);
  const px = ctx.getImageData(0, 0, DRAW_SIDE, DRAW_SIDE).data;
  return [Array.from({ length: DRAW_SIDE }, (_, r) => Array.from({ length: DRAW_SIDE }, (_, c) => px[4 * (r * DRAW_SIDE + c)] / 255))];
}

// how a layer's output comes from the one before, from the layer's own configuration
function layerHow(config, shapeIn, shapeOut) {
  const dims = (s) => s.join("×");
  const t = config.type;
  if (t === "Conv2D") {
    const [kh, kw] = config.kernel_size;
    return `${config.out_channels} kernels of ${config.in_channels / (config.groups || 1)}×${kh}×${kw} slide over the ${dims(shapeIn)} input ` +
      `(stride ${config.stride.join("×")}, padding ${Array.isArray(config.padding) ? config.padding.join("×") : config.padding})` +
      `${config.bias ? ", plus a bias each" : ""}: ${shapeOut[0]} maps ${shapeOut[1]}×${shapeOut[2]}`;
  }
  if (t === "ReLU") return "max(x, 0) on every cell: negative cells become 0";
  if (t === "MaxPool2D") return `each ${config.size.join("×")} window (stride ${config.stride.join("×")}) keeps its largest cell`;
  if (t === "Pool2D") return `each ${config.size.join("×")} window (stride ${config.stride.join("×")}) keeps its ${config.op}`;
  if (t === "Flatten") return `the ${dims(shapeIn)} maps read row after row into one column of ${shapeOut[0]}`;
  if (t === "Dense") return `${config.in_features} inputs × a ${config.in_features}×${config.out_features} weight matrix` +
    `${config.bias ? " + bias" : ""}: ${config.out_features} scores`;
  return `${t}: ${dims(shapeIn)} → ${dims(shapeOut)}`;
}

function legend(lo, hi, scale) {
  const bar = el("canvas", { width: 160, height: 12, class: "legend-bar" });
  const ctx = bar.getContext("2d");
  for (let x = 0; x < 160; x++) { ctx.fillStyle = colour(scale.lo + (scale.hi - scale.lo) * x / 159, scale); ctx.fillRect(x, 0, 1, 12); }
  const ends = scale.signed ? [`−${fmt(scale.hi)}`, `+${fmt(scale.hi)}`] : ["0", fmt(scale.hi)];
  return el("div", { class: "legend", data: { min: lo, max: hi } }, el("span", {}, ends[0]), bar, el("span", {}, ends[1]),
    el("span", { class: "range" }, lo === hi ? `every cell is ${fmt(lo)}` : `this layer: min ${fmt(lo)}, max ${fmt(hi)}`));
}

function layerBlock(p, layer, title, how, classes, isLast, marks) {
  const [lo, hi] = layer.range, scale = makeScale(lo, hi);
  const block = el("div", { class: "layer", data: { layer: p } },
    el("h3", {}, title), how ? el("p", { class: "how" }, how) : null, legend(lo, hi, scale));
  const maps = el("div", { class: "maps" });
  if (layer.maps) {
    layer.maps.forEach((plane, f) => {
      const side = Math.max(plane.length, plane[0].length);
      const c = el("canvas", { class: "map", data: { layer: p, map: f } });
      drawGrid(c, [plane], { cell: Math.max(3, Math.floor(72 / side)), scale });
      if (marks[f]) outline(c, marks[f]);
      maps.append(c);
    });
  } else if (layer.vector.length <= 20) {
    const names = isLast && classes.length === layer.vector.length ? classes : null;
    maps.append(el("table", { class: "vector" }, el("tr", {}, ...layer.vector.map((v, k) => {
      const td = el("td", { class: marks[k] ? "cell picked" : "cell", data: { layer: p, index: k, value: v, class: names ? names[k] : k } }, fmt(v));
      td.style.background = colour(v, scale);
      if (!light(v, scale) && !scale.signed) td.style.color = "#fff";
      return td;
    })), el("tr", {}, ...layer.vector.map((_, k) => el("th", {}, names ? names[k] : String(k))))));
  } else {
    const width = 32, rows = Math.ceil(layer.vector.length / width);
    const grid = Array.from({ length: rows }, (_, r) => Array.from({ length: width }, (_, c) => layer.vector[r * width + c] ?? 0));
    const c = el("canvas", { class: "map", data: { layer: p, map: -1 } });
    drawGrid(c, [grid], { cell: 10, scale });
    if (marks[-1]) outline(c, marks[-1]);
    maps.append(c);
    block.append(el("p", { class: "note" }, `${layer.vector.length} numbers, ${width} per row, row after row`));
  }
  block.append(maps);
  return block;
}

async function updateNetwork(image) {
  const started = performance.now();
  state.netImage = image || drawingPixels();
  const net = await api("/api/network", { image: state.netImage }, "network");
  if (!net) return;
  state.net = net;
  $("net-detail").hidden = true;
  renderNetwork(null);
  document.body.dataset.networkMs = (performance.now() - started).toFixed(1);
  document.body.dataset.networkVersion = String(Number(document.body.dataset.networkVersion || 0) + 1);
}

// marks: {page layer: {map: [[r, c, h, w, colour]]}}: the clicked cell and the window it reads
function renderNetwork(marks) {
  const net = state.net, model = state.info.model, classes = net.classes;
  const best = net.probabilities.indexOf(Math.max(...net.probabilities));
  $("probabilities").replaceChildren(...net.probabilities.map((p, k) => {
    const fill = el("span", { class: "fill" });
    fill.style.width = `${Math.round(200 * p)}px`;    // through the CSSOM: the policy refuses inline styles
    return el("div", { class: k === best ? "bar best" : "bar" }, el("span", { class: "cls" }, classes[k]), fill,
      el("span", { class: "p", data: { class: k, value: p } }, `${(100 * p).toFixed(2)}%`));
  }));
  const n = net.layers.length - 1;
  const m = marks || {};
  const blocks = [layerBlock("drawn", net.drawn, `your drawing at the model's ${net.drawn.shape.slice(1).join("×")} (as drawn, 0 black to 1 white)`, null, classes, false, {})];
  const norm = model.normalization;
  blocks.push(layerBlock(0, net.layers[0], `input ${net.layers[0].shape.join("×")}`,
    norm ? `normalised as the model was trained: (x − ${[].concat(norm.mean).map(fmt).join(", ")}) / ${[].concat(norm.std).map(fmt).join(", ")}`
      : "the drawing as the model reads it", classes, false, m[0] || {}));
  net.layers.slice(1).forEach((layer, k) => {
    const p = k + 1, shown = layer.maps && layer.maps.length < layer.shape[0] ? ` (first ${layer.maps.length} maps)` : "";
    const title = `${layer.name}: ${layer.shape.join("×")}${shown}` + (p === n && layer.vector ? " — the class scores (logits)" : "");
    blocks.push(layerBlock(p, layer, title, layerHow(model.configs[k], model.shapes[k], model.shapes[k + 1]), classes, p === n, m[p] || {}));
  });
  $("layers").replaceChildren(...blocks);
}

function outline(canvas, boxes) {
  const ctx = canvas.getContext("2d"), cell = Number(canvas.dataset.cell);
  for (const [r, c, h, w, col] of boxes) {
    ctx.strokeStyle = col; ctx.lineWidth = 2;
    ctx.strokeRect(c * cell + 1, r * cell + 1, w * cell - 2, h * cell - 2);
  }
}

// click a cell of any layer: how that cell is computed from the layer before
async function networkClick(event) {
  const target = event.target;
  if (!target.dataset || target.dataset.layer === undefined || target.dataset.layer === "drawn") return;
  const p = Number(target.dataset.layer);
  const layer = state.net.layers[p];
  let index, anchor;
  if (target.tagName === "TD") { index = [Number(target.dataset.index)]; anchor = [target, null]; }
  else {
    const cell = cellAt(target, event);
    if (!cell) return;
    index = Number(target.dataset.map) >= 0 ? [Number(target.dataset.map), ...cell] : [cell[0] * 32 + cell[1]];
    if (layer.vector && index[0] >= layer.vector.length) return;
    anchor = [target, cell];
  }
  const box = $("net-detail");
  if (p === 0) {
    const v = layer.maps[index[0]][index[1]][index[2]];
    box.replaceChildren(el("p", {}, `input map ${index[0]}, row ${index[1]}, column ${index[2]}: `, el("b", { id: "net-value", data: { value: v } }, fmt(v))));
    return showNetDetail(box, anchor);
  }
  const got = await api("/api/network", { image: state.netImage, cell: { layer: p - 1, index } }, "network", "network-detail");
  if (!got) return;
  renderNetwork(detailMarks(got.detail, p, index));
  // the canvases were redrawn: find the clicked one again
  const again = target.tagName === "TD" ? document.querySelector(`#layers td.cell[data-layer="${p}"][data-index="${index[0]}"]`)
    : document.querySelector(`#layers canvas.map[data-layer="${p}"][data-map="${target.dataset.map}"]`);
  box.replaceChildren(...netDetail(got.detail, state.net.layers[p], index));
  box.dataset.layer = p; box.dataset.index = index.join(",");
  showNetDetail(box, [again, anchor[1]]);
}

// the clicked cell (orange) and the cells of the layer before that it reads (green)
function detailMarks(d, p, index) {
  const pick = "#e07b00", read = "#00a000", marks = { [p]: {} }, before = {};
  const flatCell = (k) => [Math.floor(k / 32), k % 32, 1, 1];
  if (index.length === 3) marks[p][index[0]] = [[index[1], index[2], 1, 1, pick]];
  else marks[p][state.net.layers[p].vector.length <= 20 ? index[0] : -1] = state.net.layers[p].vector.length <= 20 ? [] : [[...flatCell(index[0]), pick]];
  if (d.kind === "conv") {
    const [kh, kw] = [d.window[0].length, d.window[0][0].length];
    for (let ch = d.channels[0]; ch < d.channels[1]; ch++)
      before[ch] = [[d.origin[0], d.origin[1], d.dilation[0] * (kh - 1) + 1, d.dilation[1] * (kw - 1) + 1, read]];
  } else if (d.kind === "pool") before[index[0]] = [[d.origin[0], d.origin[1], d.window.length, d.window[0].length, read]];
  else if (d.kind === "relu" && index.length === 3) before[index[0]] = [[index[1], index[2], 1, 1, read]];
  else if (d.kind === "flatten") before[d.source[0]] = [[d.source[1], d.source[2], 1, 1, read]];
  marks[p - 1] = before;
  if (index.length === 1 && state.net.layers[p].vector.length <= 20) marks[p][index[0]] = true;
  return marks;
}

function showNetDetail(box, [target, cell]) {
  if (cell) placeNear(box, target, cell[0], cell[1]);
  else {
    box.hidden = false;
    const r = target.getBoundingClientRect();
    box.style.left = `${Math.max(8, Math.min(r.left, document.documentElement.clientWidth - box.offsetWidth - 8)) + window.scrollX}px`;
    box.style.top = `${r.bottom + 8 + window.scrollY}px`;
  }
}

function netDetail(d, layer, index) {
  const where = index.length === 3 ? `map ${index[0]}, row ${index[1]}, column ${index[2]}` : `position ${index[0]}`;
  const value = el("b", { id: "net-value", data: { value: d.value } }, fmt(d.value));
  const close = el("button", { class: "close", title: "close (Esc)" }, "×");
  close.addEventListener("click", () => { $("net-detail").hidden = true; });
  const parts = [close, el("p", {}, `${layer.name}, ${where} = `, value)];
  if (d.kind === "conv") {
    const maps = d.channels[1] - d.channels[0] > 1 ? `input maps ${d.channels[0]}–${d.channels[1] - 1}` : `input map ${d.channels[0]}`;
    parts.push(el("p", {}, `kernel ${index[0]} laid over ${maps} at row ${d.origin[0]}, column ${d.origin[1]}` +
      (d.padding[0] || d.padding[1] ? " (the padded input)" : "")));
    d.window.forEach((w, ch) => parts.push(el("div", { class: "triple" }, table(`input map ${d.channels[0] + ch}: window`, w), " × ",
      table(`kernel ${index[0]}, plane ${ch}`, d.weight[ch]), " = ", table("products", d.products[ch], "products"))));
    parts.push(el("p", { class: "sum" }, `sum of the ${d.products.flat(2).length} products + bias ${fmt(d.bias)} = `,
      el("b", { id: "net-sum", data: { value: d.sum } }, fmt(d.sum))));
  } else if (d.kind === "dense") {
    const order = d.products.map((v, k) => k).sort((a, b) => Math.abs(d.products[b]) - Math.abs(d.products[a]));
    const shown = order.slice(0, 12);
    parts.push(el("table", { class: "products" }, el("tr", {}, ...["input", "value", "× weight", "= product"].map((t) => el("th", {}, t))),
      ...shown.map((k) => el("tr", {}, el("td", {}, String(k)), el("td", {}, fmt(d.inputs[k])), el("td", {}, fmt(d.weight[k])),
        el("td", { data: { value: d.products[k] } }, fmt(d.products[k]))))));
    if (d.products.length > shown.length) parts.push(el("p", { class: "note" }, `the ${shown.length} largest of ${d.products.length} products`));
    parts.push(el("p", { class: "sum" }, `sum of all ${d.products.length} products + bias ${fmt(d.bias)} = `,
      el("b", { id: "net-sum", data: { value: d.sum } }, fmt(d.sum))));
  } else if (d.kind === "pool") {
    parts.push(table(`the window at row ${d.origin[0]}, column ${d.origin[1]} of map ${index[0]}`, d.window));
    parts.push(el("p", { class: "sum" }, `${d.op} of the window = `, el("b", { id: "net-sum", data: { value: d.value } }, fmt(d.value))));
  } else if (d.kind === "relu") parts.push(el("p", { class: "sum" }, `max(${fmt(d.input)}, 0) = `, el("b", { id: "net-sum", data: { value: d.value } }, fmt(d.value))));
  else if (d.kind === "flatten") parts.push(el("p", {}, `taken from map ${d.source[0]}, row ${d.source[1]}, column ${d.source[2]} of the layer before`));
  return parts;
}

function setupDrawing() {
  const canvas = $("draw"), ctx = canvas.getContext("2d");
  const clear = () => { ctx.fillStyle = "#000"; ctx.fillRect(0, 0, canvas.width, canvas.height); };
  clear();
  let last = null, pending = false;
  const point = (e) => { const b = canvas.getBoundingClientRect(); return [e.clientX - b.left, e.clientY - b.top]; };
  const refresh = () => { if (pending) return; pending = true; requestAnimationFrame(() => { pending = false; updateNetwork(); }); };
  canvas.addEventListener("pointerdown", (e) => { last = point(e); canvas.setPointerCapture(e.pointerId); });
  canvas.addEventListener("pointermove", (e) => {
    if (!last) return;
    const p = point(e);
    ctx.strokeStyle = "#fff"; ctx.lineWidth = 20; ctx.lineCap = "round";
    ctx.beginPath(); ctx.moveTo(...last); ctx.lineTo(...p); ctx.stroke();
    last = p; refresh();
  });
  canvas.addEventListener("pointerup", () => { last = null; updateNetwork(); });
  $("draw-clear").addEventListener("click", () => { clear(); updateNetwork(); });
  $("draw-upload").addEventListener("change", async (e) => {
    const file = e.target.files[0];
    if (!file) return;
    try {
      const rgb = await readUpload(file, DRAW_SIDE);
      clear();
      const tmp = el("canvas", { width: rgb[0][0].length, height: rgb[0].length });
      const t = tmp.getContext("2d"), data = t.createImageData(tmp.width, tmp.height);
      rgb[0].forEach((row, r) => row.forEach((_, c) => { for (let k = 0; k < 3; k++) data.data[4 * (r * tmp.width + c) + k] = 255 * rgb[k][r][c]; data.data[4 * (r * tmp.width + c) + 3] = 255; }));
      t.putImageData(data, 0, 0);
      ctx.drawImage(tmp, 0, 0, canvas.width, canvas.height);
      updateNetwork(rgb);
    } catch (err) { showError("network", "draw-upload", err.message); }
  });
  $("layers").addEventListener("click", networkClick);
}

// ---------- continuous ----------
function plot(canvas, xs, series, yRange, opts) {
  const ctx = canvas.getContext("2d"), W = canvas.width, H = canvas.height, m = 28;
  ctx.clearRect(0, 0, W, H);
  const [x0, x1] = [xs[0], xs[xs.length - 1]], [y0, y1] = yRange;
  const X = (x) => m + (W - 2 * m) * (x - x0) / (x1 - x0), Y = (y) => H - m - (H - 2 * m) * (y - y0) / (y1 - y0);
  ctx.strokeStyle = "#999"; ctx.lineWidth = 1;
  ctx.beginPath(); ctx.moveTo(m, Y(0)); ctx.lineTo(W - m, Y(0)); ctx.stroke();
  ctx.fillStyle = "#555"; ctx.font = "11px sans-serif";
  ctx.fillText(fmt(x0), m - 6, H - 8); ctx.fillText(fmt(x1), W - m - 10, H - 8); ctx.fillText(opts.axis, W / 2, H - 8);
  for (const s of series) {
    ctx.beginPath();
    const n = s.upto === undefined ? s.y.length : s.upto;
    for (let k = 0; k < n; k++) { const px = X(s.x ? s.x[k] : xs[k]), py = Y(s.y[k]); k ? ctx.lineTo(px, py) : ctx.moveTo(px, py); }
    if (s.fill) { ctx.lineTo(X(xs[n - 1]), Y(0)); ctx.lineTo(X(xs[0]), Y(0)); ctx.closePath(); ctx.fillStyle = s.fill; ctx.fill(); }
    else { ctx.strokeStyle = s.colour; ctx.lineWidth = s.width || 2; ctx.stroke(); }
  }
  let lx = m + 6;
  for (const s of series.filter((q) => q.label)) { ctx.fillStyle = s.colour || s.fill; ctx.fillText(s.label, lx, 14); lx += ctx.measureText(s.label).width + 18; }
  if (opts.marker) {
    ctx.strokeStyle = "#888"; ctx.setLineDash([3, 3]);
    ctx.beginPath(); ctx.moveTo(X(opts.marker[0]), m); ctx.lineTo(X(opts.marker[0]), H - m); ctx.stroke(); ctx.setLineDash([]);
    if (opts.marker.length > 1) { ctx.fillStyle = "#2a9d2a"; ctx.beginPath(); ctx.arc(X(opts.marker[0]), Y(opts.marker[1]), 4, 0, 7); ctx.fill(); }
  }
}

async function updateContinuous() {
  const pair = state.info.pairs.find((q) => q.name === $("pair").value);
  const [t0, t1] = pair.range;
  const t = t0 + (t1 - t0) * Number($("t").value) / 240;
  const c = await api("/api/continuous", { pair: pair.name, t }, "continuous");
  if (!c) return;
  const top = Math.max(...c.f, ...c.g_shifted, 0.1) * 1.15;
  plot($("cont-top"), c.tau, [
    { y: c.product, fill: "rgba(42,157,42,0.35)", label: "product f(τ) g(t−τ)" },
    { y: c.f, colour: "#3b7dd8", label: "f(τ)" },
    { y: c.g_shifted, colour: "#e07b00", label: "g(t − τ)" }], [-0.05 * top, top], { axis: "τ", marker: [c.t] });
  const lo = Math.min(0, ...c.curve), hi = Math.max(...c.curve), pad = 0.1 * ((hi - lo) || 1);
  const upto = c.curve_t.filter((x) => x <= c.t).length;
  plot($("cont-bottom"), c.curve_t, [
    { y: c.curve, colour: "#ccc", width: 1 },
    { y: c.curve, colour: "#2a9d2a", upto, label: "(f*g)(t)" }], [lo - pad, hi + pad], { axis: "t", marker: [c.t, c.area] });
  $("t-value").textContent = `t = ${c.t.toFixed(3)}`;
  $("cont-area").replaceChildren(`${c.label}: shaded area = (f*g)(${c.t.toFixed(3)}) = `, el("b", { id: "area" }, c.area.toFixed(6)));
  saveState();
}

// ---------- the page state in the URL, and the setting as Python ----------
const URL_FIELDS = ["stride", "padding", "dilation", "boundary", "cval", "bias", "pool-size", "pool-stride", "pool-op",
  "classes", "label", "pair", "t", "image-rows", "image-cols", "kernel-rows", "kernel-cols"];
const matrixText = (m) => m.map((row) => row.map((v) => String(v)).join(",")).join(";");
const parseMatrix = (text) => text.split(";").map((row) => row.split(",").map(Number));

function saveState() {
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
async function loadState(query) {
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

const pyMatrix = (m) => `np.array([${m.map((row) => `[${row.map((v) => String(v)).join(", ")}]`).join(",\n    ")}])`;

// the convkit calls that compute the feature map on the screen
function pythonCode() {
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

async function copyPython() {
  const code = pythonCode();
  $("python-code").textContent = code;
  $("python-code").hidden = false;
  try { await navigator.clipboard.writeText(code); $("copy-note").textContent = "copied to the clipboard"; }
  catch (err) { $("copy-note").textContent = "select the code below and copy it"; }
}

// ---------- wiring ----------
function fillSelect(select, values, chosen) {
  select.replaceChildren(...values.map(([v, text]) => el("option", { value: v }, text)));
  if (chosen !== undefined) select.value = chosen;
}

async function start() {
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
    $("model-message").textContent = `${info.model.layers.join(" → ")}`;
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

window.addEventListener("DOMContentLoaded", start);
