"""``folder:<path>`` — your own images, one sub-folder per class (torchvision's ImageFolder
layout)::

    photos/
      cat/   a.jpg  b.png  …        class 0 (sub-folders in sorted order)
      dog/   c.webp …               class 1

Every image PIL reads (any size, mode, format) goes through one shown, configurable transform
(:class:`FolderOptions`, printed by :meth:`FolderOptions.describe`)::

    open → EXIF-rotate → transparent pixels onto white → gray "L" or "RGB"
      → resize to size×size            (aspect ratio not kept)
      | resize shorter side to size → centre crop size×size        (``crop=True``)
      → uint8 (C, size, size), C = 1 (gray) or 3 (rgb)

Split (reproducible, stratified): inside each class the files are sorted by path, shuffled by
``numpy.random.default_rng(seed)`` and the first ``round(n·test_fraction)`` (at least 1, at most
n − 1) form the test split. The split is recorded as the SHA-256 of each split's file list
(:meth:`FolderImages.split_record`), so a checkpoint says exactly which files it was trained on.

Errors, all DataError naming the folder or file, raised before any training: the folder is missing
or not a folder; it has no class sub-folders; only one class; a class folder with no images; a file
PIL cannot read (named; with ``skip_bad`` skipped and counted instead); more pixels than memory.

Decoding happens once per process (the train and test splits come from one decode) and, for
folders of at least ``CACHE_MIN`` images, the decoded uint8 arrays are cached as ``.npz`` under
``data_home()/folder-cache`` keyed by every file's path, size and mtime and the transform.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import warnings
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from cnnlab.data.base import LabelledArrays
from cnnlab.errors import ConfigError, DataError, os_reason

PREFIX = "folder:"
PLACEHOLDER = "folder:<path>"
MODES = ("gray", "rgb")
SIZE_RANGE = (4, 512)  # 4: the smallest a conv stack can use; 512: 786k values per RGB image
CACHE_MIN = 2000  # images from which decoded arrays are cached on disk (below, decoding is fast)
CACHE_VERSION = 1


def is_folder_name(name: str) -> bool:
    """True for ``folder:<something>``."""
    return name.startswith(PREFIX) and len(name) > len(PREFIX)


@dataclass(frozen=True)
class FolderOptions:
    """The transform and the split of a ``folder:`` dataset (everything the checkpoint records)."""

    mode: str = "gray"  # gray (1 channel) | rgb (3 channels)
    size: int = 28  # output height = width; 28 fits every built-in model's defaults
    crop: bool = False  # keep the aspect ratio: shorter side to size, then centre crop
    test_fraction: float = 0.2  # per class, rounded; at least one image of each class in each split
    seed: int = 0  # the split's shuffle: the same seed gives the same split
    skip_bad: bool = False  # skip files PIL cannot read (counted) instead of refusing the folder

    def validate(self) -> FolderOptions:
        """ConfigError naming the option and the valid values."""
        if self.mode not in MODES:
            raise ConfigError("data.folder.bad_mode", value=self.mode, valid=", ".join(MODES))
        low, high = SIZE_RANGE
        if isinstance(self.size, bool) or not isinstance(self.size, int) or not low <= self.size:
            raise ConfigError("data.folder.bad_size", value=self.size, low=low, high=high)
        if self.size > high:
            raise ConfigError("data.folder.bad_size", value=self.size, low=low, high=high)
        if not 0.0 < self.test_fraction < 1.0:
            raise ConfigError("data.folder.bad_fraction", value=self.test_fraction)
        return self

    @property
    def channels(self) -> int:
        return 3 if self.mode == "rgb" else 1

    def describe(self, lang: str | None = None) -> str:
        """The transform as one line in the user's language (printed by every face)."""
        from cnnlab.i18n import Msg, t

        resize = (
            Msg("data.folder.step.crop", size=self.size)
            if self.crop
            else Msg("data.folder.step.resize", size=self.size)
        )
        return t(
            "data.folder.transform",
            lang,
            mode=Msg(f"data.folder.mode.{self.mode}"),
            resize=resize,
            c=self.channels,
            size=self.size,
        )

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FolderOptions:
        known = {f for f in cls.__dataclass_fields__}
        return cls(**{k: v for k, v in data.items() if k in known}).validate()


# --------------------------------------------------------------------------------------------------
# scanning: classes and files, without decoding


@dataclass(frozen=True)
class Listing:
    """The class folders and their files (relative paths, sorted), before any decoding."""

    root: Path
    classes: tuple[str, ...]
    files: tuple[tuple[str, ...], ...]  # per class, paths relative to root

    def fingerprint(self) -> list[tuple[str, int, int]]:
        """(relative path, size, mtime_ns) of every file: what the cache key is made of."""
        out = []
        for names in self.files:
            for rel in names:
                st = (self.root / rel).stat()
                out.append((rel, st.st_size, st.st_mtime_ns))
        return out


NAME_KEYS = {
    "mode": "mode",
    "size": "size",
    "crop": "crop",
    "test": "test_fraction",
    "seed": "seed",
    "skip_bad": "skip_bad",
}


def split_name(name: str) -> tuple[str, FolderOptions | None]:
    """``folder:<path>[?key=value&…]`` → (path, the options the name carries, or None).

    Keys: ``mode`` (gray|rgb), ``size``, ``crop`` (alone, or =0/1/true/false), ``test`` (the test
    fraction), ``seed``, ``skip_bad``. The name alone then says how to read the folder, so every
    face that takes a dataset name (lab experiments, ``maps``, the web) reads it the same way.
    """
    body = name.removeprefix(PREFIX)
    path, sep, query = body.rpartition("?")
    if not sep:
        return body, None
    values: dict[str, Any] = {}
    for part in filter(None, query.split("&")):
        key, eq, value = part.partition("=")
        field_name = NAME_KEYS.get(key.strip())
        if field_name is None:
            raise ConfigError("data.folder.bad_key", option=key, valid=", ".join(NAME_KEYS))
        try:
            if field_name in ("crop", "skip_bad"):
                flag = value.strip().lower() if eq else "1"
                if flag not in ("1", "0", "true", "false", "yes", "no"):
                    raise ValueError(value)
                values[field_name] = flag in ("1", "true", "yes")
            elif field_name in ("size", "seed"):
                values[field_name] = int(value)
            elif field_name == "test_fraction":
                values[field_name] = float(value)
            else:
                values[field_name] = value.strip().lower()
        except ValueError as exc:
            raise ConfigError("data.folder.bad_value", option=key, value=value) from exc
    return path, FolderOptions(**values).validate()


def resolve_options(name: str, options: FolderOptions | None) -> FolderOptions:
    """The options given explicitly (``--image-mode`` etc.), else the name's, else the defaults."""
    if options is not None:
        return options.validate()
    return split_name(name)[1] or FolderOptions()


def folder_path(name: str) -> Path:
    """The folder of ``folder:<path>[?options]`` (``~`` expanded, made absolute)."""
    return Path(split_name(name)[0]).expanduser().absolute()


def list_folder(root: Path) -> Listing:
    """Class sub-folders (sorted) and their non-hidden files; DataError for a folder that does not
    exist, is not a folder, has fewer than two classes or an empty class."""
    if not root.exists():
        raise DataError("data.folder.missing", path=str(root))
    if not root.is_dir():
        raise DataError("data.folder.not_dir", path=str(root))
    try:
        subdirs = sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    except OSError as exc:
        raise DataError("data.folder.unreadable", path=str(root), reason=os_reason(exc)) from exc
    if not subdirs:
        raise DataError("data.folder.no_classes", path=str(root))
    if len(subdirs) < 2:
        raise DataError("data.folder.one_class", path=str(root), name=subdirs[0].name)
    files: list[tuple[str, ...]] = []
    for sub in subdirs:
        names = sorted(
            str(p.relative_to(root))
            for p in sub.rglob("*")
            if p.is_file() and not any(part.startswith(".") for part in p.relative_to(root).parts)
        )
        if not names:
            raise DataError("data.folder.empty_class", path=str(sub), name=sub.name)
        files.append(tuple(names))
    return Listing(root, tuple(p.name for p in subdirs), tuple(files))


# --------------------------------------------------------------------------------------------------
# decoding


def decode(path: str | os.PathLike[str], options: FolderOptions) -> np.ndarray:
    """One image file through the transform: uint8 ``(C, size, size)``.

    Raises ``OSError``/``ValueError``/PIL errors for a file that is not a readable image (the
    caller names the file); a decompression bomb is refused before its pixels are allocated.
    """
    from PIL import Image, ImageOps

    s = options.size
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        with Image.open(path) as opened:
            want = "L" if options.mode == "gray" else "RGB"
            # JPEG can decode at 1/2, 1/4, 1/8 scale directly: a 4000-px photo never decodes full
            opened.draft(want, (s, s))
            img = ImageOps.exif_transpose(opened)
            if img.mode in ("RGBA", "LA", "PA") or (img.mode == "P" and "transparency" in img.info):
                rgba = img.convert("RGBA")
                white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
                img = Image.alpha_composite(white, rgba)  # transparent = white paper
            img = img.convert(want)
            w, h = img.size
            if options.crop:
                scale = s / min(w, h)
                rw, rh = max(s, round(w * scale)), max(s, round(h * scale))
                img = img.resize((rw, rh), Image.Resampling.BICUBIC, reducing_gap=3.0)
                left, top = (rw - s) // 2, (rh - s) // 2
                img = img.crop((left, top, left + s, top + s))
            elif (w, h) != (s, s):
                img = img.resize((s, s), Image.Resampling.BICUBIC, reducing_gap=3.0)
            a = np.asarray(img, dtype=np.uint8)
    return a[None] if a.ndim == 2 else a.transpose(2, 0, 1).copy()  # (C, S, S)


@dataclass
class FolderImages:
    """Every readable image of a folder, decoded: the whole dataset before the split."""

    root: Path
    options: FolderOptions
    classes: tuple[str, ...]
    images: np.ndarray  # (N, C, S, S) uint8
    labels: np.ndarray  # (N,) int64
    files: list[str]  # (N,) paths relative to root
    skipped: list[str] = field(default_factory=list)  # unreadable files left out (skip_bad)
    cached: str = ""  # "" | "memory" | "disk": where the decoded arrays came from

    def split(self) -> tuple[np.ndarray, np.ndarray]:
        """``(train_indices, test_indices)``, stratified and seeded (module docstring)."""
        rng = np.random.default_rng(self.options.seed)
        train: list[int] = []
        test: list[int] = []
        for k in range(len(self.classes)):
            idx = np.flatnonzero(self.labels == k)  # already in sorted-path order
            idx = idx[rng.permutation(len(idx))]
            n_test = min(max(1, round(len(idx) * self.options.test_fraction)), len(idx) - 1)
            test += idx[:n_test].tolist()
            train += idx[n_test:].tolist()
        return np.sort(np.asarray(train, dtype=np.int64)), np.sort(np.asarray(test, np.int64))

    def split_record(self) -> dict[str, Any]:
        """What a checkpoint records about the data: transform, classes, split sizes and hashes."""
        tr, te = self.split()
        return {
            "path": str(self.root),
            **self.options.to_dict(),
            "classes": list(self.classes),
            "n_train": len(tr),
            "n_test": len(te),
            "skipped": len(self.skipped),
            "train_sha256": _list_hash([self.files[i] for i in tr]),
            "test_sha256": _list_hash([self.files[i] for i in te]),
        }


def _list_hash(names: list[str]) -> str:
    return hashlib.sha256("\n".join(names).encode("utf-8")).hexdigest()


_MEMO: dict[str, FolderImages] = {}  # one folder decoded per process (train and test share it)


def load_folder(name_or_path: str | os.PathLike[str], options: FolderOptions) -> FolderImages:
    """Decode every image of the folder (memoised per process, cached on disk when large)."""
    options = options.validate()
    name = str(name_or_path)
    root = folder_path(name) if is_folder_name(name) else Path(name).expanduser().absolute()
    listing = list_folder(root)
    n_files = sum(len(f) for f in listing.files)
    _check_memory(root, n_files, options)
    key = _cache_key(listing, options)
    if key in _MEMO:
        memo = _MEMO[key]
        # the decode does not depend on the split: the same arrays, this call's split options
        return FolderImages(**{**memo.__dict__, "options": options, "cached": "memory"})
    arrays = _read_cache(key) if n_files >= CACHE_MIN else None
    if arrays is None:
        loaded = _decode_all(listing, options)
        if n_files >= CACHE_MIN:
            _write_cache(key, loaded)
    else:
        loaded = FolderImages(root, options, listing.classes, *arrays, cached="disk")
    _MEMO.clear()
    _MEMO[key] = loaded
    return loaded


def _check_memory(root: Path, n: int, options: FolderOptions) -> None:
    from cnnlab.resources import mem_available

    need = n * options.channels * options.size * options.size * 2  # arrays + the float copy's half
    avail = mem_available()
    if avail is not None and need > avail // 2:
        raise DataError(
            "data.folder.too_big",
            path=str(root),
            n=n,
            c=options.channels,
            size=options.size,
            need=f"{need / 2**30:,.1f} GiB",
            avail=f"{avail / 2**30:,.1f} GiB",
        )


def _decode_all(listing: Listing, options: FolderOptions) -> FolderImages:
    from PIL import Image, UnidentifiedImageError

    images: list[np.ndarray] = []
    labels: list[int] = []
    files: list[str] = []
    skipped: list[str] = []
    for k, names in enumerate(listing.files):
        for rel in names:
            path = listing.root / rel
            try:
                images.append(decode(path, options))
            except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
                if options.skip_bad:
                    skipped.append(rel)
                    continue
                raise DataError("data.folder.bomb", path=str(path)) from exc
            except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
                if options.skip_bad:
                    skipped.append(rel)
                    continue
                raise DataError(
                    "data.folder.not_image", path=str(path), reason=os_reason(exc)
                ) from exc
            labels.append(k)
            files.append(rel)
    counts = np.bincount(np.asarray(labels, dtype=np.int64), minlength=len(listing.classes))
    for k, count in enumerate(counts):
        if count == 0:  # every file of this class was skipped
            raise DataError(
                "data.folder.empty_after_skip",
                path=str(listing.root / listing.classes[k]),
                name=listing.classes[k],
                n=len(listing.files[k]),
            )
    s, c = options.size, options.channels
    return FolderImages(
        listing.root,
        options,
        listing.classes,
        np.stack(images) if images else np.zeros((0, c, s, s), np.uint8),  # (N, C, S, S)
        np.asarray(labels, dtype=np.int64),
        files,
        skipped,
    )


def _cache_key(listing: Listing, options: FolderOptions) -> str:
    blob = json.dumps(
        [
            CACHE_VERSION,
            str(listing.root),
            options.mode,
            options.size,
            options.crop,
            options.skip_bad,
            listing.classes,
            listing.fingerprint(),
        ]
    )
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()[:32]


def _cache_file(key: str) -> Path:
    from cnnlab.data.download import data_home

    return data_home() / "folder-cache" / f"{key}.npz"


def _read_cache(key: str) -> tuple[np.ndarray, np.ndarray, list[str], list[str]] | None:
    path = _cache_file(key)
    if not path.is_file():
        return None
    try:
        with np.load(path, allow_pickle=False) as z:
            return (
                z["images"],
                z["labels"].astype(np.int64),
                [str(s) for s in z["files"]],
                [str(s) for s in z["skipped"]],
            )
    except (OSError, ValueError, KeyError):
        return None  # a damaged cache is decoded again and rewritten


def _write_cache(key: str, loaded: FolderImages) -> None:
    """Best effort: a cache that cannot be written only costs the next run a decode."""
    from cnnlab.fileio import atomic_write_bytes

    buf = io.BytesIO()
    np.savez(
        buf,
        images=loaded.images,
        labels=loaded.labels,
        files=np.asarray(loaded.files, dtype=str),
        skipped=np.asarray(loaded.skipped, dtype=str),
    )
    try:
        path = _cache_file(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_bytes(path, buf.getvalue())
    except OSError:
        pass


# --------------------------------------------------------------------------------------------------
# the Dataset


class FolderDataset(LabelledArrays):
    """One split of a ``folder:`` dataset, torchvision-style: ``ds[i] -> (tensor (C, S, S) in
    [0, 1], label)``; ``ds.images`` uint8 ``(N, S, S)`` for gray (as the MNIST family) or
    ``(N, 3, S, S)`` for rgb; ``ds.data``/``ds.targets`` as torch tensors; ``ds.classes``,
    ``ds.files`` (relative paths), ``ds.skipped`` and ``ds.record`` (what a checkpoint stores)."""

    def __init__(
        self,
        name: str,
        train: bool = True,
        options: FolderOptions | None = None,
        transform: Callable[[Any], Any] | None = None,
    ) -> None:
        options = resolve_options(name, options)
        whole = load_folder(name, options)
        tr, te = whole.split()
        idx = tr if train else te
        images = whole.images[idx]  # (n, C, S, S)
        self.name = name if is_folder_name(name) else PREFIX + name
        self.images = images[:, 0] if options.channels == 1 else images  # gray: (n, S, S)
        self.labels = whole.labels[idx]
        self.train = train
        self.transform = transform
        self.classes = whole.classes
        self.files = [whole.files[i] for i in idx]
        self.skipped = list(whole.skipped)
        self.options = options
        self.root = whole.root
        self.source = "folder"
        self.path = str(whole.root)
        self.cached = whole.cached
        self.record = whole.split_record()

    @property
    def channels(self) -> int:
        return self.options.channels

    @property
    def data(self) -> Any:
        """uint8 tensor ``(N, H, W)`` (gray) or ``(N, 3, H, W)`` (rgb), sharing memory."""
        import torch

        return torch.from_numpy(self.images)

    def __getitem__(self, index: int) -> tuple[Any, int]:
        import torch

        i = self.check_index(int(index))
        x = torch.from_numpy(self.images[i]).to(torch.float32).div_(255.0)
        if x.ndim == 2:
            x = x.unsqueeze(0)  # (H, W) -> (1, H, W)
        if self.transform is not None:
            x = self.transform(x)
        return x, int(self.labels[i])

    def __repr__(self) -> str:
        return (
            f"FolderDataset({self.path!r}, split={self.split!r}, n={len(self)}, "
            f"classes={len(self.classes)}, mode={self.options.mode!r}, size={self.options.size})"
        )


def open_folder(
    name: str,
    train: bool = True,
    transform: Callable[[Any], Any] | None = None,
    options: FolderOptions | None = None,
) -> FolderDataset:
    return FolderDataset(name, train=train, options=options, transform=transform)


def folder_classes(name: str) -> tuple[str, ...]:
    """The class names (sub-folders, sorted) of a ``folder:`` set; () when it cannot be listed."""
    try:
        return list_folder(folder_path(name)).classes
    except (DataError, ConfigError):
        return ()


def model_kwargs(name: str, options: FolderOptions | None = None) -> dict[str, int]:
    """``in_channels``, ``image_size`` and ``num_classes`` an image model needs for this folder
    (from the listing and the options; nothing is decoded)."""
    options = resolve_options(name, options)
    listing = list_folder(folder_path(name))
    return {
        "in_channels": options.channels,
        "image_size": options.size,
        "num_classes": len(listing.classes),
    }


__all__ = [
    "PREFIX",
    "PLACEHOLDER",
    "MODES",
    "FolderOptions",
    "FolderImages",
    "FolderDataset",
    "Listing",
    "is_folder_name",
    "split_name",
    "resolve_options",
    "folder_path",
    "list_folder",
    "decode",
    "load_folder",
    "open_folder",
    "model_kwargs",
    "folder_classes",
]
