// convkit explore: continuous convolution: f, the sliding g, their product and its area.
import { $, api, el, state } from "./page.js";
import { fmt } from "./grid.js";
import { saveState } from "./share.js";

// ---------- continuous ----------
export function plot(canvas, xs, series, yRange, opts) {
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

export async function updateContinuous() {
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
