// The drawing pad: pointer events (mouse, touch, pen) paint white ink on black, like MNIST.
// It hands the drawing to the server as a grayscale grid; preparation happens in Python.

const SIDE = 280; // canvas pixels
export const GRID = 112; // what is sent: 112×112, 0..1 (area average of 2.5×2.5 canvas pixels)

export class Pad {
  constructor(canvas, { onInk, onClear }) {
    this.canvas = canvas;
    this.ctx = canvas.getContext("2d", { willReadFrequently: true });
    this.onInk = onInk;
    this.onClear = onClear;
    this.last = null;
    this.inked = false;
    this.version = 0; // bumped on every change of the ink
    this.clear(false);
    canvas.addEventListener("pointerdown", (e) => this.down(e));
    canvas.addEventListener("pointermove", (e) => this.move(e));
    for (const type of ["pointerup", "pointercancel", "lostpointercapture"]) {
      canvas.addEventListener(type, (e) => this.up(e));
    }
  }

  point(e) {
    const r = this.canvas.getBoundingClientRect();
    return [((e.clientX - r.left) * SIDE) / r.width, ((e.clientY - r.top) * SIDE) / r.height];
  }

  width(e) {
    // pen pressure thickens the stroke a little; mouse and touch report 0.5
    const p = e.pointerType === "pen" && e.pressure > 0 ? e.pressure : 0.5;
    return 16 + 10 * p;
  }

  down(e) {
    if (e.button !== 0 && e.pointerType === "mouse") return;
    e.preventDefault();
    this.canvas.setPointerCapture(e.pointerId);
    this.last = this.point(e);
    this.stroke(this.last, this.last, this.width(e));
    this.onInk(e.timeStamp || performance.now());
  }

  move(e) {
    if (!this.last) return;
    e.preventDefault();
    const events = e.getCoalescedEvents ? e.getCoalescedEvents() : [e];
    for (const ev of events.length ? events : [e]) {
      const p = this.point(ev);
      this.stroke(this.last, p, this.width(ev));
      this.last = p;
    }
    this.onInk(e.timeStamp || performance.now());
  }

  up() {
    this.last = null;
  }

  stroke(a, b, width) {
    const ctx = this.ctx;
    ctx.strokeStyle = "#fff";
    ctx.lineWidth = width;
    ctx.lineCap = "round";
    ctx.lineJoin = "round";
    ctx.beginPath();
    ctx.moveTo(a[0], a[1]);
    ctx.lineTo(b[0], b[1]);
    ctx.stroke();
    this.inked = true;
    this.version++;
  }

  clear(notify = true) {
    this.ctx.fillStyle = "#000";
    this.ctx.fillRect(0, 0, SIDE, SIDE);
    this.inked = false;
    this.version++;
    if (notify) this.onClear();
  }

  /** Paint 28×28 rows (0..1) onto the pad, e.g. a prepared input from a shared link. */
  showRows(rows) {
    const ctx = this.ctx;
    const n = rows.length;
    const cell = SIDE / n;
    ctx.fillStyle = "#000";
    ctx.fillRect(0, 0, SIDE, SIDE);
    rows.forEach((row, i) =>
      row.forEach((v, j) => {
        if (v <= 0) return;
        const g = Math.round(255 * Math.min(1, v));
        ctx.fillStyle = `rgb(${g},${g},${g})`;
        ctx.fillRect(j * cell, i * cell, cell + 0.5, cell + 0.5);
      }),
    );
    this.inked = rows.some((row) => row.some((v) => v > 0));
    this.version++;
  }

  /**
   * The drawing scaled to n×n as a binary PGM (P5) image: an uncompressed grayscale file that
   * needs no encoder here (a PNG's toBlob costs more than the request) and that Pillow reads.
   */
  pgm(n = GRID) {
    const small = document.createElement("canvas");
    small.width = small.height = n;
    const ctx = small.getContext("2d", { willReadFrequently: true });
    ctx.imageSmoothingQuality = "high";
    ctx.drawImage(this.canvas, 0, 0, n, n);
    const rgba = ctx.getImageData(0, 0, n, n).data;
    const header = new TextEncoder().encode(`P5\n${n} ${n}\n255\n`);
    const gray = new Uint8Array(n * n);
    for (let i = 0; i < n * n; i++) gray[i] = rgba[4 * i]; // white ink: red = green = blue
    return new Blob([header, gray], { type: "image/x-portable-graymap" });
  }

  /** The drawing as n×n rows of 0..1 (white ink = 1), each an area average of the canvas. */
  grid(n = GRID) {
    const data = this.ctx.getImageData(0, 0, SIDE, SIDE).data;
    const step = SIDE / n;
    const rows = [];
    for (let i = 0; i < n; i++) {
      const row = new Array(n);
      const y0 = Math.floor(i * step);
      const y1 = Math.max(y0 + 1, Math.floor((i + 1) * step));
      for (let j = 0; j < n; j++) {
        const x0 = Math.floor(j * step);
        const x1 = Math.max(x0 + 1, Math.floor((j + 1) * step));
        let sum = 0;
        for (let y = y0; y < y1; y++) for (let x = x0; x < x1; x++) sum += data[4 * (y * SIDE + x)];
        row[j] = Math.round((sum / ((y1 - y0) * (x1 - x0) * 255)) * 1000) / 1000;
      }
      rows.push(row);
    }
    return rows;
  }
}
