// convkit explore: drawing numbers: formatting, the colour convention, grids on canvases, detail boxes beside a cell.
import { el } from "./page.js";

// ---------- drawing grids ----------
export function fmt(v) {
  if (Number.isInteger(v)) return String(v);
  const a = Math.abs(v);
  if (a >= 1e5 || (a > 0 && a < 1e-3)) return v.toExponential(2);
  return a >= 100 ? v.toFixed(0) : a >= 1 ? v.toFixed(2).replace(/\.?0+$/, "") : v.toFixed(3).replace(/\.?0+$/, "");
}

// a colour scale: gray from 0 (black) to the largest value (white) when nothing is negative,
// else blue above zero and red below, white at zero, symmetric around 0
export function makeScale(lo, hi) {
  if (lo >= 0) return { signed: false, lo: 0, hi: hi > 0 ? hi : 0 };
  const m = Math.max(Math.abs(lo), Math.abs(hi));
  return { signed: true, lo: -m, hi: m };
}

export function colour(v, scale) {
  if (!scale.signed) {
    const g = scale.hi > 0 ? Math.round(255 * Math.min(1, Math.max(0, v / scale.hi))) : 0;
    return `rgb(${g},${g},${g})`;
  }
  const s = Math.min(1, Math.abs(v) / scale.hi), c = Math.round(255 * (1 - s));
  return v < 0 ? `rgb(255,${c},${c})` : `rgb(${c},${c},255)`;
}

export function light(v, scale) {        // whether dark text reads on this cell
  if (!scale.signed) return scale.hi > 0 && v / scale.hi > 0.5;
  return Math.abs(v) / scale.hi < 0.6;
}

export function range(planes) {
  let lo = Infinity, hi = -Infinity;
  for (const p of planes) for (const row of p) for (const v of row) { lo = Math.min(lo, v); hi = Math.max(hi, v); }
  return [lo, hi];
}

export function cellSize(rows, cols, px) { return Math.max(4, Math.min(44, Math.floor(px / Math.max(rows, cols)))); }

// A (C, H, W) stack drawn as one canvas: RGB when C = 3 and values in [0, 1], else the first plane.
// opts: cell, scale, inner [r0, c0, h, w] (outlined), marks [[r, c, colour]], numbers (bool)
export function drawGrid(canvas, planes, opts) {
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
    ctx.textAlign = "center"; ctx.textBaseline = "middle";
    for (let r = 0; r < h; r++) for (let c = 0; c < w; c++) {
      const v = planes[0][r][c], text = fmt(v);
      // monospace digits are ~0.62 em wide: a long number gets a smaller font, never spills over
      ctx.font = `${Math.min(13, cell / 2.6, (cell - 4) / (0.62 * text.length))}px monospace`;
      ctx.fillStyle = light(v, scale) ? "#000" : "#fff";       // dark text on light cells only
      ctx.fillText(text, c * cell + cell / 2, r * cell + cell / 2);
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

export function cellAt(canvas, event) {
  const box = canvas.getBoundingClientRect(), cell = Number(canvas.dataset.cell);
  const r = Math.floor((event.clientY - box.top) / cell), c = Math.floor((event.clientX - box.left) / cell);
  if (r < 0 || c < 0 || r >= Number(canvas.dataset.rows) || c >= Number(canvas.dataset.cols)) return null;
  return [r, c];
}

// a detail box opens beside the cell it explains, inside the visible part of the page
export function placeNear(box, canvas, r, c) {
  box.hidden = false;
  const rect = canvas.getBoundingClientRect(), cell = Number(canvas.dataset.cell);
  const x = rect.left + c * cell, y = rect.top + r * cell;
  const w = box.offsetWidth, h = box.offsetHeight;
  const vw = document.documentElement.clientWidth, vh = window.innerHeight;
  const clampX = (v) => Math.max(8, Math.min(v, vw - w - 8)), clampY = (v) => Math.max(8, Math.min(v, vh - h - 8));
  // beside the picture, level with the cell; else right under it or right over it (no picture
  // hidden); only when none of these fit, over the picture next to the cell
  let left, top;
  if (rect.right + 14 + w <= vw - 8) [left, top] = [rect.right + 14, clampY(y - 10)];
  else if (rect.bottom + 24 + h <= vh - 8) [left, top] = [clampX(rect.left), rect.bottom + 24];   // under the caption
  else if (rect.top - h - 8 >= 8) [left, top] = [clampX(rect.left), rect.top - h - 8];
  else [left, top] = [clampX(x + cell + 14 + w <= vw - 8 ? x + cell + 14 : x - w - 14), clampY(y - 10)];
  box.style.left = `${left + window.scrollX}px`;
  box.style.top = `${top + window.scrollY}px`;
}

export function table(caption, rows, cls) {
  return el("table", { class: cls || "" }, el("caption", {}, caption),
    ...rows.map((row) => el("tr", {}, ...row.map((v) => el("td", { data: { value: v } }, fmt(v))))));
}
