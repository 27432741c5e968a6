"""Optimizer and LR schedule from a :class:`~cnnlab.train.config.TrainConfig`.

- ``sgd``: SGD with Nesterov momentum; weight decay only on weights with ≥ 2 dims (conv/linear),
  not on biases or BatchNorm γ/β, whose decay only fights the normalisation.
- ``adamw``: AdamW, same decay split.
- ``adadelta``: PyTorch's MNIST example (lr 1.0, no decay there; our decay applies if set).

Schedules: ``onecycle`` steps per batch over ``total_steps`` (warm-up then cosine anneal — the
fastest route to a target accuracy in a fixed budget); ``step`` multiplies the LR by ``step_gamma``
after every epoch; ``constant`` keeps it.
"""

from __future__ import annotations

import torch
from torch import nn

from cnnlab.train.config import TrainConfig


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
        return torch.optim.SGD(groups, lr=config.lr, momentum=config.momentum, nesterov=True)
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


__all__ = ["make_optimizer", "make_scheduler", "param_groups"]
