// Panel 4a: max vs average pooling on the current drawing's maps (/api/pool: the engine pools).

import { post } from "./api.js";
import { tr } from "./i18n.js";
import { drawing, modelIds } from "./draw.js";
import { absMax, decodeQ8, paint } from "./pixels.js";
import { set, state } from "./state.js";

const $ = (sel) => document.querySelector(sel);
const CHANNELS = 4; // channels shown: enough to compare, small enough for a phone
let meta = null;
let token = 0;

export function initPool(m) {
  meta = m;
  const form = $("#pool-form");
  const layers = meta.layers.cnn || [];
  form.elements.layer.replaceChildren(
    ...layers.map((l) => {
      const o = document.createElement("option");
      o.value = l.name;
      o.textContent = `${l.name} · ${l.kind} ${l.shape.join("×")}`;
      return o;
    }),
  );
  const first = layers.find((l) => l.kind.toLowerCase().includes("relu")) || layers[0];
  form.elements.layer.value = layers.some((l) => l.name === state.player) ? state.player : first ? first.name : "";
  form.elements.kernel.value = state.pk;
  form.elements.stride.value = state.ps;
  form.addEventListener("input", () => {
    set({ player: form.elements.layer.value, pk: Number(form.elements.kernel.value) || 1, ps: Number(form.elements.stride.value) || 1 });
    update();
  });
}

export async function update() {
  const box = $("#pool");
  const d = drawing();
  $("#pool-error").textContent = "";
  if (!d) {
    box.replaceChildren(note(tr("pool_need_drawing")));
    return;
  }
  const t = ++token;
  const layer = $("#pool-form").elements.layer.value;
  try {
    const res = await post("/api/pool", { ...d, cnn: modelIds().cnn, layer, kernel: state.pk, stride: state.ps });
    if (t !== token) return;
    render(res);
  } catch (err) {
    if (t !== token) return;
    box.replaceChildren();
    $("#pool-error").textContent = err.fields && err.fields.length ? err.fields.map((f) => `${f.field}: ${f.message}`).join("; ") : err.message;
  }
}

function note(text) {
  const p = document.createElement("p");
  p.className = "hint";
  p.textContent = text;
  return p;
}

function render(res) {
  const parts = [
    ["pool_input", decodeQ8(res.input)],
    ["pool_max", decodeQ8(res.max)],
    ["pool_avg", decodeQ8(res.avg)],
  ];
  const scale = absMax(parts[0][1]); // one scale: pooled values are comparable with the map
  const rows = [];
  for (let ch = 0; ch < Math.min(CHANNELS, parts[0][1].shape[0]); ch++) {
    const row = document.createElement("div");
    row.className = "pool-row";
    for (const [key, dec] of parts) {
      const [, h, w] = dec.shape;
      const f = document.createElement("figure");
      const cv = document.createElement("canvas");
      cv.className = "pixels";
      cv.setAttribute("role", "img");
      cv.setAttribute("aria-label", `${tr(key)} ${ch}`);
      paint(cv, dec.values, h, w, { offset: ch * h * w, scale, cmap: "dark" });
      const cap = document.createElement("figcaption");
      cap.textContent = `${tr(key)} · ${h}×${w}`;
      f.append(cv, cap);
      row.append(f);
    }
    rows.push(row);
  }
  $("#pool").replaceChildren(...rows);
}
