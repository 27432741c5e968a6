"""Optimizer and LR schedule from a :class:`~cnnlab.train.config.TrainConfig`.

- ``sgd``: SGD with Nesterov momentum; weight decay only on weights with ≥ 2 dims (conv/linear),
  not on biases or BatchNorm γ/β, whose decay only fights the normalisation.
- ``adamw``: AdamW, same decay split.
- ``adadelta``: PyTorch's MNIST example (lr 1.0, no decay there; our decay applies if set).

The SGD is :class:`NesterovSGD`: torch's own ``SGD`` (same state, same checkpoints, the same
numbers bit for bit) whose methods skip ``torch._dynamo``. torch wraps every optimiser method in a
guard that imports the compiler on first use — 1.3 s of a command that trains in 12 s
(benchmarks/train_fashion.py) — and cnnlab never compiles.

Schedules: ``onecycle`` steps per batch over ``total_steps`` (warm-up then cosine anneal — the
fastest route to a target accuracy in a fixed budget); ``step`` multiplies the LR by ``step_gamma``
after every epoch; ``constant`` keeps it.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from cnnlab.train.config import TrainConfig


def _plain(method: Any) -> Any:
    """``method`` without torch's ``_disable_dynamo`` wrapper (it imports torch._dynamo on first
    call); the method itself if a torch version wraps it differently."""
    return getattr(method, "__wrapped__", method)


class NesterovSGD(torch.optim.SGD):
    """``torch.optim.SGD(..., nesterov=True)`` without importing ``torch._dynamo``.

    The step is torch's per-tensor SGD (``_single_tensor_sgd``, what ``SGD`` runs on CPU), op for
    op: weight decay added to the gradient, momentum buffer ``b ← μ·b + g`` (``g`` itself at the
    first step), Nesterov direction ``g + μ·b``, ``p ← p − lr·(g + μ·b)``. Dense gradients only,
    no ``maximize``/``dampening``/closure: the options cnnlab uses. ``tests/train`` checks the
    parameters and state against ``torch.optim.SGD`` step for step.
    """

    def __init__(self, params: Any, lr: float, momentum: float, weight_decay: float = 0.0):
        super().__init__(params, lr=lr, momentum=momentum, nesterov=True, weight_decay=weight_decay)

    def add_param_group(self, param_group: dict[str, Any]) -> None:
        _plain(torch.optim.Optimizer.add_param_group)(self, param_group)

    def state_dict(self) -> dict[str, Any]:
        return _plain(torch.optim.Optimizer.state_dict)(self)

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        _plain(torch.optim.Optimizer.load_state_dict)(self, state_dict)

    def zero_grad(self, set_to_none: bool = True) -> None:
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                if set_to_none:
                    p.grad = None
                else:
                    p.grad.detach_().zero_()

    @torch.no_grad()
    def step(self, closure: None = None) -> None:  # type: ignore[override]
        if closure is not None:
            raise TypeError("NesterovSGD.step takes no closure")
        for group in self.param_groups:
            lr, momentum, decay = float(group["lr"]), group["momentum"], group["weight_decay"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                grad = p.grad if decay == 0 else p.grad.add(p, alpha=decay)
                state = self.state[p]
                buf = state.get("momentum_buffer")
                if buf is None:
                    buf = state["momentum_buffer"] = grad.detach().clone()
                else:
                    buf.mul_(momentum).add_(grad)
                p.add_(grad.add(buf, alpha=momentum), alpha=-lr)


def param_groups(model: nn.Module, weight_decay: float) -> list[dict]:
    decay = [p for p in model.parameters() if p.requires_grad and p.ndim >= 2]
    no_decay = [p for p in model.parameters() if p.requires_grad and p.ndim < 2]
    return [
        {"params": decay, "weight_decay": weight_decay},
        {"params": no_decay, "weight_decay": 0.0},
    ]


def make_optimizer(model: nn.Module, config: TrainConfig) -> torch.optim.Optimizer:
    groups = param_groups(model, config.weight_decay)
    if config.optimizer == "sgd":
        return NesterovSGD(groups, lr=config.lr, momentum=config.momentum)
    if config.optimizer == "adamw":
        return torch.optim.AdamW(groups, lr=config.lr)
    return torch.optim.Adadelta(groups, lr=config.lr)


def make_scheduler(
    optimizer: torch.optim.Optimizer, config: TrainConfig, total_steps: int
) -> torch.optim.lr_scheduler.LRScheduler | None:
    if config.schedule == "onecycle":
        if total_steps < 4:  # OneCycle needs ≥ 1 step per phase; a tiny run just keeps the LR
            return None
        return torch.optim.lr_scheduler.OneCycleLR(
            optimizer,
            max_lr=config.lr,
            total_steps=total_steps,
            # a short warm-up (BN nets tolerate the peak LR early), but ≥ 2 steps so the phase
            # boundaries stay distinct on tiny runs
            pct_start=max(0.25, 2.5 / total_steps),
            cycle_momentum=config.optimizer in ("sgd", "adamw"),
            base_momentum=max(config.momentum - 0.05, 0.0),
            max_momentum=config.momentum + 0.05 if config.momentum + 0.05 < 1 else config.momentum,
        )
    if config.schedule == "step":
        return torch.optim.lr_scheduler.StepLR(optimizer, step_size=1, gamma=config.step_gamma)
    return None


__all__ = ["NesterovSGD", "make_optimizer", "make_scheduler", "param_groups"]
