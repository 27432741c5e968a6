// Rendering arrays the server computed as pixels: decoding the Q8 wire format and colouring.
// Nothing here computes a network concept; it only turns numbers into colours.

function bytesOf(q) {
  const text = atob(q.data);
  const bytes = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) bytes[i] = text.charCodeAt(i);
  return bytes;
}

/** Decode {shape, min, max, data: base64 uint8} into {shape, values: Float32Array, bytes}. */
export function decodeQ8(q) {
  const bytes = bytesOf(q);
  const values = new Float32Array(bytes.length);
  const scale = (q.max - q.min) / 255;
  for (let i = 0; i < bytes.length; i++) values[i] = q.min + scale * bytes[i];
  return { shape: q.shape, values, bytes, min: q.min, max: q.max };
}

/**
 * Paint every channel of a Q8 [C, H, W] array onto canvases[c], straight from the bytes through a
 * 256-entry colour table (the fast path used while drawing). One colour scale for all channels.
 */
export function paintQ8Channels(canvases, q, { cmap = "dark", scale } = {}) {
  const bytes = bytesOf(q);
  const [c, h, w] = q.shape;
  const s = scale || Math.max(Math.abs(q.min), Math.abs(q.max)) || 1;
  const colour = MAPS[cmap];
  const lut = new Uint8ClampedArray(256 * 4);
  const step = (q.max - q.min) / 255;
  for (let b = 0; b < 256; b++) {
    const [r, g, bl] = colour((q.min + step * b) / s);
    lut.set([r, g, bl, 255], 4 * b);
  }
  const n = h * w;
  for (let ch = 0; ch < Math.min(c, canvases.length); ch++) {
    const cv = canvases[ch];
    if (cv.width !== w) cv.width = w;
    if (cv.height !== h) cv.height = h;
    const ctx = cv.getContext("2d");
    const img = ctx.createImageData(w, h);
    const data = img.data;
    const base = ch * n;
    for (let i = 0; i < n; i++) {
      const k = 4 * bytes[base + i];
      data[4 * i] = lut[k];
      data[4 * i + 1] = lut[k + 1];
      data[4 * i + 2] = lut[k + 2];
      data[4 * i + 3] = 255;
    }
    ctx.putImageData(img, 0, 0);
  }
}

/** Flatten nested rows ([[...], ...]) into {h, w, values}. */
export function fromRows(rows) {
  const h = rows.length;
  const w = h ? rows[0].length : 0;
  const values = new Float32Array(h * w);
  rows.forEach((row, i) => row.forEach((v, j) => (values[i * w + j] = v)));
  return { h, w, values };
}

// Dark diverging map for feature maps: 0 → near black, positive → amber/yellow, negative → blue.
function dark(t) {
  if (t >= 0) {
    const a = Math.min(1, t);
    return [20 + 235 * a, 20 + 190 * a * a + 20 * a, 28 + 60 * a * a * a];
  }
  const a = Math.min(1, -t);
  return [20 + 40 * a, 20 + 120 * a, 28 + 227 * a];
}

// Light diverging map for kernels: negative → blue, 0 → white, positive → red.
function light(t) {
  const a = Math.min(1, Math.abs(t));
  return t >= 0 ? [255, 255 - 200 * a, 255 - 215 * a] : [255 - 215 * a, 255 - 150 * a, 255];
}

// Gray for inputs: 0 → black, 1 → white.
function gray(t) {
  const v = 255 * Math.max(0, Math.min(1, t));
  return [v, v, v];
}

const MAPS = { dark, light, gray };

/**
 * Paint h×w values (offset into a flat array) onto a canvas, one canvas pixel per value.
 * `scale` is the value that maps to full colour (symmetric around 0 for the diverging maps).
 */
export function paint(canvas, values, h, w, { offset = 0, scale = 1, cmap = "dark" } = {}) {
  if (canvas.width !== w) canvas.width = w;
  if (canvas.height !== h) canvas.height = h;
  const ctx = canvas.getContext("2d");
  const img = ctx.createImageData(w, h);
  const colour = MAPS[cmap];
  const inv = scale > 0 ? 1 / scale : 0;
  for (let i = 0; i < h * w; i++) {
    const [r, g, b] = colour(values[offset + i] * inv);
    img.data[4 * i] = r;
    img.data[4 * i + 1] = g;
    img.data[4 * i + 2] = b;
    img.data[4 * i + 3] = 255;
  }
  ctx.putImageData(img, 0, 0);
}

/** The symmetric scale of a decoded array: max |value|. */
export function absMax(decoded) {
  return Math.max(Math.abs(decoded.min), Math.abs(decoded.max)) || 1;
}

export function canvas(cls, label) {
  const c = document.createElement("canvas");
  c.className = "pixels" + (cls ? " " + cls : "");
  if (label) {
    c.setAttribute("role", "img");
    c.setAttribute("aria-label", label);
  }
  return c;
}
