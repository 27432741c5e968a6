// The page's state (panel, language, knobs, shift, the 28×28 input) lives in the URL hash so a
// setup can be shared as a link and reloads as it was.

const DEFAULTS = {
  panel: "draw",
  lang: "",
  dx: 0,
  dy: 0,
  size: 7,
  kernel: 3,
  padding: 0,
  stride: 1,
  dilation: 1,
  ck: "edge_v",
  step: 0,
  player: "",
  pk: 2,
  ps: 2,
  cnn: "",
  mlp: "",
  model: "cnn",
  epochs: 2,
  exp: "",
  d: "", // the 28×28 input, 4 bits per pixel as hex (784 characters)
};

const NUMERIC = new Set(["dx", "dy", "size", "kernel", "padding", "stride", "dilation", "step", "pk", "ps", "epochs"]);

export const state = { ...DEFAULTS };
const listeners = [];

export function readUrl() {
  const params = new URLSearchParams(location.hash.replace(/^#/, ""));
  for (const key of Object.keys(DEFAULTS)) {
    if (!params.has(key)) continue;
    const raw = params.get(key);
    if (NUMERIC.has(key)) {
      const n = Number(raw);
      if (Number.isFinite(n)) state[key] = Math.trunc(n);
    } else {
      state[key] = raw;
    }
  }
}

let pending = null;
/** Write the state into the hash (debounced, replaceState: knobs do not flood the history). */
export function writeUrl() {
  clearTimeout(pending);
  pending = setTimeout(() => {
    const params = new URLSearchParams();
    for (const [key, value] of Object.entries(state)) {
      if (value !== DEFAULTS[key] && value !== "") params.set(key, String(value));
    }
    const hash = params.toString();
    history.replaceState(null, "", hash ? "#" + hash : location.pathname + location.search);
  }, 120);
}

export function set(patch) {
  Object.assign(state, patch);
  writeUrl();
  for (const fn of listeners) fn(patch);
}

export function onChange(fn) {
  listeners.push(fn);
}

/** 28×28 values in 0..1 → 784 hex digits (4 bits each); and back. */
export function packInput(values) {
  let out = "";
  for (let i = 0; i < 784; i++) out += Math.round(Math.max(0, Math.min(1, values[i] || 0)) * 15).toString(16);
  return /[1-9a-f]/.test(out) ? out : "";
}

export function unpackInput(hex) {
  if (!/^[0-9a-f]{784}$/.test(hex)) return null;
  const rows = [];
  for (let i = 0; i < 28; i++) {
    const row = [];
    for (let j = 0; j < 28; j++) row.push(parseInt(hex[i * 28 + j], 16) / 15);
    rows.push(row);
  }
  return rows;
}
