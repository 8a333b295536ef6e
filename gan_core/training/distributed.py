"""Training on several processes with PyTorch's own engine: torchrun starts one process a rank,
DistributedDataParallel keeps their weights equal, and one random stream serves them all.

    $ torchrun --nproc_per_node=4 train.py --data faces.zip --out runs/faces     # one machine, 4 ranks
    ranks = Ranks.from_env()            # RANK, WORLD_SIZE, LOCAL_RANK, ... as torchrun sets them
    device = start(ranks, "auto", timeout_s=300)   # nccl on GPUs, gloo on CPUs; cuda:LOCAL_RANK

A run is defined by its global batch, not by its rank count: every rank draws the global batch's
random numbers from the same seeded stream and keeps its own rows (SharedRandom), and takes its
rows of the global batch of images. So the same command trains the same model on 1 or N ranks
(exactly so with sync_batchnorm; BatchNorm over each rank's rows otherwise), and a checkpoint
saved on N ranks resumes on any other number.
"""
from __future__ import annotations

import datetime
import inspect
import os
from dataclasses import dataclass

import torch
import torch.distributed as dist
from torch import nn

from ..model.device import pick_device


@dataclass(frozen=True)
class Ranks:
    rank: int = 0         # this process's rank among all
    world: int = 1        # processes in all
    local_rank: int = 0   # this process's rank on its machine (its GPU index)
    local_world: int = 1  # processes on this machine

    @classmethod
    def from_env(cls, env=None) -> "Ranks":
        """The ranks torchrun describes in the environment (a single process without it)."""
        env = os.environ if env is None else env
        if "WORLD_SIZE" not in env:
            return cls()
        read = lambda key, default: int(env.get(key, default))  # noqa: E731
        ranks = cls(read("RANK", 0), read("WORLD_SIZE", 1), read("LOCAL_RANK", 0), read("LOCAL_WORLD_SIZE", 1))
        if not (0 <= ranks.rank < ranks.world and 0 <= ranks.local_rank < ranks.local_world):
            raise ValueError(f"inconsistent torchrun environment: {ranks}")
        return ranks

    @property
    def main(self) -> bool:
        """Rank 0: the one that writes logs, grids, checkpoints and exports."""
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.world > 1

    def rows(self, total: int) -> slice:
        """This rank's rows of a global batch of `total` (which the world divides)."""
        per = total // self.world
        return slice(self.rank * per, (self.rank + 1) * per)


SINGLE = Ranks()


def start(ranks: Ranks, device: str = "auto", timeout_s: float = 300.0) -> torch.device:
    """This rank's device, and, with more than one rank, the process group (nccl for CUDA, gloo
    otherwise). Collectives that wait longer than timeout_s fail instead of hanging."""
    chosen = pick_device(device)
    if not ranks.distributed:
        return chosen
    if chosen.type == "cuda" and chosen.index is None:
        chosen = torch.device("cuda", ranks.local_rank % torch.cuda.device_count())
    if chosen.type == "cuda":
        torch.cuda.set_device(chosen)
    if not dist.is_initialized():
        if chosen.type == "cuda":
            os.environ.setdefault("TORCH_NCCL_ASYNC_ERROR_HANDLING", "1")  # a stuck collective ends the process
        timeout = datetime.timedelta(seconds=timeout_s)
        store, rank, world = next(dist.rendezvous("env://", timeout=timeout))
        # after an elastic restart the agent's store still holds the last attempt's addresses: a fresh prefix
        attempt = os.environ.get("TORCHELASTIC_RESTART_COUNT", "0")
        dist.init_process_group("nccl" if chosen.type == "cuda" else "gloo", timeout=timeout, rank=rank,
                                world_size=world, store=dist.PrefixStore(f"dcgan/attempt_{attempt}", store),
                                **({"device_id": chosen} if chosen.type == "cuda" else {}))
    return chosen


def stop(together: bool = False) -> None:
    """Leave the process group; `together`: first wait for every rank to get here (the end of a
    run that went well: no rank tears its connections down while another still uses them)."""
    if dist.is_initialized():
        if together and active():
            dist.barrier()
        dist.destroy_process_group()


def active() -> bool:
    return dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1


def mean_over_ranks(values: torch.Tensor) -> torch.Tensor:
    """The mean of `values` over all ranks (itself on one)."""
    if not active():
        return values
    values = values.clone()
    dist.all_reduce(values)
    return values / dist.get_world_size()


def any_rank(flag: bool, device: torch.device) -> bool:
    """True on every rank if it is true on any (how ranks agree to stop together)."""
    if not active():
        return flag
    value = torch.tensor([float(flag)], device=device)
    dist.all_reduce(value, op=dist.ReduceOp.MAX)
    return bool(value.item())


def same_on_all_ranks(module: nn.Module) -> bool:
    """Whether every rank holds bit-identical parameters (each compares its own with rank 0's)."""
    if not active():
        return True
    with torch.no_grad():
        flat = torch.cat([p.detach().reshape(-1) for p in module.parameters()])
        reference = flat.clone()
        dist.broadcast(reference, src=0)
        return not any_rank(not torch.equal(flat, reference), flat.device)


def wrap(module: nn.Module, device: torch.device) -> nn.Module:
    """`module` under DistributedDataParallel when there are several ranks (else itself).
    BatchNorm buffers stay per rank: training uses batch statistics, and the exported G's
    are re-estimated anyway (gan_core.training.loop.recalibrate_batchnorm)."""
    if not active():
        return module
    params = inspect.signature(nn.parallel.DistributedDataParallel).parameters
    no_buffer_sync = {"forward_sync_buffers": False} if "forward_sync_buffers" in params else {"broadcast_buffers": False}
    return nn.parallel.DistributedDataParallel(module, device_ids=[device] if device.type == "cuda" else None,
                                               **no_buffer_sync)


# --- BatchNorm over the global batch ----------------------------------------------------------
class _SumOverRanks(torch.autograd.Function):
    """The sum of a tensor over all ranks; its gradient is summed back over the ranks too."""

    @staticmethod
    def forward(ctx, x: torch.Tensor) -> torch.Tensor:
        x = x.clone()
        dist.all_reduce(x)
        return x

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> torch.Tensor:
        grad = grad.clone()
        dist.all_reduce(grad)
        return grad


class SyncBatchNorm2d(nn.BatchNorm2d):
    """BatchNorm2d whose training statistics are those of the global batch: each rank's channel
    sums are added up across ranks, and so are their gradients on the way back. It runs on CPUs
    (gloo) as on GPUs (torch.nn.SyncBatchNorm refuses CPU modules); with one rank, or in eval
    mode, it is a plain BatchNorm2d. Ranks hold equal batches, as they do here."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not (self.training and active()):
            return super().forward(x)
        count = x.numel() // x.shape[1] * dist.get_world_size()
        sums = _SumOverRanks.apply(torch.cat([x.sum(dim=(0, 2, 3)), (x * x).sum(dim=(0, 2, 3))]))
        mean, mean_sq = sums.split(x.shape[1])
        mean, mean_sq = mean / count, mean_sq / count
        var = (mean_sq - mean * mean).clamp_min(0)
        if self.track_running_stats:
            with torch.no_grad():
                self.num_batches_tracked.add_(1)
                momentum = self.momentum if self.momentum is not None else 1.0 / float(self.num_batches_tracked)
                self.running_mean.lerp_(mean, momentum)
                self.running_var.lerp_(var * count / max(count - 1, 1), momentum)
        shape = (1, -1, 1, 1)
        y = (x - mean.view(shape)) * torch.rsqrt(var + self.eps).view(shape)
        return y * self.weight.view(shape) + self.bias.view(shape) if self.affine else y


def convert_sync_batchnorm(module: nn.Module) -> nn.Module:
    """Swap every BatchNorm2d of `module` for a SyncBatchNorm2d holding the same weights and
    statistics (state_dict keys unchanged)."""
    for name, child in module.named_children():
        if type(child) is nn.BatchNorm2d:
            sync = SyncBatchNorm2d(child.num_features, child.eps, child.momentum, child.affine,
                                   child.track_running_stats, device=child.weight.device if child.affine else None)
            sync.load_state_dict(child.state_dict())
            setattr(module, name, sync)
        else:
            convert_sync_batchnorm(child)
    return module


# --- one random stream for every rank --------------------------------------------------------
class SharedRandom:
    """Random numbers for a global batch split over ranks: each draw is made for all the ranks'
    rows from one generator (seeded alike everywhere) and this rank keeps its own, so a rank
    gets exactly the numbers a single process would give those rows, and every rank's generator
    stays in the same state (one checkpointed state serves any number of ranks)."""

    def __init__(self, generator: torch.Generator, ranks: Ranks = SINGLE):
        self.generator, self.ranks = generator, ranks

    def _draw(self, fn, rows: int, shape, device) -> torch.Tensor:
        world = self.ranks.world
        values = fn(rows * world, *shape, device=device, generator=self.generator)
        return values[self.ranks.rank * rows:(self.ranks.rank + 1) * rows] if world > 1 else values

    def rand(self, rows: int, *shape: int, device=None) -> torch.Tensor:
        return self._draw(torch.rand, rows, shape, device)

    def randn(self, rows: int, *shape: int, device=None) -> torch.Tensor:
        return self._draw(torch.randn, rows, shape, device)


def shared(random: "torch.Generator | SharedRandom | None") -> SharedRandom:
    """A SharedRandom as given, or over a plain torch.Generator (None: torch's default) for one rank."""
    return random if isinstance(random, SharedRandom) else SharedRandom(random)
