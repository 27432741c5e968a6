"""Numbers to JSON and back: the one converter for experiment numbers, model specs and engine
traces.

:func:`to_jsonable` turns a value — a frozen dataclass of numbers, lists, tuples, dicts, NumPy
arrays and scalars, torch tensors — into plain JSON types. NaN and ±inf become ``null`` (JSON has no
NaN). Large arrays can go to a sidecar instead of the JSON: pass an ``arrays`` dict and every array
with more than :data:`SIDECAR_MIN` elements is stored there under its dotted path and replaced by a
reference ``{"$array": "padding.maps", "shape": [3, 26, 26], "dtype": "float32"}``; the caller saves
``arrays`` as an ``.npz`` next to the JSON.

:func:`from_json` is the inverse, driven by the dataclass's type hints: ``tuple[int, ...]`` comes
back a tuple, ``np.ndarray`` an array (from the sidecar or from a nested list), ``float`` ``null`` a
NaN. So ``from_json(T, to_jsonable(x)) == x`` for every numbers dataclass (see :func:`equal`).
"""

from __future__ import annotations

import dataclasses
import enum
import math
import types
import typing
from pathlib import PurePath
from typing import Any

import numpy as np

SIDECAR_MIN = (
    256  # arrays with more elements go to the sidecar when one is given; small ones stay legible
)
ARRAY_REF = "$array"


def to_jsonable(value: Any, arrays: dict[str, np.ndarray] | None = None, path: str = "") -> Any:
    """``value`` as JSON types; big arrays into ``arrays`` (if given) under their dotted
    ``path``."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {
            f.name: to_jsonable(getattr(value, f.name), arrays, _join(path, f.name))
            for f in dataclasses.fields(value)
        }
    if isinstance(value, dict):
        return {str(k): to_jsonable(v, arrays, _join(path, str(k))) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_jsonable(v, arrays, _join(path, str(i))) for i, v in enumerate(value)]
    if isinstance(value, enum.Enum):
        return to_jsonable(value.value, arrays, path)
    if isinstance(value, PurePath):
        return str(value)
    if isinstance(value, np.ndarray):
        if arrays is not None and value.size > SIDECAR_MIN:
            key = path or f"array{len(arrays)}"
            arrays[key] = value
            return {ARRAY_REF: key, "shape": list(value.shape), "dtype": str(value.dtype)}
        return to_jsonable(value.tolist())
    if hasattr(value, "detach") and hasattr(
        value, "numpy"
    ):  # a torch tensor, without importing torch
        return to_jsonable(value.detach().cpu().numpy(), arrays, path)
    if hasattr(value, "tolist"):  # NumPy scalars
        return to_jsonable(value.tolist())
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def from_json(tp: Any, data: Any, arrays: typing.Mapping[str, np.ndarray] | None = None) -> Any:
    """Rebuild a value of type ``tp`` (a dataclass, or any hint it uses) from :func:`to_jsonable`'s
    output; sidecar references are looked up in ``arrays``."""
    if tp is Any or tp is object:
        return data
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin in (typing.Union, types.UnionType):
        if data is None and type(None) in args:
            return None
        options = [a for a in args if a is not type(None)]
        if len(options) == 1:
            return from_json(options[0], data, arrays)
        for option in options:  # the first option the data fits
            try:
                return from_json(option, data, arrays)
            except (TypeError, ValueError, KeyError):
                continue
        raise ValueError(f"{data!r} fits none of {tp}")
    if isinstance(tp, type) and dataclasses.is_dataclass(tp):
        if not isinstance(data, dict):
            raise TypeError(f"{tp.__name__}: expected an object, got {type(data).__name__}")
        hints = typing.get_type_hints(tp)
        kwargs = {
            f.name: from_json(hints[f.name], data[f.name], arrays)
            for f in dataclasses.fields(tp)
            if f.init and f.name in data
        }
        return tp(**kwargs)
    if tp is np.ndarray or origin is np.ndarray:
        if isinstance(data, dict) and ARRAY_REF in data:
            if arrays is None or data[ARRAY_REF] not in arrays:
                raise KeyError(f"array {data[ARRAY_REF]!r} is missing from the sidecar")
            return np.asarray(arrays[data[ARRAY_REF]])
        return _array(data)
    if origin is tuple:
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(from_json(args[0], v, arrays) for v in data)
        if args:
            return tuple(from_json(a, v, arrays) for a, v in zip(args, data, strict=True))
        return tuple(data)
    if origin is list:
        return [from_json(args[0] if args else Any, v, arrays) for v in data]
    if origin is dict:
        value_type = args[1] if args else Any
        return {k: from_json(value_type, v, arrays) for k, v in data.items()}
    if tp is float:
        return math.nan if data is None else float(data)
    if tp is int and isinstance(data, (int, float)) and not isinstance(data, bool):
        return int(data)
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        return tp(data)
    if tp is tuple:
        return tuple(data)
    return data


def _array(data: Any) -> np.ndarray:
    """A nested list back to an array; ``null`` (a NaN written as JSON) back to NaN."""
    arr = np.asarray(data)
    if arr.dtype == object:  # nulls among numbers
        arr = np.asarray(data, dtype=float)
    return arr


def equal(a: Any, b: Any) -> bool:
    """Deep equality for numbers: arrays by value (NaN equals NaN), tuples and lists
    element-wise."""
    if dataclasses.is_dataclass(a) and dataclasses.is_dataclass(b):
        return type(a) is type(b) and all(
            equal(getattr(a, f.name), getattr(b, f.name)) for f in dataclasses.fields(a)
        )
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        a_arr, b_arr = np.asarray(a), np.asarray(b)
        if a_arr.shape != b_arr.shape:
            return False
        if a_arr.dtype.kind in "fc" or b_arr.dtype.kind in "fc":
            return bool(np.array_equal(a_arr, b_arr, equal_nan=True))
        return bool(np.array_equal(a_arr, b_arr))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(equal(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return type(a) is type(b) and len(a) == len(b) and all(map(equal, a, b))
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    return bool(a == b)


__all__ = ["to_jsonable", "from_json", "equal", "SIDECAR_MIN", "ARRAY_REF"]
