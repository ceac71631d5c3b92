// convkit explore: the convolution section: the map, its hover/step detail, the image and the kernel.
import { $, MAX_UPLOAD_BYTES, api, el, fieldsOr, intField, numField, state } from "./page.js";
import { cellAt, cellSize, drawGrid, fmt, makeScale, placeNear, range, table } from "./grid.js";
import { updateSteps } from "./steps.js";
import { saveState } from "./share.js";

// ---------- convolution ----------
export function convRequest() {
  return { image: state.image, kernel: state.kernel, stride: intField("stride", 1, 8, "stride"),
    padding: intField("padding", 0, 16, "padding"), dilation: intField("dilation", 1, 8, "dilation"),
    boundary: $("boundary").value, cval: numField("cval", "cval"), flip: $("flip").checked, bias: numField("bias", "bias") };
}

export async function updateConv() {
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

export function windowCells(conv, i, j) {
  // padded-image cells under the kernel for output cell (i, j): row i*stride + a*dilation
  const kh = conv.laid[0].length, kw = conv.laid[0][0].length, cells = [];
  for (let a = 0; a < kh; a++) for (let b = 0; b < kw; b++)
    cells.push([i * conv.stride + a * conv.dilation, j * conv.stride + b * conv.dilation, a, b]);
  return cells;
}

export function sideFormula(n, p, d, k, s, out) {
  return `floor((${n} + 2·${p} − ${d}·(${k} − 1) − 1) / ${s}) + 1 = ${out}`;
}

export function drawConv() {
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

export function showDetail(focus) {
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

export function stepBy(delta) {
  const n = state.conv.output.length * state.conv.output[0].length;
  state.step = ((state.step + delta) % n + n) % n;
  state.hover = null;
  drawConv();
}

export function togglePlay() {
  if (state.timer) { clearInterval(state.timer); state.timer = null; $("play").textContent = "play"; return; }
  $("play").textContent = "pause";
  state.timer = setInterval(() => stepBy(1), 450);
}

// ---------- the image and the kernel ----------
export function blank(rows, cols) { return [Array.from({ length: rows }, () => new Array(cols).fill(0))]; }

export function setChannels(c) {
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

export async function loadSample(name, keepKernel) {
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

export async function setKernel(name) {
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

export function buildKernelEditor() {
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
export async function readUpload(file, side) {
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

export function paintAt(event) {
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
