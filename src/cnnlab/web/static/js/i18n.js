// UI strings come from the server (/api/meta → strings: catalog keys web.ui.<name>, sent as <name>) in the chosen
// language; this module only looks them up and applies them to the DOM.

let strings = {};

export function setStrings(value) {
  strings = value || {};
}

/** The string for `name` with {placeholders} filled; the name itself when missing. */
export function tr(name, params = {}) {
  const text = strings[name];
  if (text === undefined) return name;
  return text.replace(/\{(\w+)(?:[:|][^}]*)?\}/g, (m, key) => (key in params ? String(params[key]) : m));
}

export function has(name) {
  return name in strings;
}

/** Fill [data-i18n] text and [data-i18n-aria] labels under root. */
export function apply(root = document) {
  for (const el of root.querySelectorAll("[data-i18n]")) el.textContent = tr(el.dataset.i18n);
  for (const el of root.querySelectorAll("[data-i18n-aria]")) el.setAttribute("aria-label", tr(el.dataset.i18nAria));
}

/** Names used in the DOM that the server did not send (the browser test asserts none). */
export function missing(root = document) {
  const names = new Set();
  for (const el of root.querySelectorAll("[data-i18n]")) names.add(el.dataset.i18n);
  for (const el of root.querySelectorAll("[data-i18n-aria]")) names.add(el.dataset.i18nAria);
  return [...names].filter((n) => !has(n));
}
