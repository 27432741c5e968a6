"""Where a model comes from: one string → a built ``nn.Module`` in eval mode.

``load_model(source, kwargs)`` accepts four kinds of source::

    cnn                          a built-in registry name (cnnlab.models.names())
    torchvision.models:resnet18  module.path:ClassName — imported with importlib; a function that
                                 returns an nn.Module works too
    path/to/net.py:ResNetSmall   a Python file, imported from its path
    runs/cnn                     a checkpoint directory written by ``cnnlab train``: architecture
                                 from its JSON spec, weights from safetensors (never unpickled)

``kwargs`` are the constructor's keyword arguments as text (``--kw key=value`` on the command
line), read by literal rules: ``3`` → int, ``0.5`` → float, ``true``/``false`` → bool, ``none`` →
None, ``(3, 3)`` → tuple, anything else → str. A ``.pt``/``.pth`` file is refused: unpickling it
runs whatever code the file carries. ``weights=`` loads a safetensors state_dict into a model built
from a class or a registry name — the safe way to bring trained weights of one's own.

Every failure is a :class:`~cnnlab.errors.ConfigError` (or CheckpointError) that names the source
and what would be valid — exit 2 on the command line.
"""

from __future__ import annotations

import ast
import contextlib
import hashlib
import importlib
import importlib.util
import inspect
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from torch import nn

from cnnlab.errors import CheckpointError, ConfigError
from cnnlab.models.registry import MODELS, build, names
from cnnlab.models.stored import INDEX, load_weights, read_model

KINDS = ("registry", "module", "file", "checkpoint")
# pickle-based formats: torch.load / pickle.load would run code stored in the file
PICKLE_SUFFIXES = (".pt", ".pth", ".ckpt", ".pkl", ".pickle", ".bin", ".tar")


@dataclass(frozen=True)
class LoadedModel:
    """A model ready to inspect (eval mode) and what is known about it."""

    model: nn.Module
    name: str  # for titles: registry name, class name, or "<spec name> (<checkpoint folder>)"
    input_shape: tuple[int, ...] | None  # per sample, e.g. (1, 28, 28); known from a checkpoint
    source_kind: str  # "registry" | "module" | "file" | "checkpoint"


def parse_value(text: str) -> Any:
    """A ``--kw`` value by literal rules: int, float, bool, None, tuple/list of those, else str.

    >>> parse_value("3"), parse_value("0.5"), parse_value("true"), parse_value("(3, 3)")
    (3, 0.5, True, (3, 3))
    >>> parse_value("relu")
    'relu'
    """
    low = text.strip().lower()
    if low in ("true", "false"):
        return low == "true"
    if low in ("none", "null"):
        return None
    try:
        value = ast.literal_eval(text.strip())
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return text
    if _plain(value):
        return value
    return text


def _plain(value: Any) -> bool:
    if isinstance(value, (bool, int, float, str)) or value is None:
        return True
    if isinstance(value, (tuple, list)):
        return all(_plain(v) for v in value)
    return False


def parse_kwargs(kwargs: dict[str, str] | None) -> dict[str, Any]:
    """``{"channels": "8"}`` → ``{"channels": 8}`` (see :func:`parse_value`); names checked."""
    out: dict[str, Any] = {}
    for key, value in (kwargs or {}).items():
        if not key.isidentifier():
            raise ConfigError("sources.kw_name", option=key)
        out[key] = parse_value(value) if isinstance(value, str) else value
    return out


def split_kw(pairs: tuple[str, ...] | list[str]) -> dict[str, str]:
    """``("channels=8", "act=relu")`` → ``{"channels": "8", "act": "relu"}`` (``--kw`` values)."""
    out: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise ConfigError("sources.kw_format", value=pair)
        out[key.strip()] = value
    return out


def _accepted(fn: Callable[..., Any]) -> tuple[list[str], list[str], bool]:
    """(keyword names, required ones, takes **kwargs) of a constructor or factory."""
    try:
        sig = inspect.signature(fn)
    except (TypeError, ValueError):  # a builtin without a signature: let the call decide
        return [], [], True
    kinds = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
    params = [p for p in sig.parameters.values() if p.kind in kinds and p.name != "self"]
    required = [p.name for p in params if p.default is inspect.Parameter.empty]
    extra = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in sig.parameters.values())
    return [p.name for p in params], required, extra


def _describe(names_: list[str]) -> str:
    return ", ".join(names_) if names_ else "—"


def _construct(target: str, fn: Callable[..., Any], kwargs: dict[str, Any]) -> nn.Module:
    """Call ``fn(**kwargs)`` after checking the keywords; the result must be an nn.Module."""
    accepted, required, extra = _accepted(fn)
    for key in kwargs:
        if key not in accepted and not extra:
            raise ConfigError(
                "sources.bad_kwarg", target=target, option=key, valid=_describe(accepted)
            )
    missing = [r for r in required if r not in kwargs]
    if missing:
        raise ConfigError(
            "sources.missing_kwarg",
            target=target,
            missing=", ".join(missing),
            valid=_describe(accepted),
        )
    try:
        model = fn(**kwargs)
    except Exception as exc:  # user code: any failure becomes a message naming the call
        raise ConfigError(
            "sources.ctor_failed",
            target=target,
            kwargs=", ".join(f"{k}={v!r}" for k, v in kwargs.items()) or "—",
            kind=type(exc).__name__,
            reason=str(exc),
            valid=_describe(accepted),
        ) from exc
    if not isinstance(model, nn.Module):
        raise ConfigError("sources.returned", target=target, kind=type(model).__name__)
    return model


def _module_classes(module: Any) -> list[str]:
    """Names of the nn.Module subclasses defined in ``module`` (for the 'no such class' message)."""
    found = []
    for name, value in vars(module).items():
        if (
            inspect.isclass(value)
            and issubclass(value, nn.Module)
            and getattr(value, "__module__", None) == module.__name__
        ):
            found.append(name)
    return sorted(found)


def _pick(module: Any, where: str, attr: str) -> Callable[..., Any]:
    obj = module
    for part in attr.split("."):  # Outer.Inner works too
        if not hasattr(obj, part):
            raise ConfigError(
                "sources.no_class",
                where=where,
                name=attr,
                found=_describe(_module_classes(module)),
            )
        obj = getattr(obj, part)
    if inspect.isclass(obj) and not issubclass(obj, nn.Module):
        raise ConfigError("sources.not_module", target=f"{where}:{attr}", kind=obj.__name__)
    if not callable(obj):
        raise ConfigError("sources.not_module", target=f"{where}:{attr}", kind=type(obj).__name__)
    return obj


def _import_module(name: str) -> Any:
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as exc:
        if exc.name and name.startswith(exc.name):  # the module itself (or its package) is absent
            raise ConfigError("sources.no_module", module=name) from exc
        raise ConfigError(
            "sources.import_failed", what=name, kind=type(exc).__name__, reason=str(exc)
        ) from exc
    except Exception as exc:  # the module's own code failed (a SyntaxError, an exception)
        raise ConfigError(
            "sources.import_failed", what=name, kind=type(exc).__name__, reason=str(exc)
        ) from exc


def _import_file(path: Path) -> Any:
    """Import a Python file by path, as a module of its own (its folder importable meanwhile)."""
    if not path.is_file():
        raise ConfigError("sources.file_missing", path=str(path))
    resolved = path.resolve()
    digest = hashlib.sha1(str(resolved).encode()).hexdigest()[:10]
    name = f"cnnlab_user_{resolved.stem}_{digest}"
    spec = importlib.util.spec_from_file_location(name, resolved)
    if spec is None or spec.loader is None:
        raise ConfigError("sources.import_failed", what=str(path), kind="ImportError", reason="")
    module = importlib.util.module_from_spec(spec)
    folder = str(resolved.parent)
    sys.modules[name] = module  # dataclasses and pickling look the module up by name
    sys.path.insert(0, folder)  # `from blocks import Block` next to the file works
    try:
        spec.loader.exec_module(module)
    except Exception as exc:
        sys.modules.pop(name, None)
        raise ConfigError(
            "sources.import_failed", what=str(path), kind=type(exc).__name__, reason=str(exc)
        ) from exc
    finally:
        with contextlib.suppress(ValueError):
            sys.path.remove(folder)
    return module


def _is_file_ref(left: str) -> bool:
    return left.endswith(".py") or "/" in left or "\\" in left


def _load_weights_file(model: nn.Module, weights: str) -> None:
    from safetensors import SafetensorError
    from safetensors.torch import load as st_load

    path = Path(weights)
    if path.suffix.lower() in PICKLE_SUFFIXES:
        raise ConfigError("sources.pickle_refused", path=weights)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ConfigError("sources.file_missing", path=weights) from exc
    try:
        tensors = st_load(data)
    except (SafetensorError, ValueError, RuntimeError) as exc:
        raise CheckpointError("sources.weights_bad", path=weights, reason=str(exc)) from exc
    load_weights(model, tensors, weights)


def load_model(
    source: str, kwargs: dict[str, str] | None = None, weights: str | None = None
) -> LoadedModel:
    """Build the model ``source`` names (see module docstring), in eval mode.

    ``kwargs``: constructor keywords as text (parsed by :func:`parse_value`); not for a
    checkpoint, whose options are recorded in it. ``weights``: a ``.safetensors`` state_dict to
    load into a model built from a class or registry name.
    """
    source = str(source).strip()
    args = parse_kwargs(kwargs)
    if not source:
        raise ConfigError("sources.unknown", source=source, names=", ".join(names()))
    left, sep, attr = source.rpartition(":")
    is_attr = bool(sep) and bool(left) and attr.replace(".", "").isidentifier()
    loaded: LoadedModel
    if is_attr and _is_file_ref(left):
        module = _import_file(Path(left))
        fn = _pick(module, left, attr)
        model = _construct(f"{Path(left).name}:{attr}", fn, args)
        loaded = LoadedModel(model, attr.rsplit(".", 1)[-1], None, "file")
    elif is_attr:
        module = _import_module(left)
        fn = _pick(module, left, attr)
        model = _construct(source, fn, args)
        loaded = LoadedModel(model, attr.rsplit(".", 1)[-1], None, "module")
    elif source in names():
        # registry constructors check their keywords themselves (naming the valid ones)
        try:
            model = build(source, **args)
        except (TypeError, ValueError) as exc:
            raise ConfigError(
                "sources.ctor_failed",
                target=source,
                kwargs=", ".join(f"{k}={v!r}" for k, v in args.items()) or "—",
                kind=type(exc).__name__,
                reason=str(exc),
                valid=_describe(_accepted(MODELS[source][0])[0]),
            ) from exc
        loaded = LoadedModel(model, source, None, "registry")
    else:
        path = Path(source)
        if path.suffix.lower() in PICKLE_SUFFIXES:
            raise ConfigError("sources.pickle_refused", path=source)
        if (path.is_dir() and (path / INDEX).is_file()) or path.name == INDEX:
            if args:
                raise ConfigError("sources.kw_checkpoint", path=source)
            if weights:
                raise ConfigError("sources.weights_checkpoint", path=source)
            stored = read_model(path)
            name = f"{stored.name} ({stored.path.name})"
            return LoadedModel(stored.model, name, stored.input_shape, "checkpoint")
        if path.is_dir():
            raise CheckpointError("error.ckpt_missing", path=source)
        if path.suffix == ".py" and path.is_file():
            found = _module_classes(_import_file(path))
            raise ConfigError("sources.no_class_given", path=source, found=_describe(found))
        raise ConfigError("sources.unknown", source=source, names=", ".join(names()))
    if weights:
        _load_weights_file(loaded.model, weights)
    loaded.model.eval()
    return loaded


__all__ = ["KINDS", "LoadedModel", "load_model", "parse_value", "parse_kwargs", "split_kw"]
