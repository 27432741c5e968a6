// Entry point: read the state from the URL, fetch /api/meta in the chosen language, wire the panels.

import { get, setApiLang } from "./api.js";
import { apply, missing, setStrings, tr } from "./i18n.js";
import { initDraw, onPrediction, relabel } from "./draw.js";
import * as conv from "./conv.js";
import * as pool from "./pool.js";
import * as train from "./train.js";
import * as lab from "./lab.js";
import { readUrl, set, state } from "./state.js";

const PANELS = ["draw", "conv", "pool", "train", "lab"];
const $ = (sel) => document.querySelector(sel);
let meta = null;

async function loadMeta(lang) {
  setApiLang(lang);
  meta = await get("/api/meta");
  setStrings(meta.strings);
  document.documentElement.lang = meta.lang;
  document.title = `cnnlab · ${tr("tagline")}`;
  apply();
  for (const b of document.querySelectorAll("[data-lang]")) b.setAttribute("aria-pressed", String(b.dataset.lang === meta.lang));
  window.__cnnlabMissingStrings = missing();
  return meta;
}

function show(panel, focus = false) {
  if (!PANELS.includes(panel)) panel = "draw";
  for (const p of PANELS) {
    $(`#panel-${p}`).hidden = p !== panel;
    const tab = $(`#tab-${p}`);
    tab.setAttribute("aria-selected", String(p === panel));
    tab.tabIndex = p === panel ? 0 : -1;
  }
  if (focus) $(`#tab-${panel}`).focus();
  if (panel !== "conv") conv.hide();
  if (state.panel !== panel) set({ panel });
  if (panel === "conv") conv.update();
  if (panel === "pool") pool.update();
  if (panel === "train") train.draw();
  if (panel === "lab") lab.update();
}

function wireTabs() {
  const tabs = [...document.querySelectorAll('[role="tab"]')];
  for (const tab of tabs) {
    tab.addEventListener("click", () => show(tab.dataset.panel));
    tab.addEventListener("keydown", (e) => {
      const i = tabs.indexOf(tab);
      const next = { ArrowRight: i + 1, ArrowLeft: i - 1, Home: 0, End: tabs.length - 1 }[e.key];
      if (next === undefined) return;
      e.preventDefault();
      show(tabs[(next + tabs.length) % tabs.length].dataset.panel, true);
    });
  }
}

async function switchLang(lang) {
  if (lang === state.lang) return;
  set({ lang });
  await loadMeta(lang);
  relabel(meta);
  show(state.panel);
}

async function main() {
  readUrl();
  const lang = ["en", "ko"].includes(state.lang) ? state.lang : ((navigator.language || "").toLowerCase().startsWith("ko") ? "ko" : "en");
  try {
    await loadMeta(lang);
  } catch (err) {
    $("#status").textContent = err.message;
    $("#status").classList.add("error");
    return;
  }
  if (state.lang !== meta.lang) set({ lang: meta.lang });
  wireTabs();
  for (const b of document.querySelectorAll("[data-lang]")) b.addEventListener("click", () => switchLang(b.dataset.lang));
  initDraw(meta);
  conv.initConv(meta);
  pool.initPool(meta);
  train.initTrain(meta, async () => relabel(await loadMeta(state.lang)));
  onPrediction(() => {
    if (state.panel === "pool") pool.update();
  });
  show(state.panel);
  document.body.dataset.ready = "1";
}

main();
