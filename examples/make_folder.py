"""Make a small image folder in the layout ``folder:<path>`` reads: one sub-folder per class.

    python examples/make_folder.py shapes            # 3 classes × 150 images
    cnnlab train --data folder:shapes --epochs 12 --batch-size 32 --out runs/shapes
    cnnlab maps --model runs/shapes --data folder:shapes --out maps-shapes

Classes: ``circle``, ``square``, ``triangle`` — one filled shape per image, in a random colour on a
random background, at a random size and position, with noise. The files are what a user's own
folder looks like: mixed sizes (40–96 px, not square), PNG and JPEG, RGB and a few grayscale.
Deterministic for a given ``--seed``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

CLASSES = ("circle", "square", "triangle")


def draw_one(cls: str, rng: np.random.Generator) -> Image.Image:
    w, h = int(rng.integers(40, 97)), int(rng.integers(40, 97))
    bg = tuple(int(v) for v in rng.integers(0, 90, 3))  # dark background
    fg = tuple(int(v) for v in rng.integers(150, 256, 3))  # bright shape
    img = Image.new("RGB", (w, h), bg)
    d = ImageDraw.Draw(img)
    r = rng.uniform(0.22, 0.38) * min(w, h)  # half-size of the shape
    cx = rng.uniform(r + 1, w - r - 1)
    cy = rng.uniform(r + 1, h - r - 1)
    if cls == "circle":
        d.ellipse((cx - r, cy - r, cx + r, cy + r), fill=fg)
    elif cls == "square":
        d.rectangle((cx - r, cy - r, cx + r, cy + r), fill=fg)
    else:
        d.polygon([(cx, cy - r), (cx - r, cy + r), (cx + r, cy + r)], fill=fg)
    a = np.asarray(img, dtype=np.float64)
    a = a + rng.normal(0, 12, a.shape)  # sensor noise
    return Image.fromarray(np.clip(a, 0, 255).astype(np.uint8))


def make(root: Path, per_class: int = 150, seed: int = 0) -> Path:
    rng = np.random.default_rng(seed)
    for cls in CLASSES:
        folder = root / cls
        folder.mkdir(parents=True, exist_ok=True)
        for i in range(per_class):
            img = draw_one(cls, rng)
            if i % 10 == 9:
                img = img.convert("L")  # a few grayscale files
            if i % 2:
                img.save(folder / f"{cls}_{i:03d}.jpg", quality=90)
            else:
                img.save(folder / f"{cls}_{i:03d}.png")
    return root


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path, help="folder to create (one sub-folder per class)")
    parser.add_argument("--per-class", type=int, default=150)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    root = make(args.out, args.per_class, args.seed)
    n = sum(1 for _ in root.rglob("*.*"))
    print(f"{root}: {len(CLASSES)} classes, {n} images")


if __name__ == "__main__":
    main()
