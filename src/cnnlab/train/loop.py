"""``fit``: the one training loop every face and experiment uses.

Fast on CPU because the whole dataset sits in memory as one standardised float tensor ``(N, C, H, W)``
and a step is one ``index_select`` gather + forward/backward — no DataLoader workers, no per-sample
Python. Deterministic: shuffling uses a generator seeded from ``(seed, epoch)``, augmentation one
seeded from ``(seed, step)``, and the global RNG (dropout) is saved in every checkpoint, so a resumed
run reproduces an uninterrupted one number for number (same thread count, same device).
Progress goes to an optional ``callback(dict)``; the library prints nothing.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from cnnlab.errors import CheckpointError, ConfigError
from cnnlab.progress import Progress, emit
from cnnlab.train import checkpoint as ckpt
from cnnlab.train import distributed as ddp
from cnnlab.train.config import TRAJECTORY_FIELDS, TrainConfig
from cnnlab.train.device import resolve_device
from cnnlab.train.metrics import Metrics, evaluate_tensors
from cnnlab.train.optim import make_optimizer, make_scheduler
from cnnlab.train.tensors import Preprocess, as_tensors, class_names

Callback = Progress  # one event type: see cnnlab.progress
_SHUFFLE_SALT = 1_000_003  # keeps per-epoch and per-step seeds of one run apart


@dataclass
class FitResult:
    """What ``fit`` returns: the final validation metrics and the per-evaluation history."""

    metrics: Metrics | None  # last validation evaluation (None without validation data)
    history: list[dict[str, Any]]  # one row per evaluation: epoch, step, train/val loss+acc, elapsed
    best_accuracy: float | None
    stopped: str  # "epochs" | "target" | "time"
    epochs_completed: int
    global_step: int
    elapsed: float  # seconds of training + evaluation (data loading excluded), summed over resumes
    seconds_to_target: float | None  # elapsed when target_acc was first reached
    device: str
    world_size: int
    checkpoint: str | None  # path of checkpoint.json, if written
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        d = {k: v for k, v in self.__dict__.items() if k != "metrics"}
        d["metrics"] = self.metrics.to_dict() if self.metrics else None
        return d


def seed_everything(seed: int) -> None:
    """Seed torch's global RNG (model init, dropout) — call before building the model."""
    torch.manual_seed(seed)


def _num_classes(model: nn.Module, x: torch.Tensor, device: torch.device) -> int:
    was = model.training
    model.eval()
    with torch.no_grad():
        k = int(model(x[:2].to(device)).shape[1])
    model.train(was)
    return k


def _emit(callback: Callback | None, world: ddp.World, kind: str, **data: Any) -> None:
    if world.is_main:
        emit(callback, kind, **data)


def fit(model: nn.Module, train: Any, val: Any = None, config: TrainConfig | None = None,
        callback: Callback | None = None, *, run_info: dict[str, Any] | None = None) -> FitResult:
    """Train ``model`` on ``train``, evaluating on ``val``; see :class:`TrainConfig` for options.

    ``train``/``val``: a torchvision-like dataset (``.data``, ``.targets``), a ``(x, y)`` tensor pair
    or any ``(image, label)`` dataset. Under ``torchrun`` each rank runs this same call.
    Raises ConfigError / OutputError before any work for bad options or an unwritable ``out``;
    CheckpointError on ``resume`` from a checkpoint that does not fit. ``run_info`` (JSON-able,
    e.g. the dataset name) is stored in the checkpoint under ``"run"`` for faces to read back.
    """
    config = (config or TrainConfig()).validate()
    if config.target_acc is not None and val is None:
        raise ConfigError("error.train_target_needs_val")
    device = resolve_device(config.device)
    world = ddp.setup(device.type)
    try:
        return _fit(model, train, val, config, callback, device, world, run_info or {})
    finally:
        ddp.teardown(world)


def _fit(model: nn.Module, train: Any, val: Any, config: TrainConfig, callback: Callback | None,
         device: torch.device, world: ddp.World, run_info: dict[str, Any]) -> FitResult:
    if world.distributed and device.type == "cuda":
        device = torch.device("cuda", world.local_rank)
    if config.batch_size % world.size:
        raise ConfigError("error.train_batch_world", batch_size=config.batch_size, world=world.size)
    out = None
    if config.out is not None:
        from cnnlab.fileio import ensure_out_dir

        out = ensure_out_dir(config.out) if world.is_main else config.out
    if config.threads:
        torch.set_num_threads(config.threads)

    resume_from = ckpt.load(out) if (config.resume and out and ckpt.exists(out)) else None
    if resume_from is not None:
        _check_same_trajectory(config, resume_from)

    x, y = as_tensors(train)
    classes = class_names(train, int(y.max()) + 1)
    pre = Preprocess.from_dict(resume_from.meta["preprocess"]) if resume_from else Preprocess.fit(x)
    x = pre.apply_(x)  # as_tensors gave us a fresh float copy: standardise it in place
    xv = yv = None
    if val is not None:
        xv, yv = as_tensors(val)
        xv = pre.apply_(xv)

    model.to(device)
    memory_format = torch.channels_last if config.channels_last else torch.contiguous_format
    if config.channels_last:
        model.to(memory_format=torch.channels_last)
    num_classes = max(_num_classes(model, x, device), len(classes))
    classes = class_names(train, num_classes)

    n = len(x)
    batch = config.batch_size if n >= config.batch_size else (n // world.size) * world.size
    if batch < world.size:
        raise ConfigError("error.train_batch_world", batch_size=n, world=world.size)
    steps_per_epoch = n // batch  # drop the ragged last batch: equal shards, no BN batch of 1
    total_steps = steps_per_epoch * config.epochs

    optimizer = make_optimizer(model, config)
    scheduler = make_scheduler(optimizer, config, total_steps)
    net: nn.Module = model
    if world.distributed:
        net = nn.parallel.DistributedDataParallel(
            model, device_ids=[device.index] if device.type == "cuda" else None)

    # progress state, restored on resume
    epoch, step_in_epoch, global_step, elapsed_before = 0, 0, 0, 0.0
    history: list[dict[str, Any]] = []
    best: float | None = None
    seconds_to_target: float | None = None
    run = {"loss_sum": 0.0, "correct": 0, "count": 0}
    # Reseed after the model was built: dropout draws from here, identically on every rank.
    torch.manual_seed(config.seed)
    if resume_from is not None:
        ckpt.load_weights(model, resume_from.weights, str(resume_from.path))
        model.to(device)
        if config.channels_last:
            model.to(memory_format=torch.channels_last)
        try:
            optimizer.load_state_dict(ckpt.optimizer_join(resume_from.state,
                                                          resume_from.meta["optimizer"]))
            if scheduler is not None and resume_from.meta.get("scheduler"):
                scheduler.load_state_dict(resume_from.meta["scheduler"])
        except (KeyError, ValueError, RuntimeError) as exc:
            raise CheckpointError("error.ckpt_corrupt", path=str(resume_from.path),
                                  reason=f"optimizer state: {exc}") from exc
        ckpt.restore_rng(resume_from.state)
        prog = resume_from.meta["progress"]
        epoch, step_in_epoch = int(prog["epoch"]), int(prog["step_in_epoch"])
        global_step, elapsed_before = int(prog["global_step"]), float(prog["elapsed"])
        run = dict(prog.get("running", run))
        history = list(resume_from.meta.get("history", []))
        best = resume_from.meta.get("best_accuracy")
        seconds_to_target = resume_from.meta.get("seconds_to_target")

    def evaluate_now() -> Metrics | None:
        if xv is None:
            return None
        lo, hi = ddp.shard_range(len(xv), world)
        return evaluate_tensors(model, xv[lo:hi], yv[lo:hi], num_classes, config.eval_batch_size,
                                device, config.channels_last,
                                reduce=ddp.all_reduce_sum if world.distributed else None)

    def save(metrics: Metrics | None) -> str | None:
        if out is None:
            return None
        path = None
        if world.is_main:
            opt_tensors, opt_meta = ckpt.optimizer_split(optimizer)
            meta = {
                "model": model.cnnlab_spec.to_dict() if hasattr(model, "cnnlab_spec") else None,
                "config": config.to_dict(),
                "classes": classes, "num_classes": num_classes,
                "input_shape": list(x.shape[1:]),
                "preprocess": pre.to_dict(),
                "progress": {"epoch": epoch, "step_in_epoch": step_in_epoch,
                             "global_step": global_step, "elapsed": elapsed(),
                             "steps_per_epoch": steps_per_epoch, "running": run},
                "history": history, "best_accuracy": best,
                "seconds_to_target": seconds_to_target,
                "metrics": metrics.to_dict() if metrics else None,
                "optimizer": opt_meta,
                "scheduler": scheduler.state_dict() if scheduler is not None else None,
                "world_size": world.size,
                "run": run_info,
            }
            path = str(ckpt.save(out, model, {**opt_tensors, **ckpt.rng_tensors()}, meta))
            _emit(callback, world, "checkpoint", path=path, global_step=global_step)
        ddp.barrier(world)
        return path

    t0 = time.perf_counter()

    def elapsed() -> float:
        return elapsed_before + (time.perf_counter() - t0)

    def record(metrics: Metrics | None) -> bool:
        """Log an evaluation; return True when the target accuracy is reached."""
        nonlocal best, seconds_to_target
        tl = run["loss_sum"] / max(run["count"], 1)
        ta = run["correct"] / max(run["count"], 1)
        row = {"epoch": epoch + (step_in_epoch / steps_per_epoch), "global_step": global_step,
               "train_loss": tl, "train_accuracy": ta, "elapsed": elapsed(),
               "lr": optimizer.param_groups[0]["lr"]}
        hit = False
        if metrics is not None:
            row.update(val_loss=metrics.loss, val_accuracy=metrics.accuracy)
            best = metrics.accuracy if best is None else max(best, metrics.accuracy)
            if config.target_acc is not None and metrics.accuracy >= config.target_acc:
                hit = True
                if seconds_to_target is None:
                    seconds_to_target = row["elapsed"]
        history.append(row)
        _emit(callback, world, "eval", **row)
        return hit

    _emit(callback, world, "start", epochs=config.epochs, steps_per_epoch=steps_per_epoch,
          total_steps=total_steps, global_step=global_step, n_train=n,
          n_val=0 if xv is None else len(xv), device=str(device), world_size=world.size,
          batch_size=batch, classes=classes)

    stopped, last_metrics, evaluated_at = "epochs", None, -1
    checkpoint_path = None
    model.train()
    log_every = max(1, steps_per_epoch // 100)
    while epoch < config.epochs and stopped == "epochs":
        perm = torch.randperm(n, generator=torch.Generator().manual_seed(
            config.seed * _SHUFFLE_SALT + epoch))  # identical on every rank
        while step_in_epoch < steps_per_epoch:
            idx = ddp.shard_batch(perm[step_in_epoch * batch:(step_in_epoch + 1) * batch], world)
            xb, yb = x.index_select(0, idx), y.index_select(0, idx)  # (B/world, C, H, W), (B/world,)
            if config.augment == "flip":
                g = torch.Generator().manual_seed(config.seed * _SHUFFLE_SALT - global_step - 1)
                flip = (torch.rand(len(idx), generator=g) < 0.5).view(-1, 1, 1, 1)
                xb = torch.where(flip, xb.flip(3), xb)
            xb = xb.to(device, non_blocking=True).contiguous(memory_format=memory_format)
            yb = yb.to(device, non_blocking=True)
            logits = net(xb)
            loss = F.cross_entropy(logits, yb, label_smoothing=config.label_smoothing)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            if scheduler is not None and config.schedule == "onecycle":
                scheduler.step()
            step_in_epoch += 1
            global_step += 1
            stats = torch.stack([loss.detach().double() * len(yb),
                                 (logits.detach().argmax(1) == yb).sum().double()])
            if world.distributed:
                stats = ddp.all_reduce_sum(stats)
            stats = stats.tolist()
            run["loss_sum"] += stats[0]
            run["correct"] += int(stats[1])
            run["count"] += batch
            if step_in_epoch % log_every == 0 or step_in_epoch == steps_per_epoch:
                _emit(callback, world, "step", epoch=epoch, step=step_in_epoch,
                      steps_per_epoch=steps_per_epoch, global_step=global_step,
                      total_steps=total_steps, loss=run["loss_sum"] / run["count"],
                      accuracy=run["correct"] / run["count"], lr=optimizer.param_groups[0]["lr"],
                      elapsed=elapsed())
            if config.eval_every and global_step % config.eval_every == 0 \
                    and step_in_epoch < steps_per_epoch:
                last_metrics, evaluated_at = evaluate_now(), global_step
                if ddp.broadcast_flag(world, record(last_metrics)):
                    stopped = "target"
                    break
            if config.time_budget is not None and ddp.broadcast_flag(
                    world, elapsed() >= config.time_budget):
                stopped = "time"
                break
            if config.checkpoint_every and global_step % config.checkpoint_every == 0 \
                    and step_in_epoch < steps_per_epoch:
                checkpoint_path = save(last_metrics)
        if step_in_epoch == steps_per_epoch:  # a full epoch: evaluate, decay, checkpoint
            epoch, step_in_epoch = epoch + 1, 0
            if scheduler is not None and config.schedule == "step":
                scheduler.step()
            last_metrics, evaluated_at = evaluate_now(), global_step
            hit = ddp.broadcast_flag(world, record(last_metrics))
            run = {"loss_sum": 0.0, "correct": 0, "count": 0}
            if hit and stopped == "epochs" and epoch < config.epochs:
                stopped = "target"
            checkpoint_path = save(last_metrics)
    if evaluated_at != global_step:  # stopped mid-epoch: report on the final weights
        last_metrics = evaluate_now()
        record(last_metrics)
        checkpoint_path = save(last_metrics)
    result = FitResult(
        metrics=last_metrics, history=history, best_accuracy=best, stopped=stopped,
        epochs_completed=epoch, global_step=global_step, elapsed=elapsed(),
        seconds_to_target=seconds_to_target, device=str(device), world_size=world.size,
        checkpoint=checkpoint_path)
    _emit(callback, world, "end", **result.to_dict())
    return result


def _check_same_trajectory(config: TrainConfig, found: ckpt.Checkpoint) -> None:
    saved = found.meta.get("config", {})
    diff = [f"{k}: checkpoint {saved.get(k)!r} vs now {getattr(config, k)!r}"
            for k in TRAJECTORY_FIELDS if k in saved and saved[k] != getattr(config, k)]
    if diff:
        raise CheckpointError("error.ckpt_config", path=str(found.path), details="; ".join(diff))


__all__ = ["fit", "FitResult", "seed_everything", "Callback"]
