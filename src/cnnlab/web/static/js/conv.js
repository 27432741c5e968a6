// Panel 2: the convolution playground. The knobs go to /api/conv/geometry (output size, formula,
// the sentence for an impossible combination) and /api/conv/trace (the NumPy engine's step-by-step
// trace over a real digit patch). The page draws what comes back and computes none of it.

import { post } from "./api.js";
import { tr } from "./i18n.js";
import { drawing } from "./draw.js";
import { set, state } from "./state.js";

const $ = (sel) => document.querySelector(sel);
const KNOBS = ["size", "kernel", "padding", "stride", "dilation"];
const CELL = 24; // screen pixels per cell in the step canvases

let trace = null;
let playing = null;
let geoToken = 0;
let traceToken = 0;
let meta = null;

export function initConv(m) {
  meta = m;
  const form = $("#conv-form");
  for (const name of KNOBS) form.elements[name].value = state[name];
  const ck = form.elements.ck;
  ck.replaceChildren(
    ...["edge_v", "edge_h", "blur", "sharpen"].map((k) => option(k, "kernel_" + k)),
    ...cnnChannels().map((c) => option(`cnn:${c}`, null, `CNN #${c}`)),
  );
  ck.value = [...ck.options].some((o) => o.value === state.ck) ? state.ck : "edge_v";
  form.addEventListener("input", () => {
    const patch = {};
    for (const name of KNOBS) {
      const v = form.elements[name].value;
      if (v !== "" && Number.isFinite(Number(v))) patch[name] = Math.trunc(Number(v));
    }
    patch.ck = ck.value;
    patch.step = 0;
    set(patch);
    update();
  });
  $("#step-prev").addEventListener("click", () => go(state.step - 1));
  $("#step-next").addEventListener("click", () => go(state.step + 1));
  $("#step-play").addEventListener("click", togglePlay);
}

function cnnChannels() {
  const first = (meta.layers.cnn || []).find((l) => l.kind === "Conv2d");
  return first ? Array.from({ length: first.shape[0] }, (_, i) => i) : [];
}

function option(value, key, text) {
  const o = document.createElement("option");
  o.value = value;
  if (key) o.dataset.i18n = key;
  o.textContent = key ? tr(key) : text;
  return o;
}

/** Re-run both requests for the current knobs (on show, on knob change, on language change). */
export async function update() {
  const knobs = Object.fromEntries(KNOBS.map((k) => [k, state[k]]));
  const token = ++geoToken;
  const form = $("#conv-form");
  for (const el of form.querySelectorAll("input")) el.removeAttribute("aria-invalid");
  let geo;
  try {
    geo = await post("/api/conv/geometry", knobs);
  } catch (err) {
    if (token !== geoToken) return;
    for (const f of err.fields) {
      const el = form.elements[String(f.field).split(".").pop()];
      if (el) el.setAttribute("aria-invalid", "true");
    }
    showGeometry(null, err.fields.length ? err.fields.map((f) => `${f.field}: ${f.message}` + (f.valid ? ` (${f.valid})` : "")).join("; ") : err.message);
    clearTrace();
    return;
  }
  if (token !== geoToken) return;
  showGeometry(geo, geo.ok ? "" : geo.text);
  if (geo.ok) loadTrace(knobs);
  else clearTrace();
}

function showGeometry(geo, error) {
  $("#out-size").textContent = geo && geo.ok ? `${geo.out} × ${geo.out}` : "—";
  $("#formula").textContent = geo && geo.ok ? geo.formula : "";
  // the sentence repeats the formula shown just above it: show the words only
  const words = geo && geo.ok ? (geo.text || "").replace(geo.formula, "").replace(/\s*[:：]\s*\.?\s*$/, ".") : "";
  $("#conv-text").textContent = words.trim();
  $("#conv-error").textContent = error || "";
}

async function loadTrace(knobs) {
  const token = ++traceToken;
  const body = {
    patch: Math.max(3, Math.min(12, knobs.size)),
    kernel: state.ck,
    top: 0,
    left: 0,
    kernel_size: knobs.kernel,
    padding: knobs.padding,
    stride: knobs.stride,
    dilation: knobs.dilation,
  };
  // the patch sits in the middle of the 28×28 frame, where a centred digit has its ink
  body.top = body.left = Math.floor((28 - body.patch) / 2);
  const d = drawing();
  if (d && !d.prepare) body.pixels = d.pixels; // a prepared 28×28 drawing; otherwise the sample digit
  try {
    let res;
    try {
      res = await post("/api/conv/trace", body);
    } catch (err) {
      if (!(err.status === 422 && err.fields.some((f) => String(f.field).includes("kernel_size")))) throw err;
      delete body.kernel_size; // a server without the kernel-size knob: its default kernel size
      res = await post("/api/conv/trace", body);
    }
    if (token !== traceToken) return;
    trace = res;
    $("#trace-note").textContent = knobs.size === body.patch ? "" : tr("trace_patch_note", { n: body.patch });
    go(Math.min(state.step, res.steps.length - 1));
  } catch (err) {
    if (token !== traceToken) return;
    clearTrace();
    $("#trace-note").textContent = err.message;
  }
}

function clearTrace() {
  stop();
  trace = null;
  for (const id of ["#step-input", "#step-kernel", "#step-output"]) {
    const c = $(id);
    c.getContext("2d").clearRect(0, 0, c.width, c.height);
  }
  $("#step-arith").replaceChildren();
  $("#step-count").textContent = "";
  $(".steps").hidden = true;
}

function go(i) {
  if (!trace || !trace.steps.length) return;
  const n = trace.steps.length;
  i = ((i % n) + n) % n;
  if (i !== state.step) set({ step: i });
  $(".steps").hidden = false;
  drawStep(trace.steps[i], i);
}

function togglePlay() {
  if (playing) stop();
  else {
    playing = setInterval(() => go(state.step + 1), 700);
    $("#step-play").textContent = tr("pause");
    $("#step-play").dataset.i18n = "pause";
  }
}

function stop() {
  clearInterval(playing);
  playing = null;
  $("#step-play").textContent = tr("play");
  $("#step-play").dataset.i18n = "play";
}

export function hide() {
  stop();
}

// ---------------------------------------------------------------- drawing a step
function fmt(v) {
  const s = Math.abs(v) < 0.005 ? "0" : v.toFixed(2).replace(/\.?0+$/, "");
  return s === "-0" ? "0" : s;
}

function grid(ctx, values, x0, y0, cell, colour) {
  values.forEach((row, i) =>
    row.forEach((v, j) => {
      ctx.fillStyle = colour(v);
      ctx.fillRect(x0 + j * cell, y0 + i * cell, cell - 1, cell - 1);
    }),
  );
}

function grayOf(v) {
  const g = Math.round(255 * Math.max(0, Math.min(1, v)));
  return `rgb(${g},${g},${g})`;
}

function divergingOf(scale) {
  return (v) => {
    const a = Math.min(1, Math.abs(v) / (scale || 1));
    return v >= 0 ? `rgb(255,${Math.round(255 - 200 * a)},${Math.round(255 - 215 * a)})` : `rgb(${Math.round(255 - 215 * a)},${Math.round(255 - 150 * a)},255)`;
  };
}

function sized(canvas, w, h) {
  const dpr = window.devicePixelRatio || 1;
  canvas.width = Math.round(w * dpr);
  canvas.height = Math.round(h * dpr);
  canvas.style.width = `${w}px`;
  canvas.style.height = `${h}px`;
  const ctx = canvas.getContext("2d");
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  return ctx;
}

function drawStep(step, i) {
  const input = trace.input;
  const p = state.padding;
  const n = input.length;
  const side = n + 2 * p;
  const cell = Math.max(8, Math.min(CELL, Math.floor(Math.min(300, window.innerWidth - 80) / side)));
  // input with its padding ring (padding cells drawn dark blue-gray so they read as "not the image")
  let ctx = sized($("#step-input"), side * cell, side * cell);
  ctx.fillStyle = "#2a3140";
  ctx.fillRect(0, 0, side * cell, side * cell);
  grid(ctx, input, p * cell, p * cell, cell, grayOf);
  ctx.strokeStyle = "#ff3b7f";
  ctx.lineWidth = 2;
  step.rows.forEach((r) =>
    step.cols.forEach((c) => ctx.strokeRect((c + p) * cell + 1, (r + p) * cell + 1, cell - 3, cell - 3)),
  );
  // kernel with its numbers
  const k = trace.kernel;
  const kscale = Math.max(...k.flat().map(Math.abs)) || 1;
  const kcell = Math.max(cell, 28);
  ctx = sized($("#step-kernel"), k[0].length * kcell, k.length * kcell);
  grid(ctx, k, 0, 0, kcell, divergingOf(kscale));
  ctx.fillStyle = "#1b1f27";
  ctx.font = `${Math.round(kcell * 0.36)}px ui-monospace, monospace`;
  ctx.textAlign = "center";
  ctx.textBaseline = "middle";
  k.forEach((row, a) => row.forEach((v, b) => ctx.fillText(fmt(v), b * kcell + kcell / 2, a * kcell + kcell / 2)));
  // output: cells up to this step filled, the current one outlined
  const out = trace.output;
  const oscale = Math.max(...out.flat().map(Math.abs)) || 1;
  ctx = sized($("#step-output"), out[0].length * cell, out.length * cell);
  ctx.fillStyle = "#c9ced8"; // cells not computed yet
  ctx.fillRect(0, 0, out[0].length * cell, out.length * cell);
  const colour = divergingOf(oscale);
  ctx.font = `${Math.max(7, Math.round(cell * 0.32))}px ui-monospace, monospace`;
  ctx.textAlign = "center";
  ctx.textBaseline = "middle";
  trace.steps.slice(0, i + 1).forEach((s) => {
    ctx.fillStyle = colour(s.value);
    ctx.fillRect(s.position[1] * cell, s.position[0] * cell, cell - 1, cell - 1);
    if (cell >= 20) {
      ctx.fillStyle = "#1b1f27";
      const v = Math.abs(s.value) < 0.05 ? "0" : s.value.toFixed(1);
      ctx.fillText(v, s.position[1] * cell + cell / 2, s.position[0] * cell + cell / 2);
    }
  });
  ctx.strokeStyle = "#ff3b7f";
  ctx.lineWidth = 2;
  ctx.strokeRect(step.position[1] * cell + 1, step.position[0] * cell + 1, cell - 3, cell - 3);
  $("#step-count").textContent = tr("step_of", { i: i + 1, n: trace.steps.length });
  arithmetic(step);
}

function table(values, cls, padMask) {
  const t = document.createElement("table");
  t.className = cls;
  values.forEach((row, a) => {
    const tr_ = t.insertRow();
    row.forEach((v, b) => {
      const td = tr_.insertCell();
      td.textContent = fmt(v);
      if (padMask && padMask[a][b]) td.className = "pad";
    });
  });
  return t;
}

function arithmetic(step) {
  const box = $("#step-arith");
  const op = (s) => {
    const span = document.createElement("span");
    span.className = "op";
    span.textContent = s;
    return span;
  };
  const labelled = (node, key) => {
    const f = document.createElement("figure");
    const cap = document.createElement("figcaption");
    cap.dataset.i18n = key;
    cap.textContent = tr(key);
    f.append(node, cap);
    return f;
  };
  const sum = document.createElement("div");
  sum.className = "sum";
  const text = step.bias ? `${fmt(step.total)} + ${fmt(step.bias)} = ` : "";
  sum.innerHTML = `<span class="big">${text}<strong>${fmt(step.value)}</strong></span>`;
  box.replaceChildren(
    labelled(table(step.window, "win", step.is_padding), "step_window"),
    op("×"),
    labelled(table(trace.kernel, "ker"), "step_kernel"),
    op("="),
    labelled(table(step.products, "prod"), "step_products"),
    op("Σ"),
    labelled(sum, "step_sum"),
  );
}
