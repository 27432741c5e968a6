// Rendering arrays the server computed as pixels: decoding the Q8 wire format and colouring.
// Nothing here computes a network concept; it only turns numbers into colours.

/** Decode {shape, min, max, data: base64 uint8} into {shape, values: Float32Array}. */
export function decodeQ8(q) {
  const bytes = Uint8Array.from(atob(q.data), (c) => c.charCodeAt(0));
  const values = new Float32Array(bytes.length);
  const scale = (q.max - q.min) / 255;
  for (let i = 0; i < bytes.length; i++) values[i] = q.min + scale * bytes[i];
  return { shape: q.shape, values, min: q.min, max: q.max };
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
