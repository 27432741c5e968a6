// Panel 3: hover (or focus and arrow-key) a feature-map cell → its receptive field on the input.
// The box comes from /api/rf (cnnlab.inspect.receptive_field); the page only places it.

import { post } from "./api.js";
import { tr } from "./i18n.js";

const $ = (sel) => document.querySelector(sel);
let rfCache = new Map();
let cnnId = () => "cnn";
let status = () => {};

export function initRf(modelId, report) {
  cnnId = modelId;
  status = report;
}

export function resetRf() {
  rfCache = new Map();
}

/** Make one map (wrap: a channel's canvas holder, h×w cells) answer pointer and keyboard. */
export function attachRf(wrap, layer, h, w, tabStop) {
  wrap.tabIndex = tabStop ? 0 : -1; // one tab stop per layer; arrow keys move the cell
  wrap.addEventListener("pointermove", (e) => hoverCell(e, layer, wrap, h, w));
  wrap.addEventListener("pointerleave", () => {
    // the keyboard's cell stays shown when the pointer passes over (or the page scrolls)
    const focused = document.activeElement;
    if (focused && focused.classList.contains("map") && focused._cell) focused.dispatchEvent(new Event("focus"));
    else hideRf();
  });
  wrap.addEventListener("keydown", (e) => keyCell(e, layer, wrap, h, w));
  wrap.addEventListener("focus", () => showRf(layer, wrap, h, w, wrap._cell || [Math.floor(h / 2), Math.floor(w / 2)]));
  wrap.addEventListener("blur", () => hideRf());
}

function cellAt(e, wrap, h, w) {
  const r = wrap.getBoundingClientRect();
  const y = Math.min(h - 1, Math.max(0, Math.floor(((e.clientY - r.top) / r.height) * h)));
  const x = Math.min(w - 1, Math.max(0, Math.floor(((e.clientX - r.left) / r.width) * w)));
  return [y, x];
}

function hoverCell(e, layer, wrap, h, w) {
  const cell = cellAt(e, wrap, h, w);
  if (wrap._cell && wrap._cell[0] === cell[0] && wrap._cell[1] === cell[1] && !$("#rf-box").hidden) return;
  showRf(layer, wrap, h, w, cell);
}

function keyCell(e, layer, wrap, h, w) {
  const moves = { ArrowUp: [-1, 0], ArrowDown: [1, 0], ArrowLeft: [0, -1], ArrowRight: [0, 1] };
  if (!(e.key in moves)) return;
  e.preventDefault();
  const [y, x] = wrap._cell || [Math.floor(h / 2), Math.floor(w / 2)];
  const [dy, dx] = moves[e.key];
  showRf(layer, wrap, h, w, [Math.min(h - 1, Math.max(0, y + dy)), Math.min(w - 1, Math.max(0, x + dx))]);
}

let rfToken = 0;
async function showRf(layer, wrap, h, w, cell) {
  wrap._cell = cell;
  let hl = wrap.querySelector(".hl");
  if (!hl) {
    hl = document.createElement("div");
    hl.className = "hl";
    wrap.append(hl);
  }
  Object.assign(hl.style, {
    top: `${(100 * cell[0]) / h}%`,
    left: `${(100 * cell[1]) / w}%`,
    width: `${100 / w}%`,
    height: `${100 / h}%`,
  });
  const key = `${layer}:${cell[0]}:${cell[1]}`;
  const token = ++rfToken;
  let rf = rfCache.get(key);
  if (!rf) {
    try {
      rf = await post("/api/rf", { model: cnnId(), layer, y: cell[0], x: cell[1] });
    } catch (err) {
      status(err.message, true);
      return;
    }
    rfCache.set(key, rf);
  }
  if (token !== rfToken) return; // a newer hover won
  const [ih, iw] = rf.image || [28, 28];
  const b = rf.box;
  const box = $("#rf-box");
  Object.assign(box.style, {
    top: `${(100 * b.top) / ih}%`,
    left: `${(100 * b.left) / iw}%`,
    height: `${(100 * (b.bottom - b.top + 1)) / ih}%`,
    width: `${(100 * (b.right - b.left + 1)) / iw}%`,
  });
  box.hidden = false;
  box.dataset.layer = layer;
  $("#rf-text").textContent = tr("rf_text", {
    layer,
    y: cell[0],
    x: cell[1],
    top: b.top,
    bottom: b.bottom,
    left: b.left,
    right: b.right,
    h: rf.size[0],
    w: rf.size[1],
  });
}

export function hideRf() {
  rfToken++;
  $("#rf-box").hidden = true;
  $("#rf-text").textContent = "";
  for (const hl of document.querySelectorAll(".map .hl")) hl.remove();
}
