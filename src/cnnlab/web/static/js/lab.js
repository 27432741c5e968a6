// Panel 6: every registered experiment, its text and figures (from /api/lab, in the page's language).

import { get, url } from "./api.js";
import { tr } from "./i18n.js";
import { set, state } from "./state.js";

const $ = (sel) => document.querySelector(sel);
let token = 0;

/** Text with `code` spans (the catalogs mark code with backticks) as DOM nodes. */
function inline(text) {
  return text.split("`").map((part, i) => {
    if (i % 2 === 0) return document.createTextNode(part);
    const code = document.createElement("code");
    code.textContent = part;
    return code;
  });
}

export async function update() {
  const list = $("#lab-list");
  let res;
  try {
    res = await get("/api/lab");
  } catch (err) {
    list.replaceChildren(item(err.message));
    return;
  }
  list.replaceChildren(
    ...res.experiments.map((e) => {
      const li = document.createElement("li");
      const b = document.createElement("button");
      b.type = "button";
      const cut = e.title.indexOf(": ");
      const head = document.createElement("strong");
      head.append(...inline(cut > 0 ? e.title.slice(0, cut) : e.title));
      b.append(head);
      if (cut > 0) {
        const rest = document.createElement("span");
        rest.append(...inline(e.title.slice(cut + 2)));
        b.append(rest);
      }
      b.dataset.exp = e.name;
      b.addEventListener("click", async () => {
        set({ exp: e.name });
        const view = $("#lab-view");
        if (window.matchMedia("(max-width: 720px)").matches) view.scrollIntoView({ block: "start" });
        await show(e.name);
      });
      li.append(b);
      return li;
    }),
  );
  if (state.exp) show(state.exp);
}

function item(text) {
  const li = document.createElement("li");
  li.className = "error";
  li.textContent = text;
  return li;
}

async function show(name) {
  for (const b of document.querySelectorAll("#lab-list button")) b.setAttribute("aria-current", String(b.dataset.exp === name));
  const view = $("#lab-view");
  const t = ++token;
  const wait = document.createElement("p");
  wait.className = "hint";
  wait.textContent = tr("lab_measuring");
  view.replaceChildren(wait);
  try {
    const res = await get(`/api/lab/${encodeURIComponent(name)}`);
    if (t !== token) return;
    const h = document.createElement("h2");
    h.append(...inline(res.title));
    const nodes = [h];
    for (const line of res.text) {
      const p = document.createElement("p");
      p.append(...inline(line));
      nodes.push(p);
    }
    for (const fig of res.figures) {
      const img = document.createElement("img");
      img.src = url(`/api/lab/${encodeURIComponent(name)}/figures/${encodeURIComponent(fig)}.png`);
      img.alt = `${res.title}: ${fig}`;
      img.loading = "lazy";
      nodes.push(img);
    }
    view.replaceChildren(...nodes);
  } catch (err) {
    if (t !== token) return;
    const p = document.createElement("p");
    p.className = "error";
    p.textContent = err.message;
    view.replaceChildren(p);
  }
}
