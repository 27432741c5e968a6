// Panel 1 (+3 receptive field, +4 translation): draw → the 28×28 input → CNN and MLP
// probabilities → every layer's feature maps and the first layer's kernels, updated while drawing.
// Every number shown comes from /api/predict and /api/rf.

import { post, postForm } from "./api.js";
import { tr } from "./i18n.js";
import { Pad, GRID } from "./pad.js";
import { absMax, decodeQ8, paint, paintQ8Channels } from "./pixels.js";
import { attachRf, hideRf, initRf, resetRf } from "./rf.js";
import { packInput, set, state, unpackInput } from "./state.js";

const $ = (sel) => document.querySelector(sel);
const timings = (window.__cnnlabTimings = []);

let meta = null;
let pad = null;
let source = null; // {rows, prepare}: the last drawing, what the pool and trace panels reuse
let prepareWorks = true; // false once the server refuses `prepare` (then 28×28 area averages)
let lastResult = null;
let listeners = [];

export function onPrediction(fn) {
  listeners.push(fn);
}

/** The current drawing as a request fragment ({pixels, prepare?, shift}) or null when blank. */
export function drawing() {
  if (!source) return null;
  const body = { pixels: source.rows, shift: [state.dx, state.dy] };
  if (source.prepare) body.prepare = true;
  return body;
}

export function modelIds() {
  const models = meta.models;
  const valid = (id, slot) => models.some((m) => m.id === id && (slot === "mlp" || m.slot === slot));
  const pick = (slot) =>
    (models.find((m) => m.slot === slot && m.source === "shipped") || models.find((m) => m.slot === slot) || models[0] || {}).id;
  return {
    cnn: valid(state.cnn, "cnn") ? state.cnn : pick("cnn"),
    mlp: valid(state.mlp, "mlp") ? state.mlp : pick("mlp"),
  };
}

function modelName(id) {
  if (id === "cnn" || id === "mlp") return tr("model_" + id);
  const m = meta.models.find((x) => x.id === id);
  return m ? m.label : id;
}

/** The two model choosers (the CNN side needs conv layers; the other side takes any model). */
export function fillModelPickers(newMeta) {
  if (newMeta) meta = newMeta;
  const ids = modelIds();
  for (const slot of ["cnn", "mlp"]) {
    const select = $(`#pick-${slot}`);
    const options = meta.models.filter((m) => slot === "mlp" || m.slot === "cnn");
    select.replaceChildren(
      ...options.map((m) => {
        const o = document.createElement("option");
        o.value = m.id;
        const acc = m.test_accuracy != null ? ` · ${(100 * m.test_accuracy).toFixed(1)}%` : "";
        o.textContent = `${modelName(m.id)}${acc}`;
        return o;
      }),
    );
    select.value = ids[slot];
    select.closest("label").hidden = options.length < 2;
  }
  $(".pickers").hidden = meta.models.length < 3;
}

// ---------------------------------------------------------------- requests, throttled
let inflight = false;
let dirty = false;
let pendingSince = null;

function schedule(t) {
  if (pendingSince === null) pendingSince = t ?? performance.now();
  dirty = true;
  if (!inflight) send();
}

/**
 * The pad as a request source. With `prepare` the server prepares the drawing inside /api/predict;
 * a server without it gets the pad as an image on /api/image, which runs the same MNIST
 * preparation as `cnnlab predict` (crop to the ink, fit 20×20, centre by mass) — one more round
 * trip, but never a second implementation of the preparation here.
 */
let captured = { version: -1, source: null }; // the last capture, reused while the ink is unchanged

async function capture() {
  if (!pad.inked) return null;
  if (captured.version === pad.version && captured.prepareWorks === prepareWorks) return captured.source;
  const version = pad.version;
  let made;
  if (prepareWorks) made = { rows: pad.grid(GRID), prepare: true };
  else {
    const form = new FormData();
    form.append("file", pad.pgm(GRID), "pad.pgm");
    const res = await postForm("/api/image", form);
    made = res.ink ? { rows: res.pixels, prepare: false, prepared: true, steps: res.steps } : null;
  }
  captured = { version, source: made, prepareWorks };
  return made;
}

async function send() {
  dirty = false;
  const t0 = pendingSince;
  pendingSince = null;
  inflight = true;
  const tReq = performance.now();
  try {
    if (pad.fromPad) source = await capture();
    const tPrep = performance.now();
    if (!source) {
      clearOutputs();
      return;
    }
    const ids = modelIds();
    const body = { ...drawing(), cnn: ids.cnn, mlp: ids.mlp, maps: true };
    let res;
    try {
      res = await post("/api/predict", body);
    } catch (err) {
      if (body.prepare && err.status === 422 && prepareWorks) {
        prepareWorks = false; // a server without `prepare`: the /api/image route from now on
        dirty = true;
        pendingSince = t0;
        return;
      }
      throw err;
    }
    const tRes = performance.now();
    render(res);
    await nextPaint();
    const now = performance.now();
    timings.push({
      total: now - t0,
      fetch: tRes - tReq,
      prepare: tPrep - tReq,
      server: res._serverMs,
      render: now - tRes,
    });
    if (timings.length > 500) timings.splice(0, timings.length - 500);
    document.body.dataset.predictions = String((Number(document.body.dataset.predictions) || 0) + 1);
  } catch (err) {
    status(err.message, true);
  } finally {
    inflight = false;
    if (dirty) send();
  }
}

function nextPaint() {
  return new Promise((resolve) => requestAnimationFrame(() => setTimeout(resolve, 0)));
}

function status(text, isError = false) {
  const el = $("#status");
  el.textContent = text || "";
  el.classList.toggle("error", isError);
}

// ---------------------------------------------------------------- rendering
function clearOutputs() {
  lastResult = null;
  $("#probs").replaceChildren(emptyNote());
  $("#maps").replaceChildren();
  $("#kernels").replaceChildren();
  const input = $("#input28");
  input.getContext("2d").clearRect(0, 0, input.width, input.height);
  hideRf();
  showSteps(null);
  $("#sr-prediction").textContent = "";
  set({ d: "" });
}

function emptyNote() {
  const p = document.createElement("p");
  p.className = "hint";
  p.textContent = tr("empty_pad");
  return p;
}

function render(res) {
  lastResult = res;
  status("");
  if (res.ink === false || !res.cnn) {
    clearOutputs();
    return;
  }
  const input = decodeQ8(res.input);
  paint($("#input28"), input.values, 28, 28, { cmap: "gray", scale: 1 });
  // the URL keeps the prepared drawing before the shift (the shift has its own keys)
  if (source && source.prepared) set({ d: packInput(source.rows.flat()) });
  else if (res.prepared) set({ d: packInput(decodeQ8(res.prepared).values) });
  else if (!state.dx && !state.dy) set({ d: packInput(input.values) });
  showSteps(source && source.steps);
  renderProbs(res);
  renderMaps(res.layers || []);
  if (res.kernels) renderKernels($("#kernels"), decodeQ8(res.kernels));
  for (const fn of listeners) fn(res);
}

/** The server's preparation steps (named in the page's language by the server), when it sent names. */
function showSteps(steps) {
  const named = (steps || []).filter((s) => s.label);
  $("#prep-steps").textContent = named.map((s) => `${s.label} ${s.size[0]}×${s.size[1]}`).join(" → ");
}

function top(probs) {
  let best = 0;
  probs.forEach((p, i) => {
    if (p > probs[best]) best = i;
  });
  return best;
}

function renderProbs(res) {
  const box = $("#probs");
  const cols = [];
  const summary = [];
  for (const [slot, cls] of [["cnn", "col-cnn"], ["mlp", "col-mlp"]]) {
    const out = res[slot];
    if (!out) continue;
    const best = top(out.probs);
    const label = out.classes ? out.classes[best] : String(best);
    const name = modelName(out.model || slot);
    summary.push(`${name}: ${label} (${(100 * out.probs[best]).toFixed(0)}%)`);
    const col = document.createElement("div");
    col.className = cls;
    col.dataset.slot = slot;
    col.innerHTML = `<h3></h3>
      <p class="verdict" data-top="${label}">${label} <small>${(100 * out.probs[best]).toFixed(1)}%</small></p>`;
    col.querySelector("h3").textContent = name;
    out.probs.forEach((p, i) => {
      const row = document.createElement("div");
      row.className = "bar" + (i === best ? " best" : "");
      const cls = out.classes ? out.classes[i] : String(i);
      row.innerHTML = `<span class="mono">${cls}</span><span class="track"><span class="fill" style="width:${(100 * p).toFixed(1)}%"></span></span><span class="pct mono">${(100 * p).toFixed(1)}%</span>`;
      col.append(row);
    });
    cols.push(col);
  }
  box.replaceChildren(...cols);
  announce(summary.join(" · "));
}

let announceTimer = null;
function announce(text) {
  // a screen reader hears the prediction once the drawing pauses, not 20 times a second
  clearTimeout(announceTimer);
  announceTimer = setTimeout(() => ($("#sr-prediction").textContent = text), 700);
}

function layerTitle(layer) {
  const [c, h, w] = layer.map.shape;
  return `${layer.name} · ${layer.kind} <span class="mono">${c}×${h}×${w}</span>`;
}

function renderMaps(layers) {
  const box = $("#maps");
  const same =
    box.children.length === layers.length &&
    layers.every((l, i) => box.children[i].dataset.layer === l.name && box.children[i].querySelectorAll("canvas").length === l.map.shape[0]);
  if (!same) box.replaceChildren(...layers.map(buildLayer));
  layers.forEach((layer, i) => paintQ8Channels(box.children[i].querySelectorAll("canvas"), layer.map, { cmap: "dark" }));
}

function rfLayer(name) {
  const info = (meta.layers.cnn || []).find((l) => l.name === name);
  return info ? info.rf : false;
}

function buildLayer(layer) {
  const [c, h, w] = layer.map.shape;
  const div = document.createElement("div");
  div.className = "layer";
  div.dataset.layer = layer.name;
  div.innerHTML = `<h3>${layerTitle(layer)}</h3>`;
  const cells = document.createElement("div");
  cells.className = "cells";
  const hasRf = rfLayer(layer.name);
  for (let ch = 0; ch < c; ch++) {
    const wrap = document.createElement("div");
    wrap.className = "map";
    wrap.dataset.channel = String(ch);
    const cv = document.createElement("canvas");
    cv.className = "pixels";
    cv.width = w;
    cv.height = h;
    wrap.append(cv);
    wrap.setAttribute("role", "img");
    wrap.setAttribute("aria-label", `${layer.name} ${tr("channel")} ${ch}`);
    if (hasRf) attachRf(wrap, layer.name, h, w, ch === 0);
    cells.append(wrap);
  }
  div.append(cells);
  return div;
}

export function renderKernels(box, decoded) {
  const [cout, cin, kh, kw] = decoded.shape;
  const scale = absMax(decoded);
  if (box.children.length !== cout) {
    box.replaceChildren(
      ...Array.from({ length: cout }, (_, i) => {
        const cv = document.createElement("canvas");
        cv.className = "pixels";
        cv.setAttribute("role", "img");
        cv.setAttribute("aria-label", `${tr("kernel")} ${i}`);
        return cv;
      }),
    );
  }
  [...box.children].forEach((cv, o) => paint(cv, decoded.values, kh, kw, { offset: o * cin * kh * kw, scale, cmap: "light" }));
}

// ---------------------------------------------------------------- translation
function shiftTo(dx, dy) {
  const max = (meta.limits && meta.limits.shift_max) || 8;
  dx = Math.max(-max, Math.min(max, dx));
  dy = Math.max(-max, Math.min(max, dy));
  if (dx === state.dx && dy === state.dy) return;
  set({ dx, dy });
  showShift();
  schedule(performance.now());
}

function showShift() {
  $("#shift-value").textContent = `dx = ${state.dx}, dy = ${state.dy}`;
}

function arrowShift(e) {
  const moves = { ArrowUp: [0, -1], ArrowDown: [0, 1], ArrowLeft: [-1, 0], ArrowRight: [1, 0] };
  if (!(e.key in moves)) return;
  e.preventDefault();
  shiftTo(state.dx + moves[e.key][0], state.dy + moves[e.key][1]);
}

function dragShift(canvas) {
  let start = null;
  canvas.addEventListener("pointerdown", (e) => {
    canvas.setPointerCapture(e.pointerId);
    start = { x: e.clientX, y: e.clientY, dx: state.dx, dy: state.dy };
  });
  canvas.addEventListener("pointermove", (e) => {
    if (!start) return;
    const r = canvas.getBoundingClientRect();
    const px = r.width / 28; // one input pixel on screen
    shiftTo(start.dx + Math.round((e.clientX - start.x) / px), start.dy + Math.round((e.clientY - start.y) / px));
  });
  for (const type of ["pointerup", "pointercancel"]) canvas.addEventListener(type, () => (start = null));
}

// ---------------------------------------------------------------- setup
export function initDraw(m) {
  meta = m;
  initRf(() => modelIds().cnn, status);
  pad = new Pad($("#pad"), {
    onInk: (t) => {
      pad.fromPad = true;
      schedule(t);
    },
    onClear: () => {
      pad.fromPad = true;
      source = null;
      set({ dx: 0, dy: 0 });
      showShift();
      schedule(performance.now());
    },
  });
  $("#clear").addEventListener("click", () => pad.clear());
  $("#pad").addEventListener("keydown", arrowShift);
  const input = $("#input28");
  input.parentElement.tabIndex = 0;
  input.parentElement.addEventListener("keydown", arrowShift);
  input.style.cursor = "grab";
  input.style.touchAction = "none";
  dragShift(input);
  for (const b of document.querySelectorAll("[data-shift]")) {
    b.addEventListener("click", () => {
      const [dx, dy] = b.dataset.shift.split(",").map(Number);
      if (dx === 0 && dy === 0) shiftTo(0, 0);
      else shiftTo(state.dx + dx, state.dy + dy);
    });
  }
  $("#upload").addEventListener("change", upload);
  fillModelPickers();
  for (const slot of ["cnn", "mlp"]) {
    $(`#pick-${slot}`).addEventListener("change", (e) => {
      set({ [slot]: e.target.value });
      resetRf(); // another CNN may have another geometry
      refresh();
    });
  }
  showShift();
  const rows = state.d ? unpackInput(state.d) : null;
  if (rows) {
    // a shared link: the 28×28 input it was made with, as it is (no second preparation)
    pad.showRows(rows);
    pad.fromPad = false;
    source = { rows, prepare: false };
    schedule(performance.now());
  } else {
    clearOutputs();
  }
}

/** Called after the language changes: labels inside built content, and a fresh prediction. */
export function relabel(newMeta) {
  fillModelPickers(newMeta);
  if (lastResult) render(lastResult);
  else clearOutputs();
}

async function upload(e) {
  const file = e.target.files && e.target.files[0];
  if (!file) return;
  const form = new FormData();
  form.append("file", file);
  try {
    const res = await postForm("/api/image", form);
    if (!res.ink) {
      status(tr("upload_no_ink"), true);
      return;
    }
    pad.showRows(res.pixels);
    pad.fromPad = false;
    source = { rows: res.pixels, prepare: false, prepared: true, steps: res.steps };
    set({ dx: 0, dy: 0 });
    showShift();
    schedule(performance.now());
  } catch (err) {
    status(err.message, true);
  } finally {
    e.target.value = "";
  }
}

export function refresh() {
  if (source || pad.inked) schedule(performance.now());
}
