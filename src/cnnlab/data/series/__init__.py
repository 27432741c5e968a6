"""Series datasets: ``mnist1d``, ``mnist1d-shuffled``, ``ucr:<Name>`` and ``csv:<path>``.

    >>> from cnnlab.data import get_dataset
    >>> ds = get_dataset("mnist1d", train=True)
    >>> x, y = ds[0]            # x: tensor (1, 40) float32, y: int
    >>> ds.series.shape         # (4000, 1, 40) float32 — fast whole-array access

Fixed names live in :data:`SERIES`; ``ucr:`` and ``csv:`` are open-ended prefixes (any set name or
file path after the colon), so name checks use :func:`is_series_name` rather than a fixed list.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from cnnlab.data.series.dataset import SeriesDataset, check_min_length, pad_series, znormalise
from cnnlab.data.series.mnist1d import MNIST1D, MNIST1DShuffled

SERIES: dict[str, type[MNIST1D]] = {"mnist1d": MNIST1D, "mnist1d-shuffled": MNIST1DShuffled}
PREFIXES = ("ucr:", "csv:")
PLACEHOLDERS = ("ucr:<Name>", "csv:<path>")  # how the open-ended names are listed


def is_series_name(name: str) -> bool:
    """True for a fixed series name or a prefix with something after the colon."""
    if name in SERIES:
        return True
    return any(name.startswith(p) and len(name) > len(p) for p in PREFIXES)


def open_series(
    name: str,
    train: bool = True,
    transform: Callable[[Any], Any] | None = None,
    *,
    label_column: str = "label",
) -> SeriesDataset:
    """Open the series dataset ``name`` (a name for which :func:`is_series_name` holds)."""
    if name in SERIES:
        return SERIES[name](train=train, transform=transform)
    if name.startswith("ucr:"):
        from cnnlab.data.series.ucr import load_ucr

        return load_ucr(name.removeprefix("ucr:"), train=train, transform=transform)
    from cnnlab.data.series.csv_series import load_csv

    return load_csv(
        name.removeprefix("csv:"), train=train, transform=transform, label_column=label_column
    )


def series_table() -> list[dict[str, Any]]:
    """One row per series set readable here: name, source, and (N, C, L) of each split.

    For ``cnnlab data list``. MNIST-1D's shapes are fixed (it is not generated just to list it);
    the UCR/UEA sets are read (a few seconds for all); without aeon there is one row saying so.
    """
    from cnnlab.data.series import mnist1d

    try:
        import mnist1d as _package  # noqa: F401  # only to know whether it can be generated
    except ImportError:
        m1d_source = "needs: pip install cnnlab[series]"
    else:
        m1d_source = "cache" if mnist1d.cache_path().exists() else "generated on first use"
    train_shape = [mnist1d.N_TRAIN, 1, mnist1d.LENGTH]
    test_shape = [mnist1d.N_TEST, 1, mnist1d.LENGTH]
    rows: list[dict[str, Any]] = [
        {"name": n, "source": m1d_source, "train": train_shape, "test": test_shape} for n in SERIES
    ]
    from cnnlab.data.series.ucr import available, load_ucr_splits
    from cnnlab.errors import DataError

    try:
        names = available()
    except DataError:
        return [*rows, {"name": "ucr:<Name>", "source": "needs: pip install cnnlab[series]"}]
    for name in names:
        train, test = load_ucr_splits(name)
        rows.append(
            {
                "name": f"ucr:{name}",
                "source": train.source,
                "train": list(train.series.shape),
                "test": list(test.series.shape),
                "classes": len(train.classes),
                "padding": train.padding,
            }
        )
    return rows


__all__ = [
    "series_table",
    "SERIES",
    "PREFIXES",
    "PLACEHOLDERS",
    "SeriesDataset",
    "MNIST1D",
    "MNIST1DShuffled",
    "is_series_name",
    "open_series",
    "check_min_length",
    "pad_series",
    "znormalise",
]
