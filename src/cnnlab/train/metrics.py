"""Classification metrics from one confusion matrix: loss, accuracy, per-class accuracy.

Everything derives from two sums — the ``(K, K)`` confusion counts and the summed loss — so metrics
of a sharded evaluation are exact after an all-reduce of those sums (no averaging of averages).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from cnnlab.models.flip import predict_logits


@dataclass
class Metrics:
    """Evaluation of a classifier on ``n`` examples.

    ``confusion[i][j]`` counts examples of true class ``i`` predicted as ``j``;
    ``per_class_accuracy[i] = confusion[i][i] / Σ_j confusion[i][j]`` (NaN-free: 0 for absent
    classes).
    """

    loss: float  # mean cross-entropy (nats)
    accuracy: float  # fraction correct, 0..1
    per_class_accuracy: list[float]
    confusion: list[list[int]]
    n: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "loss": self.loss,
            "accuracy": self.accuracy,
            "per_class_accuracy": self.per_class_accuracy,
            "confusion": self.confusion,
            "n": self.n,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Metrics:
        return cls(
            **{k: data[k] for k in ("loss", "accuracy", "per_class_accuracy", "confusion", "n")}
        )


def confusion_matrix(pred: torch.Tensor, target: torch.Tensor, num_classes: int) -> torch.Tensor:
    """``(K, K)`` int64 counts from predicted and true labels ``(N,)`` (one bincount, no loop)."""
    idx = target.to(torch.int64) * num_classes + pred.to(torch.int64)
    return torch.bincount(idx, minlength=num_classes * num_classes).view(num_classes, num_classes)


def from_sums(confusion: torch.Tensor, loss_sum: float) -> Metrics:
    """Metrics from the confusion counts and the summed loss."""
    conf = confusion.to(torch.int64).cpu()
    n = int(conf.sum())
    correct = conf.diagonal()
    per_class = (correct.double() / conf.sum(1).clamp(min=1).double()).tolist()
    return Metrics(
        loss=loss_sum / max(n, 1),
        accuracy=float(correct.sum()) / max(n, 1),
        per_class_accuracy=per_class,
        confusion=conf.tolist(),
        n=n,
    )


@torch.no_grad()
def evaluate_tensors(
    model: nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
    num_classes: int,
    batch_size: int = 1000,
    device: torch.device | str = "cpu",
    channels_last: bool = False,
    reduce: Any = None,
) -> Metrics:
    """Evaluate ``model`` on in-memory ``x (N, C, H, W)`` float, ``y (N,)`` int64.

    ``reduce`` (optional) sums ``(confusion, loss_sum)`` across processes — see
    :func:`cnnlab.train.distributed.all_reduce_sum`. ``model.training`` is restored afterwards.
    """
    was_training = model.training
    model.eval()
    conf = torch.zeros(num_classes, num_classes, dtype=torch.int64, device=device)
    loss_sum = torch.zeros((), dtype=torch.float64, device=device)
    try:
        for i in range(0, len(x), batch_size):
            xb = x[i : i + batch_size].to(device, non_blocking=True)
            if channels_last:
                xb = xb.contiguous(memory_format=torch.channels_last)
            yb = y[i : i + batch_size].to(device, non_blocking=True)
            logits = predict_logits(model, xb)  # flip-averaged for a test_flip model
            loss_sum += F.cross_entropy(logits.float(), yb, reduction="sum").double()
            conf += confusion_matrix(logits.argmax(1), yb, num_classes)
    finally:
        model.train(was_training)
    if reduce is not None:
        conf, loss_sum = reduce(conf), reduce(loss_sum)
    return from_sums(conf, float(loss_sum))


__all__ = ["Metrics", "confusion_matrix", "from_sums", "evaluate_tensors"]
