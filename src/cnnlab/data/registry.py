"""The MNIST family: file names, mirrors, md5 sums, classes and licenses — one table.

md5 sums are those of the official gzip files (the same values torchvision and the datasets' own
pages publish). Debian's ``dataset-fashion-mnist`` re-compresses the files, so system copies are
validated structurally (IDX header vs payload) rather than by md5; cached downloads are md5-checked.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class FileSpec:
    filename: str
    md5: str


@dataclass(frozen=True)
class DatasetSpec:
    """One IDX dataset of 28×28 grayscale images with 10 classes."""

    name: str
    title: str
    files: dict[
        str, FileSpec
    ]  # role → file; roles: train-images, train-labels, test-images, test-labels
    mirrors: tuple[str, ...]
    classes: tuple[str, ...]
    license: str
    system_dirs: tuple[str, ...] = field(default=())  # where an OS package may have installed it

    def file(self, train: bool, kind: str) -> FileSpec:
        return self.files[f"{'train' if train else 'test'}-{kind}"]


def _files(md5s: tuple[str, str, str, str]) -> dict[str, FileSpec]:
    names = (
        "train-images-idx3-ubyte.gz",
        "train-labels-idx1-ubyte.gz",
        "t10k-images-idx3-ubyte.gz",
        "t10k-labels-idx1-ubyte.gz",
    )
    roles = ("train-images", "train-labels", "test-images", "test-labels")
    return {r: FileSpec(n, m) for r, n, m in zip(roles, names, md5s)}


REGISTRY: dict[str, DatasetSpec] = {
    "mnist": DatasetSpec(
        name="mnist",
        title="MNIST",
        files=_files(
            (
                "f68b3c2dcbeaaa9fbdd348bbdeb94873",
                "d53e105ee54ea40749a09fcbcd1e9432",
                "9fb629c4189551a2d022fa330f9573f3",
                "ec29112dd5afa0611ce80d1b7f02629c",
            )
        ),
        mirrors=(
            "https://ossci-datasets.s3.amazonaws.com/mnist/",
            "http://yann.lecun.com/exdb/mnist/",
        ),
        classes=tuple(str(d) for d in range(10)),
        license="CC BY-SA 3.0 (Yann LeCun, Corinna Cortes)",
    ),
    "fashion-mnist": DatasetSpec(
        name="fashion-mnist",
        title="Fashion-MNIST",
        files=_files(
            (
                "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
                "25c81989df183df01b3e8a0aad5dffbe",
                "bef4ecab320f06d8554ea6380940ec79",
                "bb300cfdad3c16e7a12a480ee83cd310",
            )
        ),
        mirrors=("http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",),
        classes=(
            "T-shirt/top",
            "Trouser",
            "Pullover",
            "Dress",
            "Coat",
            "Sandal",
            "Shirt",
            "Sneaker",
            "Bag",
            "Ankle boot",
        ),
        license="MIT (Zalando Research)",
        system_dirs=("/usr/share/datasets/fashion-mnist",),
    ),
    "kmnist": DatasetSpec(
        name="kmnist",
        title="Kuzushiji-MNIST",
        files=_files(
            (
                "bdb82020997e1d708af4cf47b453dcf7",
                "e144d726b3acfaa3e44228e80efcd344",
                "5c965bf0a639b31b8f53240b1b52f4d7",
                "7320c461ea6c1c855c0b718fb2a4b134",
            )
        ),
        mirrors=("http://codh.rois.ac.jp/kmnist/dataset/kmnist/",),
        classes=("o", "ki", "su", "tsu", "na", "ha", "ma", "ya", "re", "wo"),
        license="CC BY-SA 4.0 (ROIS-DS CODH)",
    ),
}


__all__ = ["FileSpec", "DatasetSpec", "REGISTRY"]
