"""A user's model in a lab experiment: ``--model SOURCE [--kw key=value] [--weights FILE]``.

``hierarchy``, ``receptive-field`` and ``pattern`` take these three parameters
(:class:`ModelParams`); with ``--model`` they measure *that* model instead of the network they
build and train themselves.
The source is anything :func:`cnnlab.models.sources.load_model` reads: a registry name,
``module.path:Class``, ``path/to/net.py:Class`` or a checkpoint folder of ``cnnlab train``.

What the experiments know about a user's model, and say:

- its weights are used as they come: a checkpoint's (or ``--weights``) are trained; a class built
  from its constructor holds its random initial weights — the text names which (``source_kind``);
- a checkpoint's own standardisation ``(x - mean) / std`` is applied to the image; any other model
  is fed pixels in [0, 1], as the dataset gives them;
- the image's channels are fitted to the model's first ``Conv2d``: a gray image is repeated to 3
  channels for an RGB model (and an RGB image averaged for a gray one), and the text says so;
- its spatial layers are found by running it once with forward hooks (every ``Conv2d`` /
  ``MaxPool2d`` / ``AvgPool2d`` call, in call order) — no assumption about ``model.features``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from cnnlab.errors import CnnlabError, ConfigError

if TYPE_CHECKING:
    import torch
    from torch import nn

GEOMETRIC = ("Conv2d", "MaxPool2d", "AvgPool2d")


@dataclass
class ModelParams:
    """``--model``/``--kw``/``--weights`` of an experiment that can measure a user's model."""

    model: str | None = field(default=None, metadata={"help": "lab.user.param.model"})
    # None: the experiment's own network. Else registry name, module:Class, net.py:Class or a
    # checkpoint folder (cnnlab.models.sources)
    kw: tuple[str, ...] = field(default=(), metadata={"help": "lab.user.param.kw"})
    # the constructor's keyword arguments, key=value, repeatable
    weights: str | None = field(default=None, metadata={"help": "lab.user.param.weights"})
    # a .safetensors state_dict for a model built from a class or a registry name


@dataclass
class UserModel:
    """A loaded user model and how images are fed to it."""

    model: nn.Module
    name: str
    source: str
    source_kind: str  # registry | module | file | checkpoint
    trained: bool  # weights from a checkpoint or --weights (else as constructed)
    in_channels: int  # of the first Conv2d
    mean: list[float] | None  # a checkpoint's standardisation, else None (pixels in [0, 1])
    std: list[float] | None

    def feed(self, x: torch.Tensor) -> tuple[torch.Tensor, str]:
        """``x (N, C, H, W)`` in [0, 1] → the model's input, and how the channels were fitted
        (``"same"``, ``"repeated"``, ``"averaged"``)."""
        import torch

        c = x.shape[1]
        how = "same"
        if c != self.in_channels:
            if c == 1:
                x, how = x.expand(-1, self.in_channels, -1, -1), "repeated"  # gray → RGB
            elif self.in_channels == 1:
                x, how = x.mean(dim=1, keepdim=True), "averaged"  # RGB → gray
            else:
                raise ConfigError(
                    "lab.user.channels", model=self.name, wants=self.in_channels, got=c
                )
        if self.mean is not None and self.std is not None and len(self.mean) == x.shape[1]:
            mean = torch.tensor(self.mean, dtype=x.dtype).view(1, -1, 1, 1)
            std = torch.tensor(self.std, dtype=x.dtype).view(1, -1, 1, 1)
            x = (x - mean) / std
        return x.contiguous(), how

    def feed_raw(self, x: torch.Tensor) -> tuple[torch.Tensor, str]:
        """:meth:`feed` without the standardisation: the model's channels, pixels in [0, 1]."""
        mean, std = self.mean, self.std
        try:
            self.mean = self.std = None
            return self.feed(x)
        finally:
            self.mean, self.std = mean, std

    def describe(self) -> dict[str, Any]:
        """JSON-able facts for the numbers (and the text)."""
        return {
            "name": self.name,
            "source": self.source,
            "kind": self.source_kind,
            "trained": self.trained,
            "in_channels": self.in_channels,
            "standardised": self.mean is not None,
        }


def first_conv(model: nn.Module) -> Any:
    """The first ``nn.Conv2d`` in ``model.modules()`` order, or None."""
    for m in model.modules():
        if type(m).__name__ == "Conv2d":
            return m
    return None


def load_user(params: Any) -> UserModel | None:
    """The user's model named by ``params.model`` (None when the experiment runs its own)."""
    source = getattr(params, "model", None)
    if not source:
        return None
    import torch

    from cnnlab.models.sources import load_model, split_kw

    weights = getattr(params, "weights", None)
    torch.manual_seed(getattr(params, "seed", 0))  # a class's random initial weights: reproducible
    loaded = load_model(source, split_kw(tuple(params.kw)), weights)
    conv = first_conv(loaded.model)
    if conv is None:
        raise ConfigError("lab.user.no_conv", model=loaded.name, source=source)
    mean = std = None
    if loaded.source_kind == "checkpoint":
        from cnnlab.models.stored import read_index

        _, meta = read_index(source)
        pre = meta.get("preprocess") or {}
        if isinstance(pre.get("mean"), list) and isinstance(pre.get("std"), list):
            mean = [float(v) for v in pre["mean"]]
            std = [float(v) for v in pre["std"]]
    return UserModel(
        loaded.model.eval(),
        loaded.name,
        source,
        loaded.source_kind,
        loaded.source_kind == "checkpoint" or bool(weights),
        int(conv.in_channels),
        mean,
        std,
    )


@dataclass(frozen=True)
class Call:
    """One call of a geometric layer in a forward pass."""

    name: str  # qualified module name
    call: int  # how many earlier calls of the same module
    kind: str  # Conv2d | MaxPool2d | AvgPool2d
    module: Any
    out: tuple[int, ...]  # output (C, H, W)


def geometric_calls(user: UserModel, x: torch.Tensor) -> list[Call]:
    """Every Conv2d/MaxPool2d/AvgPool2d call of ``user.model(x)`` in order (hooks removed, mode
    kept). ConfigError naming the model and the input shape when the forward pass fails."""
    import torch

    model = user.model
    calls: list[Call] = []
    count: dict[str, int] = {}

    def hook(name: str) -> Any:
        def grab(module: Any, args: Any, output: Any) -> None:
            if torch.is_tensor(output) and output.dim() == 4:
                k = count.get(name, 0)
                count[name] = k + 1
                calls.append(Call(name, k, type(module).__name__, module, tuple(output.shape[1:])))

        return grab

    handles = [
        m.register_forward_hook(hook(n))
        for n, m in model.named_modules()
        if type(m).__name__ in GEOMETRIC
    ]
    was = model.training
    try:
        model.eval()
        with torch.no_grad():
            model(x)
    except CnnlabError:
        raise
    except Exception as exc:  # the user's forward pass: any error, named with the input shape
        raise ConfigError(
            "lab.user.forward", model=user.name, shape=list(x.shape), reason=str(exc)[:300]
        ) from exc
    finally:
        for h in handles:
            h.remove()
        model.train(was)
    return calls


def layer_output(model: nn.Module, x: torch.Tensor, call: Call) -> torch.Tensor:
    """The output of ``call`` for input ``x`` (with autograd: ``x`` may require grad); the
    forward pass stops there (what runs after it may not even accept the shape)."""

    class _Stop(Exception):
        pass

    found: list[Any] = []
    seen = [0]

    def grab(module: Any, args: Any, output: Any) -> None:
        if seen[0] == call.call:
            found.append(output)
            raise _Stop
        seen[0] += 1

    module = dict(model.named_modules())[call.name]
    handle = module.register_forward_hook(grab)
    try:
        model(x)
    except _Stop:
        pass
    finally:
        handle.remove()
    if not found:
        raise ConfigError("lab.user.forward", model=call.name, shape=list(x.shape), reason="-")
    return found[0]


__all__ = ["ModelParams", "UserModel", "Call", "load_user", "geometric_calls", "layer_output"]
