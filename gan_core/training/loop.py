"""The DCGAN training loop: D learns to tell real from generated, G learns from D's gradient.

    trainer = Trainer(GANConfig(), TrainConfig(data="faces.zip", out="runs/faces"), images)
    trainer.train()             # tqdm bar, JSONL log, sample grids, resumable checkpoints
    trainer.train(progress=False, stop=event.is_set, on_record=print, checkpoints=False)  # with hooks

One loop serves train.py, the studio's live run (gan_core.training.live) and the tests. Beside it:
its settings (gan_core.training.config), its checkpoints and resumption (gan_core.training.resume), the
release folder it ships (gan_core.training.export).
"""
from __future__ import annotations

import copy
import json
import logging
import math
import time
from collections.abc import Callable
from pathlib import Path

import torch
from tqdm.auto import tqdm

from . import distributed
from .augment import diff_augment
from ..model.checkpoints import remove_partial_writes
from ..model.config import GANConfig
from .batches import Batches, StreamedBatches
from ..data.images import TORCHVISION_SETS, DataError, ImageFiles, load_images, open_images
from .distributed import SINGLE, Ranks, SharedRandom
from ..errors import UserError
from ..model.latent import z_from_seeds
from ..model.losses import d_loss, g_loss  # importable from here too (gan_core.analysis.teacher uses g_loss)
from ..data.media import make_grid, save_image
from ..model.networks import Discriminator, Generator, reestimate_batchnorm, to_uint8
from .resume import save_checkpoint
from .run_log import LOG_NAME
from .config import TrainConfig

STATS = ("loss_d", "loss_g", "d_real", "d_fake", "d_fake_after", "d_accuracy")


@torch.no_grad()
def recalibrate_batchnorm(G: Generator, device: torch.device, batches: int = 16, batch_size: int = 128,
                          seed: int = 0) -> Generator:
    """Re-estimate G's BatchNorm running statistics for its current weights (e.g. the EMA's),
    so that eval mode, where each face depends on its own z alone, matches training mode."""
    generator = torch.Generator(device=device).manual_seed(seed)
    return reestimate_batchnorm(G, (torch.randn(batch_size, G.config.nz, device=device, generator=generator)
                                    for _ in range(batches)))


def load_training_data(model: GANConfig, opts: TrainConfig, ranks: Ranks = SINGLE) -> torch.Tensor | ImageFiles:
    """opts.data decoded into memory (uint8 [N, C, H, W]), or indexed for streaming: with
    opts.stream "on", or "auto" when every rank on this machine holding a decoded copy would
    take more than opts.memory_budget_gb."""
    named = opts.data.lower() in TORCHVISION_SETS and not Path(opts.data).exists()
    if named and opts.stream == "on":
        raise DataError("torchvision_stream", data=opts.data)
    if opts.stream == "off" or named:
        return load_images(opts.data, model.image_size, model.channels, opts.split, opts.limit).images
    files = open_images(opts.data, model.image_size, model.channels, opts.split, opts.limit)
    if opts.stream == "auto" and files.decoded_bytes * ranks.local_world <= opts.memory_budget_gb * 2**30:
        return files.decode_all().images
    return files


def compile_mode(setting: str, device: torch.device, ranks: Ranks = SINGLE) -> str:
    """The torch.compile mode a setting stands for here ("" for eager). "auto" takes CUDA graphs
    ("reduce-overhead") for one CUDA process with Triton, measured 1.39x eager's step on an H200
    with the same FID; eager elsewhere (on the CPU, compiling costs more than it gains in a
    run of minutes; under DDP, CUDA graphs and its gradient hooks do not mix)."""
    if setting == "auto":
        import importlib.util

        fits = device.type == "cuda" and not ranks.distributed and importlib.util.find_spec("triton") is not None
        return "reduce-overhead" if fits else ""
    return "" if setting == "off" else setting


class Trainer:
    def __init__(self, model: GANConfig, opts: TrainConfig, images: torch.Tensor | ImageFiles,
                 ranks: Ranks = SINGLE):
        """images: uint8 [N, C, H, W] in memory, or an ImageFiles index to stream from. ranks: this
        process's place among torchrun's (gan_core.training.distributed); the process group is started here."""
        self.model, self.opts, self.ranks = model, opts, ranks
        if opts.batch_size % ranks.world:
            raise UserError("batch_split", batch=opts.batch_size, world=ranks.world)
        self.device = distributed.start(ranks, opts.device, opts.dist_timeout)
        shape = ((images.channels, images.size, images.size) if isinstance(images, ImageFiles)
                 else tuple(images.shape[1:]) if images.ndim == 4 else tuple(images.shape))
        if shape != (model.channels, model.image_size, model.image_size):
            raise ValueError(f"images of shape {shape} do not fit the model "
                             f"({model.channels} x {model.image_size} x {model.image_size})")
        self.compile_mode = compile_mode(opts.compile, self.device, ranks)
        # channels_last speeds up eager convolutions; torch.compile's backward trips over it (a stride check)
        self.channels_last = opts.channels_last and not self.compile_mode
        fmt = torch.channels_last if self.channels_last else torch.contiguous_format
        with torch.random.fork_rng(devices=[]):  # seeded initial weights, global RNG left as it was
            torch.manual_seed(opts.seed)
            self.G = Generator(model).to(self.device, memory_format=fmt)
            self.D = Discriminator(model).to(self.device, memory_format=fmt)
        self.G_ema = copy.deepcopy(self.G).eval().requires_grad_(False)
        if opts.sync_batchnorm and ranks.distributed:
            distributed.convert_sync_batchnorm(self.G)
            distributed.convert_sync_batchnorm(self.D)
        if self.compile_mode:
            for module in (self.G, self.D):
                module.compile(mode=self.compile_mode)
        self.G_train, self.D_train = distributed.wrap(self.G, self.device), distributed.wrap(self.D, self.device)
        self.opt_g, self.opt_d = self._adam(self.G, opts.lr_g), self._adam(self.D, opts.lr_d)
        if isinstance(images, ImageFiles):
            self.batches = StreamedBatches(images, opts.batch_size, self.device, opts.seed, opts.flip,
                                           self.channels_last, ranks, opts.workers)
        else:
            self.batches = Batches(images, opts.batch_size, self.device, opts.seed, opts.flip, self.channels_last,
                                   ranks)
        self.rng = torch.Generator(device=self.device).manual_seed(opts.seed)  # z, flips, augmentation
        self.random = SharedRandom(self.rng, ranks)  # the same draws as one process would make, split by rank
        self.fixed_z = z_from_seeds(range(64), model.nz, self.device)  # the grid's faces are seeds 0-63
        self.step = 0
        self.seconds = 0.0  # training time so far, across resumes
        self.checkpoint_step = None  # the step of the last checkpoint this process wrote
        self.out = Path(opts.out)

    def _adam(self, module: torch.nn.Module, lr: float) -> torch.optim.Adam:
        """Adam as the paper sets it; on CUDA its fused kernel (1.13x the step's speed on an H200)."""
        return torch.optim.Adam(module.parameters(), lr=lr, betas=(self.opts.beta1, self.opts.beta2),
                                fused=self.device.type == "cuda" or None)

    @property
    def total_steps(self) -> int:
        return self.opts.steps or math.ceil(self.opts.epochs * self.batches.per_epoch)

    def _seen_by_d(self, x: torch.Tensor) -> torch.Tensor:
        """What D is shown: the image after DiffAugment, plus instance noise."""
        if self.opts.diffaugment:
            x = diff_augment(x, self.opts.diffaugment, self.random)
        if self.opts.instance_noise:
            x = x + self.opts.instance_noise * self.random.randn(*x.shape, device=x.device)
        return x

    def train_step(self) -> torch.Tensor:
        """One D step and opts.g_steps G steps; returns the step's STATS as a tensor (no device sync).
        d_accuracy is D's accuracy on this step's real and generated batch, before D learns from it."""
        graphs = self.compile_mode == "reduce-overhead"
        if graphs:  # CUDA graphs: a new step may reuse the previous step's output buffers
            torch.compiler.cudagraph_mark_step_begin()
        run = (lambda module, x: module(x).clone()) if graphs else (lambda module, x: module(x))  # noqa: E731
        real = self.batches.batch(self.step, self.random)  # this rank's rows of the global batch
        z = self.random.randn(len(real), self.model.nz, device=self.device)
        fake = run(self.G_train, z)

        # (1) Update D: maximise log D(x) + log(1 - D(G(z)))  (D_train: D, under DDP with several ranks)
        real_logits = run(self.D_train, self._seen_by_d(real))
        fake_logits = run(self.D_train, self._seen_by_d(fake.detach()))
        loss_d = d_loss(real_logits, fake_logits, 1.0 - self.opts.label_smoothing)
        self.opt_d.zero_grad(set_to_none=True)
        loss_d.backward()
        self.opt_d.step()

        # (2) Update G: maximise log D(G(z)); D's own weight gradients are not needed here, so D
        # runs outside DDP (G's gradients are averaged over ranks by G_train)
        self.D.requires_grad_(False)
        try:
            for k in range(self.opts.g_steps):
                if k:  # further G steps on fresh z
                    z = self.random.randn(len(real), self.model.nz, device=self.device)
                    fake = run(self.G_train, z)
                gen_logits = run(self.D, self._seen_by_d(fake))
                loss_g = g_loss(gen_logits)
                self.opt_g.zero_grad(set_to_none=True)
                loss_g.backward()
                self.opt_g.step()
        finally:
            self.D.requires_grad_(True)

        self._update_ema()
        self.step += 1
        with torch.no_grad():
            accuracy = ((real_logits > 0).float().mean() + (fake_logits < 0).float().mean()) / 2
            return torch.stack([loss_d, loss_g, torch.sigmoid(real_logits).mean(),
                                torch.sigmoid(fake_logits).mean(), torch.sigmoid(gen_logits).mean(),
                                accuracy]).detach()

    def _decay_learning_rates(self, done: float) -> None:
        """opts.lr_decay: both learning rates fall linearly to 0 over the last share of the run;
        `done` is the share of the run behind us (of its steps or of its time budget)."""
        scale = min(1.0, max(0.0, 1.0 - done) / self.opts.lr_decay)
        for optimizer, lr in ((self.opt_g, self.opts.lr_g), (self.opt_d, self.opts.lr_d)):
            for group in optimizer.param_groups:
                group["lr"] = lr * scale

    @torch.no_grad()
    def _update_ema(self) -> None:
        decay = min(self.opts.ema_decay, (1 + self.step) / (10 + self.step))  # warm-up
        params_ema, params = list(self.G_ema.parameters()), list(self.G.parameters())
        torch._foreach_lerp_(params_ema, params, 1 - decay)
        torch._foreach_copy_(list(self.G_ema.buffers()), list(self.G.buffers()))  # BatchNorm statistics

    def shipped_generator(self) -> Generator:
        """A copy of the EMA generator with recalibrated BatchNorm statistics, in eval mode."""
        G = copy.deepcopy(self.G_ema).to(memory_format=torch.contiguous_format)
        return recalibrate_batchnorm(G, self.device, batch_size=self.opts.batch_size, seed=self.opts.seed)

    @torch.no_grad()
    def save_samples(self) -> Path:
        images = to_uint8(self.shipped_generator()(self.fixed_z))
        path = self.out / "samples" / f"step_{self.step:07d}.png"
        save_image(make_grid(images, nrow=8), path)
        return path

    def train(self, progress: bool = True, stop: Callable[[], bool] | None = None,
              on_record: Callable[[dict], None] | None = None,
              on_sample: Callable[[int, Path], None] | None = None,
              max_seconds: float | None = None, checkpoints: bool = True) -> dict:
        """Train to total_steps; returns the last logged record. Also ends after opts.max_minutes
        of training in all, after `max_seconds` of this call, or once `stop()` is true (asked
        after every step); every end writes a last record, grid and (with `checkpoints`) checkpoint.

        Hooks: on_record(record) after each log line, on_sample(step, path) after each grid.
        Ctrl-C (KeyboardInterrupt) saves a checkpoint (with `checkpoints`) and is raised again.

        With several ranks, only rank 0 writes; the log holds means over all ranks; the ranks
        agree to stop early (time, `stop()`) at log intervals, and compare their weights at
        each checkpoint (a RuntimeError if they ever differ)."""
        main, ranks = self.ranks.main, self.ranks
        if main:
            self.out.mkdir(parents=True, exist_ok=True)
            for folder in (self.out, self.out / "samples"):  # what a kill mid-write left behind
                for path in remove_partial_writes(folder):
                    logging.getLogger(__name__).info("removed %s, left by an interrupted write", path)
        total, opts = self.total_steps, self.opts
        sums, count, record = torch.zeros(len(STATS) + 1, device=self.device), 0, {}  # + 1: a vote to stop
        bar = tqdm(total=total, initial=self.step, disable=not (progress and main), unit="step", dynamic_ncols=True)
        start, tick = time.perf_counter(), time.perf_counter()
        seconds_at_start = self.seconds
        try:
            while self.step < total:
                if opts.lr_decay:  # how much of the run is behind us: of its steps, or of a time budget
                    elapsed = time.perf_counter() - start
                    self._decay_learning_rates(max(self.step / total,
                                                   (seconds_at_start + elapsed) / (60 * opts.max_minutes)
                                                   if opts.max_minutes else 0.0,
                                                   elapsed / max_seconds if max_seconds else 0.0))
                sums[:-1] += self.train_step()
                count += 1
                bar.update(1)
                elapsed = time.perf_counter() - start
                self.seconds = seconds_at_start + elapsed
                wants_to_stop = bool((opts.max_minutes and self.seconds >= 60 * opts.max_minutes)
                                     or (max_seconds is not None and elapsed >= max_seconds)
                                     or (stop is not None and stop()))
                at_record = self.step % opts.log_every == 0 or self.step >= total
                if ranks.distributed and not at_record:
                    wants_to_stop = False  # ranks vote at log intervals, where they sync anyway
                if at_record or wants_to_stop:
                    now = time.perf_counter()
                    sums[-1] = count * float(wants_to_stop)
                    means = (distributed.mean_over_ranks(sums) / count).tolist()  # the one sync per interval
                    last = self.step >= total or means[-1] > 0
                    record = {"step": self.step, "images": self.step * opts.batch_size,
                              **{k: round(v, 5) for k, v in zip(STATS, means)},
                              "img_per_s": round(count * opts.batch_size / (now - tick), 1),
                              "seconds": round(self.seconds, 1)}
                    if main:
                        with open(self.out / LOG_NAME, "a") as log:
                            log.write(json.dumps(record) + "\n")
                    bar.set_postfix(loss_d=f"{means[0]:.3f}", loss_g=f"{means[1]:.3f}",
                                    D_x=f"{means[2]:.3f}", D_G_z=f"{means[3]:.3f}")
                    sums.zero_()
                    count, tick = 0, now
                    if on_record is not None:
                        on_record(record)
                else:
                    last = False
                if main and (self.step % opts.sample_every == 0 or last):
                    path = self.save_samples()
                    if on_sample is not None:
                        on_sample(self.step, path)
                if checkpoints and (self.step % opts.checkpoint_every == 0 or last):
                    if not distributed.same_on_all_ranks(self.G) or not distributed.same_on_all_ranks(self.D):
                        raise RuntimeError(f"the ranks' weights differ at step {self.step}")
                    if main:
                        save_checkpoint(self)
                        self.checkpoint_step = self.step
                if last:
                    break
        except KeyboardInterrupt:
            if checkpoints and main and not ranks.distributed:  # with other ranks gone, mid-step state is suspect
                save_checkpoint(self)
                self.checkpoint_step = self.step
            raise
        finally:
            bar.close()
        return record
