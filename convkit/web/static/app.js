// convkit explore: draws what the server computed. The page asks /api/* for every number it
// shows (feature maps, pooling winners, probabilities, areas); here are only layout, colours,
// the products of two numbers already on screen, and the user's input.
"use strict";

const $ = (id) => document.getElementById(id);
const MAX_UPLOAD_BYTES = 5 * 1024 * 1024;
const UPLOAD_SIDE = 32;            // uploads are drawn into at most 32x32 cells
const DRAW_SIDE = 28;              // the network's drawing is sent as 28x28 gray values
const state = {
  info: null, image: null, kernel: null, conv: null, steps: null, step: -1, timer: null,
  hover: null, seq: {}, source: "seed",
};

// ---------- talking to the server ----------
function showMessage(text) { $("message").textContent = text || ""; }

async function api(path, body) {
  // the answer of an older request of the same kind is dropped, so a fast slider never flickers
  const seq = (state.seq[path] = (state.seq[path] || 0) + 1);
  const options = body === undefined ? {} :
    { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) };
  const response = await fetch(path, options);
  const data = await response.json();
  if (seq !== state.seq[path]) return null;
  if (!response.ok) { showMessage(data.error || `request failed (${response.status})`); return null; }
  showMessage("");
  return data;
}

// ---------- drawing grids ----------
function fmt(v) {
  if (Number.isInteger(v)) return String(v);
  const a = Math.abs(v);
  return a >= 100 ? v.toFixed(0) : a >= 1 ? v.toFixed(2).replace(/\.?0+$/, "") : v.toFixed(3).replace(/\.?0+$/, "");
}

function colour(v, lo, hi) {
  if (lo >= 0) {                                    // images and maps without negatives: gray
    const g = hi > lo ? Math.round(255 * (v - lo) / (hi - lo)) : 128;
    return `rgb(${g},${g},${g})`;
  }
  const m = Math.max(Math.abs(lo), Math.abs(hi)) || 1;  // signed: red below zero, blue above
  const s = Math.min(1, Math.abs(v) / m);
  const c = Math.round(255 * (1 - s));
  return v < 0 ? `rgb(255,${c},${c})` : `rgb(${c},${c},255)`;
}

function range(planes) {
  let lo = Infinity, hi = -Infinity;
  for (const p of planes) for (const row of p) for (const v of row) { lo = Math.min(lo, v); hi = Math.max(hi, v); }
  return [lo, hi];
}

function cellSize(rows, cols, px) { return Math.max(4, Math.min(44, Math.floor(px / Math.max(rows, cols)))); }

// A (C, H, W) stack drawn as one canvas: RGB when C = 3, else the first plane.
// opts: cell, inner [r0, c0, h, w] (outlined), marks [[r, c, colour]], numbers (bool)
function drawGrid(canvas, planes, opts) {
  const h = planes[0].length, w = planes[0][0].length, cell = opts.cell;
  canvas.width = w * cell; canvas.height = h * cell;
  canvas.dataset.cell = cell; canvas.dataset.rows = h; canvas.dataset.cols = w;
  const ctx = canvas.getContext("2d");
  const [lo, hi] = opts.range || range(planes);
  const rgb = planes.length === 3 && lo >= 0;
  for (let r = 0; r < h; r++) {
    for (let c = 0; c < w; c++) {
      if (rgb) {
        const k = (i) => Math.round(255 * Math.min(1, Math.max(0, planes[i][r][c])));
        ctx.fillStyle = `rgb(${k(0)},${k(1)},${k(2)})`;
      } else ctx.fillStyle = colour(planes[0][r][c], lo, hi);
      ctx.fillRect(c * cell, r * cell, cell, cell);
    }
  }
  if (opts.numbers && cell >= 22 && !rgb) {
    ctx.font = `${Math.min(13, cell / 2.6)}px monospace`; ctx.textAlign = "center"; ctx.textBaseline = "middle";
    for (let r = 0; r < h; r++) for (let c = 0; c < w; c++) {
      const v = planes[0][r][c];
      const dark = lo >= 0 ? (hi > lo ? (v - lo) / (hi - lo) > 0.5 : true) : true;
      ctx.fillStyle = dark ? "#000" : "#fff";
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

// ---------- convolution ----------
const num = (id) => Number($(id).value);

function convRequest() {
  return { image: state.image, kernel: state.kernel, stride: num("stride"), padding: num("padding"),
           dilation: num("dilation"), boundary: $("boundary").value, cval: num("cval"),
           flip: $("flip").checked, bias: num("bias") };
}

async function updateConv() {
  const started = performance.now();
  const conv = await api("/api/convolution", convRequest());
  if (!conv) return;
  state.conv = conv;
  const outSize = [conv.output.length, conv.output[0].length];
  if (state.step >= outSize[0] * outSize[1]) state.step = -1;
  if (state.hover && (state.hover[0] >= outSize[0] || state.hover[1] >= outSize[1])) state.hover = null;
  drawConv();
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

function drawConv() {
  const conv = state.conv, p = conv.padding;
  const hp = conv.padded[0].length, wp = conv.padded[0][0].length;
  const ho = conv.output.length, wo = conv.output[0].length;
  const focus = state.hover || (state.step >= 0 ? [Math.floor(state.step / wo), state.step % wo] : null);
  const marks = focus ? windowCells(conv, focus[0], focus[1]).map(([r, c]) => [r, c, "#00a000"]) : [];
  drawGrid($("input-canvas"), conv.padded, { cell: cellSize(hp, wp, 380), numbers: true,
    inner: p > 0 ? [p, p, hp - 2 * p, wp - 2 * p] : null, marks, range: range(state.image) });
  drawGrid($("output-canvas"), [conv.output], { cell: cellSize(ho, wo, 300), numbers: true,
    marks: focus ? [[focus[0], focus[1], "#00a000"]] : [] });
  const h = state.image[0].length, w = state.image[0][0].length, k = conv.laid[0].length;
  $("input-caption").textContent = `image ${h}x${w}, ${state.image.length} channel(s)` +
    (p ? `, padded by ${p} (${conv.boundary}; the dashed box is the image)` : "");
  $("output-caption").textContent = `feature map ${ho}x${wo}` + (conv.flip ? " (true convolution)" : " (correlation)");
  $("shape-formula").textContent = `output side = floor((n + 2*${p} - ${conv.dilation}*(k - 1) - 1) / ${conv.stride}) + 1`
    + ` = floor((${h} + ${2 * p} - ${conv.dilation * (k - 1)} - 1) / ${conv.stride}) + 1 = ${ho}`;
  $("boundary-name").textContent = conv.boundary;
  $("boundary-picture").textContent = conv.picture;
  $("step-label").textContent = state.step >= 0 ? `step ${state.step + 1}/${ho * wo}` : "";
  showDetail(focus);
}

function showDetail(focus) {
  const box = $("hover-detail");
  if (!focus) { box.innerHTML = "<p>Hover a cell of the feature map to see its window, products and sum.</p>"; return; }
  const conv = state.conv, [i, j] = focus, cells = windowCells(conv, i, j);
  let html = `<p>feature map cell (row ${i}, column ${j}): window at padded row ${i * conv.stride}, column ${j * conv.stride}` +
    (conv.flip ? "; the kernel is turned by 180 degrees (true convolution)" : "") + "</p>";
  const terms = [];
  conv.padded.forEach((plane, ch) => {
    const kh = conv.laid[ch].length, kw = conv.laid[ch][0].length;
    const table = (title, value) => {
      const rows = [];
      for (let a = 0; a < kh; a++) {
        const tds = [];
        for (let b = 0; b < kw; b++) { const [r, c] = cells[a * kw + b]; tds.push(`<td>${fmt(value(plane[r][c], conv.laid[ch][a][b]))}</td>`); }
        rows.push(`<tr>${tds.join("")}</tr>`);
      }
      return `<table><caption>${title}</caption>${rows.join("")}</table>`;
    };
    const label = conv.padded.length > 1 ? `channel ${ch}: ` : "";
    html += `<div class="triple">${table(label + "window", (x) => x)} &times; ${table("kernel", (x, w) => w)} = ` +
      `${table("products", (x, w) => x * w)} <span>sum ${fmt(conv.partial[ch][i][j])}</span></div>`;
    terms.push(conv.partial[ch][i][j]);
  });
  const products = [];
  conv.padded.forEach((plane, ch) => cells.forEach(([r, c, a, b]) => products.push(plane[r][c] * conv.laid[ch][a][b])));
  const spelled = products.length <= 27 ? products.map(fmt).join(" + ") : `${products.length} products`;
  const channelSums = terms.length > 1 ? ` = ${terms.map(fmt).join(" + ")} (per channel)` : "";
  const bias = conv.bias !== 0 ? ` + bias ${fmt(conv.bias)}` : "";
  html += `<p class="sum">sum = ${spelled}${channelSums}${bias} = <b id="hover-sum">${conv.output[i][j]}</b></p>`;
  box.innerHTML = html;
  box.dataset.row = i; box.dataset.col = j;
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
function blank(n) { return [Array.from({ length: n }, () => new Array(n).fill(0))]; }

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

async function loadSample(name) {
  if (name.startsWith("blank")) {
    state.image = blank(Number(name.slice(5)));
    state.kernel = state.kernel || [[[0, 0, 1], [1, 0, 0], [0, 1, 1]]];
    state.kernel = state.kernel.slice(0, 1);
  } else {
    const s = await api(`/api/sample?name=${encodeURIComponent(name)}`);
    if (!s) return;
    state.image = s.image;
    state.kernel = [s.kernel];
    if (s.image.length > 1) state.kernel = s.image.map(() => s.kernel.map((row) => row.slice()));
  }
  $("channels").value = String(state.image.length);
  $("kernel-name").value = "seed detector";
  buildKernelEditor();
  state.step = -1;
  await updateConv();
}

async function setKernel(name) {
  let k;
  if (name === "seed detector") k = (await api("/api/sample?name=seed")).kernel;
  else if (name.startsWith("custom")) {
    const n = Number(name.slice(6));
    k = Array.from({ length: n }, (_, r) => Array.from({ length: n }, (_, c) => (r === (n - 1) / 2 && c === r ? 1 : 0)));
  } else {
    const got = await api(`/api/kernel?name=${encodeURIComponent(name)}`);
    if (!got) return;
    k = got.kernel;
  }
  state.kernel = state.image.map(() => k.map((row) => row.slice()));
  buildKernelEditor();
  await updateConv();
}

function buildKernelEditor() {
  const box = $("kernel-editor");
  box.innerHTML = "";
  state.kernel.forEach((plane, ch) => {
    const div = document.createElement("div");
    div.className = "kernel-plane";
    const table = document.createElement("table");
    plane.forEach((row, r) => {
      const tr = document.createElement("tr");
      row.forEach((v, c) => {
        const td = document.createElement("td"), input = document.createElement("input");
        input.type = "number"; input.step = "any"; input.value = String(Math.round(v * 1e4) / 1e4 === v ? v : v.toFixed(4));
        input.dataset.ch = ch; input.dataset.r = r; input.dataset.c = c;
        input.addEventListener("input", () => {
          const x = Number(input.value);
          if (input.value !== "" && Number.isFinite(x)) { state.kernel[ch][r][c] = x; updateConv(); }
        });
        td.appendChild(input); tr.appendChild(td);
      });
      table.appendChild(tr);
    });
    div.appendChild(table);
    if (state.kernel.length > 1) div.insertAdjacentHTML("afterbegin", `<div>channel ${ch}</div>`);
    box.appendChild(div);
  });
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
  const canvas = document.createElement("canvas");
  canvas.width = w; canvas.height = h;
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
  const v = num("brush");
  if (state.image.every((plane) => plane[r][c] === v)) return;
  state.image.forEach((plane) => { plane[r][c] = v; });
  updateConv();
}

// ---------- ReLU, pooling, flatten, softmax ----------
async function updateSteps() {
  const size = num("pool-size");
  const steps = await api("/api/steps", { map: state.conv.output, size, stride: num("pool-stride"), op: $("pool-op").value });
  if (!steps) return;
  state.steps = steps;
  const h = steps.relu.length, w = steps.relu[0].length;
  const marks = (steps.winners || []).flat().map((k) => [Math.floor(k / w), k % w, "#e07b00"]);
  drawGrid($("relu-canvas"), [steps.relu], { cell: cellSize(h, w, 300), numbers: true, marks });
  drawGrid($("pool-canvas"), [steps.pooled], { cell: cellSize(steps.pooled.length, steps.pooled[0].length, 200), numbers: true });
  $("pool-caption").textContent = `${steps.op}-pooled ${steps.pooled.length}x${steps.pooled[0].length} (${steps.size}x${steps.size} windows, stride ${steps.stride})`;
  $("flat").innerHTML = steps.flat.map((v, k) => `<div>${k}: ${fmt(v)}</div>`).join("");
  $("flat-caption").textContent = `flattened: ${steps.flat.length} numbers`;
  if ($("scores-flat").checked) $("scores").value = steps.flat.map(fmt).join(", ");
  await updateSoftmax();
}

async function updateSoftmax() {
  const scores = $("scores-flat").checked ? state.steps.flat
    : $("scores").value.split(/[\s,;]+/).filter((s) => s !== "").map(Number);
  if (scores.some((v) => !Number.isFinite(v)) || scores.length === 0) { showMessage("scores must be numbers separated by commas"); return; }
  const labels = $("label");
  if (labels.options.length !== scores.length) {
    const keep = Math.min(Number(labels.value) || 0, scores.length - 1);
    labels.innerHTML = scores.map((_, k) => `<option value="${k}">${k}</option>`).join("");
    labels.value = String(keep);
  }
  const sm = await api("/api/softmax", { scores, label: Number(labels.value) });
  if (!sm) return;
  const rows = sm.scores.map((s, k) => `<tr class="${k === sm.label ? "label" : ""}"><td>${k}</td><td>${fmt(s)}</td>` +
    `<td>${sm.exp[k].toFixed(4)}</td><td class="p">${sm.probabilities[k].toFixed(4)}</td></tr>`);
  $("softmax-table").innerHTML = `<tr><th>class</th><th>score</th><th>exp(score - max)</th><th>probability</th></tr>${rows.join("")}`;
  const p = sm.probabilities[sm.label];
  $("loss").innerHTML = `cross-entropy of label ${sm.label}: -log p<sub>${sm.label}</sub> = -log ${p.toPrecision(4)} = <b id="loss-value">${sm.loss.toFixed(4)}</b>`;
}

// ---------- the network ----------
function drawingPixels() {
  const small = document.createElement("canvas");
  small.width = DRAW_SIDE; small.height = DRAW_SIDE;
  const ctx = small.getContext("2d");
  ctx.imageSmoothingQuality = "high";
  ctx.drawImage($("draw"), 0, 0, DRAW_SIDE, DRAW_SIDE);
  const px = ctx.getImageData(0, 0, DRAW_SIDE, DRAW_SIDE).data;
  return [Array.from({ length: DRAW_SIDE }, (_, r) => Array.from({ length: DRAW_SIDE }, (_, c) => px[4 * (r * DRAW_SIDE + c)] / 255))];
}

async function updateNetwork(image) {
  const started = performance.now();
  const net = await api("/api/network", { image: image || drawingPixels() });
  if (!net) return;
  const best = net.probabilities.indexOf(Math.max(...net.probabilities));
  $("probabilities").innerHTML = net.probabilities.map((p, k) =>
    `<div class="bar${k === best ? " best" : ""}"><span class="cls">${net.classes[k]}</span>` +
    `<span class="fill"></span><span class="p" data-class="${k}" data-value="${p}">${(100 * p).toFixed(2)}%</span></div>`).join("");
  // widths through the CSSOM: the page's Content-Security-Policy refuses inline style attributes
  $("probabilities").querySelectorAll(".fill").forEach((bar, k) => { bar.style.width = `${Math.round(200 * net.probabilities[k])}px`; });
  const box = $("layers");
  box.innerHTML = "";
  for (const layer of net.layers) {
    const div = document.createElement("div");
    div.className = "layer";
    div.innerHTML = `<h3>${layer.name}: ${layer.shape.join("x")}${layer.maps && layer.maps.length < layer.shape[0] ? ` (first ${layer.maps.length} maps)` : ""}</h3>`;
    const maps = document.createElement("div");
    maps.className = "maps";
    const planes = layer.maps || [[layer.vector]];
    for (const plane of planes) {
      const c = document.createElement("canvas");
      const side = layer.maps ? Math.max(plane.length, plane[0].length) : 1;
      drawGrid(c, [plane], { cell: layer.maps ? Math.max(2, Math.floor(56 / side)) : Math.max(2, Math.min(12, Math.floor(900 / plane[0].length))) });
      maps.appendChild(c);
    }
    div.appendChild(maps);
    box.appendChild(div);
  }
  document.body.dataset.networkMs = (performance.now() - started).toFixed(1);
  document.body.dataset.networkVersion = String(Number(document.body.dataset.networkVersion || 0) + 1);
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
      const tmp = document.createElement("canvas");
      tmp.width = rgb[0][0].length; tmp.height = rgb[0].length;
      const t = tmp.getContext("2d"), data = t.createImageData(tmp.width, tmp.height);
      rgb[0].forEach((row, r) => row.forEach((_, c) => { for (let k = 0; k < 3; k++) data.data[4 * (r * tmp.width + c) + k] = 255 * rgb[k][r][c]; data.data[4 * (r * tmp.width + c) + 3] = 255; }));
      t.putImageData(data, 0, 0);
      ctx.drawImage(tmp, 0, 0, canvas.width, canvas.height);
      updateNetwork(rgb);
    } catch (err) { showMessage(err.message); }
  });
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
  const t = t0 + (t1 - t0) * num("t") / 240;
  const c = await api("/api/continuous", { pair: pair.name, t });
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
  $("cont-area").innerHTML = `${c.label}: shaded area = (f*g)(${c.t.toFixed(3)}) = <b id="area">${c.area.toFixed(6)}</b>`;
}

// ---------- wiring ----------
function fillSelect(select, values, chosen) {
  select.innerHTML = values.map(([v, text]) => `<option value="${v}">${text}</option>`).join("");
  if (chosen !== undefined) select.value = chosen;
}

async function start() {
  const info = await api("/api/info");
  if (!info) return;
  state.info = info;
  fillSelect($("image-source"), [...info.samples.map((s) => [s, s === "seed" ? "seed 7x7 (the tutorial's)" : `${s} (32x32)`]),
    ["blank7", "blank 7x7 (paint it)"], ["blank16", "blank 16x16 (paint it)"]], "seed");
  fillSelect($("kernel-name"), [["seed detector", "seed detector 3x3"], ...info.kernels.map((k) => [k.name, k.name]),
    ["custom3", "custom 3x3"], ["custom5", "custom 5x5"]]);
  fillSelect($("boundary"), info.boundaries.map((b) => [b.name, `${b.name}   ${b.picture}`]), "constant");
  fillSelect($("pool-op"), info.pool_ops.map((o) => [o, o]), "max");
  fillSelect($("pair"), info.pairs.map((p) => [p.name, p.label]));

  for (const id of ["stride", "padding", "dilation", "boundary", "cval", "flip", "bias"]) $(id).addEventListener("input", updateConv);
  for (const id of ["pool-size", "pool-stride", "pool-op"]) $(id).addEventListener("input", updateSteps);
  $("scores").addEventListener("input", () => { $("scores-flat").checked = false; updateSoftmax(); });
  $("scores-flat").addEventListener("change", updateSteps);
  $("label").addEventListener("change", updateSoftmax);
  $("image-source").addEventListener("change", (e) => loadSample(e.target.value));
  $("kernel-name").addEventListener("change", (e) => setKernel(e.target.value));
  $("channels").addEventListener("change", (e) => { setChannels(Number(e.target.value)); buildKernelEditor(); updateConv(); });
  $("upload").addEventListener("change", async (e) => {
    const file = e.target.files[0];
    if (!file) return;
    try {
      const rgb = await readUpload(file, UPLOAD_SIDE);
      state.image = rgb;
      state.kernel = rgb.map(() => state.kernel[0].map((row) => row.slice()));
      setChannels(1);
      buildKernelEditor();
      await updateConv();
    } catch (err) { showMessage(err.message); }
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
  $("pair").addEventListener("change", () => { $("t").value = "120"; updateContinuous(); });
  $("t").addEventListener("input", updateContinuous);

  if (info.model.available) {
    $("model-view").hidden = false;
    $("model-message").textContent = `${info.model.layers.join(" → ")}`;
    $("model-path").textContent = `model ${info.model.path}: input ${info.model.input_shape.join("x")}, classes ${info.model.classes.join(" ")}`;
    setupDrawing();
    await updateNetwork();
  } else $("model-message").textContent = info.model.message;

  await loadSample("seed");
  await updateContinuous();
  document.body.dataset.ready = "1";
}

window.addEventListener("DOMContentLoaded", start);
