"""The batches a training run takes, the same for every rank layout and across resumes: from
images in memory (`Batches`), or read and decoded on the fly by DataLoader workers
(`StreamedBatches`); both give the same images in the same order for the same seed.

    batches = Batches(images, batch_size=128, device=device, seed=0, flip=True)
    x = batches.batch(step, random)      # this rank's rows of the run's batch `step`, float in [-1, 1]
"""
from __future__ import annotations

import os

import torch

from ..data.images import DataError, ImageFiles
from .distributed import SINGLE, Ranks, shared
from ..model.networks import from_levels


def epoch_order(count: int, seed: int, epoch: int) -> torch.Tensor:
    """The shuffled order of epoch `epoch`: the same for a given (seed, epoch) on any machine."""
    return torch.randperm(count, generator=torch.Generator().manual_seed(seed * 1_000_003 + epoch))


class _Batching:
    """What the in-memory and the streamed batches share: the global batch of each step, in
    each epoch's seeded order, this rank's rows of it, and the float images training takes."""

    def __init__(self, count: int, batch_size: int, device: torch.device, seed: int, flip: bool,
                 channels_last: bool, ranks: Ranks, order_device: torch.device):
        if count < batch_size:
            raise DataError("fewer_than_batch", count=count, batch=batch_size)
        self.count, self.batch_size, self.device, self.seed, self.flip = count, batch_size, device, seed, flip
        self.ranks, self.order_device = ranks, order_device
        self.memory_format = torch.channels_last if channels_last else torch.contiguous_format
        self.per_epoch = count // batch_size
        self._epoch, self._order = -1, None

    def __len__(self) -> int:
        return self.count

    def indices(self, step: int) -> torch.Tensor:
        """The images of this rank's rows of batch number `step` of the run."""
        epoch, k = divmod(step, self.per_epoch)
        if epoch != self._epoch:
            self._order, self._epoch = epoch_order(self.count, self.seed, epoch).to(self.order_device), epoch
        return self._order[k * self.batch_size:(k + 1) * self.batch_size][self.ranks.rows(self.batch_size)]

    def _for_training(self, x: torch.Tensor, random) -> torch.Tensor:
        """uint8 images -> float in [-1, 1], each mirrored left-right by a coin toss with `flip`
        (`random`: a torch.Generator or a distributed.SharedRandom)."""
        x = from_levels(x)
        if self.flip:
            x = torch.where(shared(random).rand(len(x), 1, 1, 1, device=x.device) < 0.5, x.flip(3), x)
        return x.contiguous(memory_format=self.memory_format)


class Batches(_Batching):
    """Endless shuffled batches from an in-memory uint8 set, moved to `device` once.

    Epoch e's order comes from a generator seeded with (seed, e), so batch k of a run is the
    same whether or not the run was stopped and resumed in between (drop-last batches). With
    several ranks, `batch_size` is the global batch and each rank gets its rows of it.
    """

    def __init__(self, images: torch.Tensor, batch_size: int, device: torch.device, seed: int = 0,
                 flip: bool = False, channels_last: bool = False, ranks: Ranks = SINGLE):
        super().__init__(len(images), batch_size, device, seed, flip, channels_last, ranks, order_device=device)
        self.images = images.to(device)

    def batch(self, step: int, generator=None) -> torch.Tensor:
        """This rank's rows of batch number `step` of the run, float in [-1, 1]."""
        return self._for_training(self.images[self.indices(step)], generator)


class _StepSampler:
    """Image indices of this rank's rows of batches start, start + 1, ... (a DataLoader's batch_sampler)."""

    def __init__(self, batching: _Batching, start: int):
        self.batching, self.start = batching, start

    def __iter__(self):
        step = self.start
        while True:
            yield self.batching.indices(step).tolist()
            step += 1


def _lower_priority(worker: int) -> None:
    """Decoding yields to training: the cores' spare time is the workers' (on a busy CPU a worker
    that preempts one of the training threads stalls them all at their next barrier)."""
    try:
        os.nice(10)
    except OSError:
        pass


class StreamedBatches(_Batching):
    """The batches Batches would give, read and decoded on the fly by DataLoader worker
    processes from an ImageFiles index, so memory holds a few batches, not the data set.
    Workers take whole batches in turn, so no image is read twice and none is skipped."""

    def __init__(self, files: ImageFiles, batch_size: int, device: torch.device, seed: int = 0,
                 flip: bool = False, channels_last: bool = False, ranks: Ranks = SINGLE, workers: int = 2):
        super().__init__(len(files), batch_size, device, seed, flip, channels_last, ranks,
                         order_device=torch.device("cpu"))
        self.files, self.workers = files, workers
        self._next_step, self._batches = None, None

    def _start(self, step: int) -> None:
        loader = torch.utils.data.DataLoader(self.files, batch_sampler=_StepSampler(self, step),
                                             num_workers=self.workers, pin_memory=self.device.type == "cuda",
                                             prefetch_factor=4 if self.workers else None,
                                             persistent_workers=False, worker_init_fn=_lower_priority)
        self._batches, self._next_step = iter(loader), step

    def batch(self, step: int, generator=None) -> torch.Tensor:
        """As Batches.batch: this rank's rows of batch `step`, float in [-1, 1]."""
        if step != self._next_step:  # the first batch, or a jump (a resumed run): restart the stream there
            self._start(step)
        x = next(self._batches).to(self.device, non_blocking=True)
        self._next_step += 1
        return self._for_training(x, generator)

    def close(self) -> None:
        """Stop the worker processes (they also stop with the object)."""
        self._batches, self._next_step = None, None
