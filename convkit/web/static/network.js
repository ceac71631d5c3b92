// convkit explore: the network section: a trained model's layers for a drawing, and the detail of a clicked cell.
import { $, DRAW_SIDE, api, el, showError, state } from "./page.js";
import { cellAt, colour, drawGrid, fmt, light, makeScale, placeNear, table } from "./grid.js";
import { readUpload } from "./conv.js";

const VECTOR_TABLE = 20;   // a vector this short is a labelled table of numbers (the class scores)
const GRID_WIDTH = 32;     // a longer one wraps into a grid of this many cells per row

// ---------- the network ----------
export function drawingPixels() {
  const small = el("canvas", { width: DRAW_SIDE, height: DRAW_SIDE });
  const ctx = small.getContext("2d");
  ctx.imageSmoothingQuality = "high";
  ctx.drawImage($("draw"), 0, 0, DRAW_SIDE, DRAW_SIDE);
  const px = ctx.getImageData(0, 0, DRAW_SIDE, DRAW_SIDE).data;
  return [Array.from({ length: DRAW_SIDE }, (_, r) => Array.from({ length: DRAW_SIDE }, (_, c) => px[4 * (r * DRAW_SIDE + c)] / 255))];
}

// how a layer's output comes from the one before, from the layer's own configuration
export function layerHow(config, shapeIn, shapeOut) {
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

export function legend(lo, hi, scale) {
  const bar = el("canvas", { width: 160, height: 12, class: "legend-bar" });
  const ctx = bar.getContext("2d");
  for (let x = 0; x < 160; x++) { ctx.fillStyle = colour(scale.lo + (scale.hi - scale.lo) * x / 159, scale); ctx.fillRect(x, 0, 1, 12); }
  const ends = scale.signed ? [`−${fmt(scale.hi)}`, `+${fmt(scale.hi)}`] : ["0", fmt(scale.hi)];
  return el("div", { class: "legend", data: { min: lo, max: hi } }, el("span", {}, ends[0]), bar, el("span", {}, ends[1]),
    el("span", { class: "range" }, lo === hi ? `every cell is ${fmt(lo)}` : `this layer: min ${fmt(lo)}, max ${fmt(hi)}`));
}

export function layerBlock(p, layer, title, how, classes, isLast, marks) {
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
  } else if (layer.vector.length <= VECTOR_TABLE) {
    const names = isLast && classes.length === layer.vector.length ? classes : null;
    maps.append(el("table", { class: "vector" }, el("tr", {}, ...layer.vector.map((v, k) => {
      const td = el("td", { class: marks[k] ? "cell picked" : "cell", data: { layer: p, index: k, value: v, class: names ? names[k] : k } }, fmt(v));
      td.style.background = colour(v, scale);
      if (!light(v, scale)) td.style.color = "#fff";
      return td;
    })), el("tr", {}, ...layer.vector.map((_, k) => el("th", {}, names ? names[k] : String(k))))));
  } else {
    const width = GRID_WIDTH, rows = Math.ceil(layer.vector.length / width);
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

export async function updateNetwork(image) {
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
export function renderNetwork(marks) {
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

export function outline(canvas, boxes) {
  const ctx = canvas.getContext("2d"), cell = Number(canvas.dataset.cell);
  for (const [r, c, h, w, col] of boxes) {
    ctx.strokeStyle = col; ctx.lineWidth = 2;
    ctx.strokeRect(c * cell + 1, r * cell + 1, w * cell - 2, h * cell - 2);
  }
}

// click a cell of any layer: how that cell is computed from the layer before
export async function networkClick(event) {
  const target = event.target;
  if (!target.dataset || target.dataset.layer === undefined || target.dataset.layer === "drawn") return;
  const p = Number(target.dataset.layer);
  const layer = state.net.layers[p];
  let index, anchor;
  if (target.tagName === "TD") { index = [Number(target.dataset.index)]; anchor = [target, null]; }
  else {
    const cell = cellAt(target, event);
    if (!cell) return;
    index = Number(target.dataset.map) >= 0 ? [Number(target.dataset.map), ...cell] : [cell[0] * GRID_WIDTH + cell[1]];
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
export function detailMarks(d, p, index) {
  const pick = "#e07b00", read = "#00a000", marks = { [p]: {} }, before = {};
  if (index.length === 3) marks[p][index[0]] = [[index[1], index[2], 1, 1, pick]];
  else if (state.net.layers[p].vector.length <= VECTOR_TABLE) marks[p][index[0]] = true;     // a table cell
  else marks[p][-1] = [[Math.floor(index[0] / GRID_WIDTH), index[0] % GRID_WIDTH, 1, 1, pick]];
  if (d.kind === "conv") {
    const [kh, kw] = [d.window[0].length, d.window[0][0].length];
    for (let ch = d.channels[0]; ch < d.channels[1]; ch++)
      before[ch] = [[d.origin[0], d.origin[1], d.dilation[0] * (kh - 1) + 1, d.dilation[1] * (kw - 1) + 1, read]];
  } else if (d.kind === "pool") before[index[0]] = [[d.origin[0], d.origin[1], d.window.length, d.window[0].length, read]];
  else if (d.kind === "relu" && index.length === 3) before[index[0]] = [[index[1], index[2], 1, 1, read]];
  else if (d.kind === "flatten") before[d.source[0]] = [[d.source[1], d.source[2], 1, 1, read]];
  marks[p - 1] = before;
  return marks;
}

export function showNetDetail(box, [target, cell]) {
  if (cell) placeNear(box, target, cell[0], cell[1]);
  else {
    box.hidden = false;
    const r = target.getBoundingClientRect();
    box.style.left = `${Math.max(8, Math.min(r.left, document.documentElement.clientWidth - box.offsetWidth - 8)) + window.scrollX}px`;
    box.style.top = `${r.bottom + 8 + window.scrollY}px`;
  }
}

export function netDetail(d, layer, index) {
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

export function setupDrawing() {
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
