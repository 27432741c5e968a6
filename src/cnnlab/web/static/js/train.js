// Panel 5: train a small CNN or MLP on the embedded sample; the server streams loss, accuracy and
// the first layer's kernels (server-sent events); the page plots what arrives. Stop ends the run.

import { post, url } from "./api.js";
import { tr } from "./i18n.js";
import { renderKernels } from "./draw.js";
import { decodeQ8 } from "./pixels.js";
import { set, state } from "./state.js";

const $ = (sel) => document.querySelector(sel);
let run = null; // {id, source, steps: [...], epochs: [...], total}
let onModels = null; // called when a run ends: its model is then selectable on the Draw panel

export function initTrain(meta, modelsChanged) {
  onModels = modelsChanged;
  const form = $("#train-form");
  form.elements.model.value = state.model;
  form.elements.epochs.value = state.epochs;
  form.addEventListener("input", () => set({ model: form.elements.model.value, epochs: Number(form.elements.epochs.value) || 1 }));
  $("#train-start").addEventListener("click", start);
  $("#train-stop").addEventListener("click", stop);
  draw();
}

let said = null; // the last status as a function of the language, re-rendered after a switch

function say(text, isError = false) {
  said = { render: typeof text === "function" ? text : () => text, isError };
  const el = $("#train-status");
  el.textContent = said.render();
  el.classList.toggle("error", isError);
}

async function start() {
  const form = $("#train-form");
  const body = { model: form.elements.model.value, epochs: Number(form.elements.epochs.value) };
  let res;
  try {
    res = await post("/api/train", body);
  } catch (err) {
    say(err.message, true);
    return;
  }
  if (run && run.source) run.source.close();
  run = { id: res.id, steps: [], epochs: [], total: res.epochs, model: body.model, state: "running" };
  $("#train-kernels").replaceChildren();
  $("#train-start").disabled = true;
  $("#train-stop").disabled = false;
  document.body.dataset.train = "running";
  say(() => tr("train_running", { model: body.model.toUpperCase(), epochs: res.epochs }));
  const source = new EventSource(url(`/api/train/${encodeURIComponent(res.id)}/events`));
  run.source = source;
  const mine = run;
  const on = (kind, fn) => source.addEventListener(kind, (e) => mine === run && fn(JSON.parse(e.data)));
  on("start", (d) => {
    mine.stepsTotal = d.steps;
    if (body.model !== "cnn") $("#train-kernels").replaceChildren(note(tr("train_no_kernels")));
  });
  on("step", (d) => {
    // x is the step counted over the whole run; `epoch` in a step event is the epoch under way
    d.x = d.global_step ?? d.step;
    mine.steps.push(d);
    if (d.kernels) renderKernels($("#train-kernels"), decodeQ8(d.kernels));
    say(() => tr("train_progress", { epoch: Math.min(mine.total, Math.floor(d.epoch) + 1), epochs: mine.total, step: d.x, loss: d.loss.toFixed(3), acc: (100 * d.accuracy).toFixed(1) }));
    draw();
  });
  on("epoch", (d) => {
    mine.epochs.push(d);
    if (d.kernels) renderKernels($("#train-kernels"), decodeQ8(d.kernels));
    draw();
  });
  on("end", (d) => {
    finish(d.state);
    const acc = d.val_accuracy == null ? "—" : (100 * d.val_accuracy).toFixed(1) + "%";
    say(() => tr(d.state === "stopped" ? "train_stopped" : "train_done", { acc }) + (d.model ? " " + tr("train_use", { model: d.model }) : ""));
    if (d.model && onModels) onModels();
  });
  on("error", (d) => {
    finish("error");
    say(d.message || (() => tr("train_lost")), true);
  });
  source.onerror = () => {
    if (mine === run && mine.state === "running" && source.readyState === EventSource.CLOSED) {
      finish("error");
      say(() => tr("train_lost"), true);
    }
  };
}

function note(text) {
  const p = document.createElement("p");
  p.className = "hint";
  p.textContent = text;
  return p;
}

function finish(kind) {
  if (!run) return;
  run.state = kind;
  if (run.source) run.source.close();
  $("#train-start").disabled = false;
  $("#train-stop").disabled = true;
  document.body.dataset.train = kind;
}

async function stop() {
  if (!run) return;
  $("#train-stop").disabled = true;
  try {
    await post(`/api/train/${encodeURIComponent(run.id)}/stop`, {});
    say(() => tr("train_stopping"));
  } catch (err) {
    say(err.message, true);
  }
}

/** Redraw both charts from what has arrived (also after a language change). */
export function draw() {
  if (said) $("#train-status").textContent = said.render();
  const steps = run ? run.steps : [];
  const epochs = run ? run.epochs : [];
  const total = run && run.stepsTotal ? run.stepsTotal : Math.max(1, ...steps.map((s) => s.x));
  chart($("#train-loss"), tr("train_loss"), total, [{ colour: "#3548c8", points: steps.map((s) => [s.x, s.loss]), label: tr("train_loss") }], null);
  const perEpoch = total / Math.max(1, run ? run.total : 1);
  chart($("#train-acc"), tr("train_accuracy"), total, [
    { colour: "#3548c8", points: steps.map((s) => [s.x, s.accuracy]), label: tr("train_acc_train") },
    { colour: "#b5530b", points: epochs.filter((e) => e.val_accuracy != null).map((e) => [e.epoch * perEpoch, e.val_accuracy]), label: tr("train_acc_val"), dots: true },
  ], [0, 1]);
}

function chart(canvas, title, xmax, series, yrange) {
  const dpr = window.devicePixelRatio || 1;
  const w = canvas.clientWidth || 560;
  const h = Math.round(w * 0.4);
  canvas.width = Math.round(w * dpr);
  canvas.height = Math.round(h * dpr);
  canvas.style.height = `${h}px`;
  const ctx = canvas.getContext("2d");
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  ctx.clearRect(0, 0, w, h);
  const pad = { l: 44, r: 12, t: 26, b: 22 };
  const all = series.flatMap((s) => s.points.map((p) => p[1]));
  let [y0, y1] = yrange || [0, Math.max(0.1, ...all)];
  if (!yrange) y1 *= 1.08;
  const X = (x) => pad.l + ((w - pad.l - pad.r) * x) / (xmax || 1);
  const Y = (y) => h - pad.b - ((h - pad.t - pad.b) * (y - y0)) / (y1 - y0 || 1);
  ctx.font = "12px system-ui, sans-serif";
  ctx.fillStyle = "#1b1f27";
  ctx.textBaseline = "top";
  ctx.fillText(title, pad.l, 4);
  ctx.strokeStyle = "#dde1e7";
  ctx.fillStyle = "#545c6b";
  ctx.lineWidth = 1;
  ctx.textBaseline = "middle";
  ctx.textAlign = "right";
  for (let k = 0; k <= 4; k++) {
    const y = y0 + ((y1 - y0) * k) / 4;
    ctx.beginPath();
    ctx.moveTo(pad.l, Y(y));
    ctx.lineTo(w - pad.r, Y(y));
    ctx.stroke();
    ctx.fillText(yrange ? `${Math.round(100 * y)}%` : y.toFixed(2), pad.l - 6, Y(y));
  }
  ctx.textAlign = "right";
  ctx.textBaseline = "bottom";
  ctx.fillStyle = "#545c6b";
  ctx.fillText(`${tr("train_step_axis")} ${Math.round(xmax)}`, w - pad.r, h - 4);
  ctx.textAlign = "left";
  ctx.fillText("0", pad.l, h - 4);
  let lx = w - pad.r;
  for (const s of [...series].reverse()) {
    const tw = ctx.measureText(s.label).width;
    lx -= tw + 26;
    ctx.fillStyle = s.colour;
    ctx.fillRect(lx, 9, 12, 3);
    ctx.fillStyle = "#545c6b";
    ctx.textBaseline = "top";
    ctx.fillText(s.label, lx + 16, 4);
  }
  for (const s of series) {
    if (!s.points.length) continue;
    ctx.strokeStyle = s.colour;
    ctx.fillStyle = s.colour;
    ctx.lineWidth = 2;
    ctx.beginPath();
    s.points.forEach(([x, y], i) => (i ? ctx.lineTo(X(x), Y(y)) : ctx.moveTo(X(x), Y(y))));
    if (!s.dots) ctx.stroke();
    for (const [x, y] of s.dots ? s.points : []) {
      ctx.beginPath();
      ctx.arc(X(x), Y(y), 4, 0, 2 * Math.PI);
      ctx.fill();
    }
  }
}
