"""Multi-process data parallelism: one entry point for ``python`` and ``torchrun --nproc_per_node
N``.

Under torchrun (``WORLD_SIZE > 1`` in the environment) :func:`setup` joins the process group — gloo
on CPU, nccl on CUDA — and every helper here becomes collective; in a plain process they are no-ops.
Sharding is by *global* batch: all ranks draw the same permutation, each global batch of ``B``
indices is split into ``world`` strided slices of ``B/world``, and DDP averages the gradients — so
the update equals one process stepping on the whole batch (up to float summation order and
BatchNorm, whose statistics stay per rank).
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist


@dataclass(frozen=True)
class World:
    """This process's place in the job."""

    rank: int = 0
    size: int = 1
    local_rank: int = 0

    @property
    def is_main(self) -> bool:
        """Only the main rank writes files and reports progress."""
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.size > 1


def setup(device_type: str) -> World:
    """Join the torchrun process group if one is described by the environment; else World()."""
    size = int(os.environ.get("WORLD_SIZE", "1"))
    if size <= 1:
        return World()
    rank, local = int(os.environ["RANK"]), int(os.environ.get("LOCAL_RANK", "0"))
    if not dist.is_initialized():
        backend = "nccl" if device_type == "cuda" else "gloo"
        if device_type == "cuda":
            torch.cuda.set_device(local)
        dist.init_process_group(backend=backend)
    return World(rank, size, local)


def teardown(world: World) -> None:
    if world.distributed and dist.is_initialized():
        dist.destroy_process_group()


def all_reduce_sum(t: torch.Tensor) -> torch.Tensor:
    """Sum ``t`` over ranks (a copy; ``t`` is untouched). Identity in a single process."""
    if not (dist.is_available() and dist.is_initialized()):
        return t
    out = t.clone()
    dist.all_reduce(out, op=dist.ReduceOp.SUM)
    return out


def barrier(world: World) -> None:
    if world.distributed:
        dist.barrier()


def broadcast_flag(world: World, flag: bool) -> bool:
    """Rank 0's decision (stop now? target reached?) for every rank, so all leave loops together."""
    if not world.distributed:
        return flag
    t = torch.tensor([1 if flag else 0], dtype=torch.int64)
    if dist.get_backend() == "nccl":
        t = t.cuda()
    dist.broadcast(t, src=0)
    return bool(t.item())


def shard_batch(idx: torch.Tensor, world: World) -> torch.Tensor:
    """This rank's strided slice ``idx[rank::size]`` of one global batch of indices."""
    return idx[world.rank :: world.size] if world.distributed else idx


def shard_range(n: int, world: World) -> tuple[int, int]:
    """Contiguous ``[start, stop)`` of ``n`` evaluation items for this rank (sizes differ by ≤
    1)."""
    start = n * world.rank // world.size
    stop = n * (world.rank + 1) // world.size
    return start, stop


__all__ = [
    "World",
    "setup",
    "teardown",
    "all_reduce_sum",
    "barrier",
    "broadcast_flag",
    "shard_batch",
    "shard_range",
]
