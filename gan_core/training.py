"""The DCGAN training loop: D learns to tell real from generated, G learns from D's gradient.

    trainer = Trainer(GANConfig(), TrainConfig(data="faces.zip", out="runs/faces"), images)
    trainer.train()             # tqdm bar, JSONL log, sample grids, resumable checkpoints
    trainer.train(progress=False, stop=event.is_set, on_record=print, checkpoints=False)  # with hooks
    trainer.export("checkpoints/faces")

One loop serves train.py, the studio's live run (gan_core.live_training) and the tests.
"""
from __future__ import annotations

import copy
import dataclasses
import json
import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch
from tqdm.auto import tqdm

from . import distributed
from .augment import check_policy, diff_augment
from .checkpoints import CheckpointError, load_tensors, remove_partial_writes, save_gan, save_tensors
from .config import GANConfig
from .data import TORCHVISION_SETS, Batches, DataError, ImageFiles, StreamedBatches, load_images, open_images
from .distributed import SINGLE, Ranks, SharedRandom
from .latent import z_from_seeds
from .losses import d_loss, g_loss  # importable from here too (gan_core.teacher uses g_loss)
from .media import load_image, make_grid, save_image, to_pil
from .model_card import model_card
from .models import Discriminator, Generator, to_uint8

CHECKPOINT_NAME = "checkpoint.safetensors"
LOG_NAME = "log.jsonl"
STATS = ("loss_d", "loss_g", "d_real", "d_fake", "d_fake_after", "d_accuracy")
STREAM_MODES = ("auto", "on", "off")
COMPILE_MODES = ("auto", "off", "default", "reduce-overhead", "max-autotune")
IMPLEMENTATION = ("fused", "foreach", "capturable", "differentiable")  # how Adam runs, not what it computes


@dataclass
class TrainConfig:
    data: str = ""                # training images: zip, folder or torchvision name
    out: str = "runs/dcgan"       # run folder: log, sample grids, checkpoint
    split: str | None = "auto"    # metadata.csv split ("auto": `train` if there is one)
    limit: int | None = None      # use only the first N images
    stream: str = "auto"          # decode batch by batch in DataLoader workers: "on", "off", or "auto":
    memory_budget_gb: float = 4.0  # ... when decoding the data on every rank of a machine would pass this
    workers: int = 2              # DataLoader worker processes per rank when streaming
    steps: int = 0                # optimisation steps (0: from epochs)
    epochs: float = 5.0           # passes over the data, when steps is 0
    max_minutes: float = 0.0      # also stop after this much training time (0: no limit)
    batch_size: int = 128         # the global batch: each of N ranks takes batch_size / N of it
    lr_g: float = 2e-4            # Adam learning rates, as in the paper
    lr_d: float = 2e-4
    beta1: float = 0.5
    beta2: float = 0.999
    ema_decay: float = 0.999      # EMA of G's weights (what gets shipped); 0 turns it off
    diffaugment: str = ""         # e.g. "color,translation,cutout"; "" is off
    label_smoothing: float = 0.0  # one-sided: D's target for real images is 1 - this
    instance_noise: float = 0.0   # std of Gaussian noise added to every image D sees ([-1, 1] scale)
    g_steps: int = 1              # G updates per D update
    flip: bool = False            # random horizontal flips of the training images
    seed: int = 0
    device: str = "auto"
    channels_last: bool = True    # faster convolutions on CPU and GPU
    sync_batchnorm: bool = False  # with several ranks, BatchNorm over the global batch, not each rank's rows
    dist_timeout: float = 300.0   # seconds a rank waits for the others before the run fails
    compile: str = "auto"         # torch.compile G and D: "default", "reduce-overhead" (CUDA graphs), "max-autotune",
                                  # "off", or "auto": reduce-overhead for one CUDA process (1.39x the step), else off
    log_every: int = 100          # steps per JSONL record and bar update
    sample_every: int = 1000      # steps per fixed-noise grid
    checkpoint_every: int = 1000  # steps per resumable checkpoint

    def __post_init__(self):
        kinds = {"str": (str,), "int": (int,), "float": (int, float), "bool": (bool,), "None": (type(None),)}
        for f in dataclasses.fields(self):  # the annotations, e.g. "int | None", say what each takes
            value, allowed = getattr(self, f.name), [k.strip() for k in f.type.split("|")]
            if not any(isinstance(value, kinds[k]) and (k == "bool" or not isinstance(value, bool))
                       and (k != "float" or math.isfinite(value)) for k in allowed):
                raise ValueError(f"{f.name} must be {' or '.join(allowed)}, got {repr(value)[:40]}")
        check_policy(self.diffaugment)
        if self.stream not in STREAM_MODES:
            raise ValueError(f"stream must be one of {STREAM_MODES}")
        if self.compile not in COMPILE_MODES:
            raise ValueError(f"compile must be one of {COMPILE_MODES}")
        if self.workers < 0:
            raise ValueError("workers must not be negative")
        for key in ("memory_budget_gb", "dist_timeout"):
            if getattr(self, key) <= 0:
                raise ValueError(f"{key} must be positive")
        for key in ("batch_size", "log_every", "sample_every", "checkpoint_every", "g_steps"):
            if getattr(self, key) < 1:
                raise ValueError(f"{key} must be at least 1")
        if self.limit is not None and self.limit < 1:
            raise ValueError("limit must be at least 1")
        for key in ("steps", "epochs", "max_minutes"):
            if getattr(self, key) < 0:
                raise ValueError(f"{key} must not be negative")
        for key in ("lr_g", "lr_d"):
            if getattr(self, key) <= 0:
                raise ValueError(f"{key} must be positive")
        for key in ("beta1", "beta2", "ema_decay", "label_smoothing"):
            if not 0 <= getattr(self, key) < 1:
                raise ValueError(f"{key} must be in [0, 1)")
        if not 0 <= self.instance_noise <= 2:
            raise ValueError("instance_noise must be from 0 to 2")


@torch.no_grad()
def recalibrate_batchnorm(G: Generator, device: torch.device, batches: int = 16, batch_size: int = 128,
                          seed: int = 0) -> Generator:
    """Re-estimate G's BatchNorm running statistics for its current weights (e.g. the EMA's),
    so that eval mode, where each face depends on its own z alone, matches training mode."""
    norms = [m for m in G.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    momenta = [m.momentum for m in norms]
    for m in norms:
        m.reset_running_stats()
        m.momentum = None  # cumulative average over the batches below
    generator = torch.Generator(device=device).manual_seed(seed)
    G.train()
    for _ in range(batches):
        G(torch.randn(batch_size, G.config.nz, device=device, generator=generator))
    for m, momentum in zip(norms, momenta):
        m.momentum = momentum
    return G.eval()


def _flatten_optimizer(prefix: str, optimizer: torch.optim.Optimizer) -> tuple[dict, list]:
    state = optimizer.state_dict()
    tensors = {f"{prefix}.{index}.{key}": value for index, slots in state["state"].items()
               for key, value in slots.items()}
    return tensors, state["param_groups"]


def _unflatten_optimizer(prefix: str, tensors: dict, param_groups: list) -> dict:
    state: dict[int, dict] = {}
    for name, value in tensors.items():
        if name.startswith(prefix + "."):
            index, key = name[len(prefix) + 1:].split(".", 1)
            state.setdefault(int(index), {})[key] = value
    return {"state": state, "param_groups": param_groups}


def load_training_data(model: GANConfig, opts: TrainConfig, ranks: Ranks = SINGLE) -> torch.Tensor | ImageFiles:
    """opts.data decoded into memory (uint8 [N, C, H, W]), or indexed for streaming: with
    opts.stream "on", or "auto" when every rank on this machine holding a decoded copy would
    take more than opts.memory_budget_gb."""
    named = opts.data.lower() in TORCHVISION_SETS and not Path(opts.data).exists()
    if named and opts.stream == "on":
        raise DataError(f"{opts.data} is a torchvision set, read into memory only: stream zips, folders or tar shards")
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
        process's place among torchrun's (gan_core.distributed); the process group is started here."""
        self.model, self.opts, self.ranks = model, opts, ranks
        if opts.batch_size % ranks.world:
            raise ValueError(f"the batch of {opts.batch_size} does not split evenly over {ranks.world} ranks")
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
                        self.save_checkpoint()
                if last:
                    break
        except KeyboardInterrupt:
            if checkpoints and main and not ranks.distributed:  # with other ranks gone, mid-step state is suspect
                self.save_checkpoint()
            raise
        finally:
            bar.close()
        return record

    # --- the release folder ------------------------------------------------------------------
    def export(self, folder: str | Path, half: bool = False, history: int = 8, quality: dict | None = None) -> Path:
        """Write the release folder: config, EMA generator, discriminator, model card, sample
        grid, the training log and a few fixed-noise grids from along the run."""
        folder = Path(folder)
        G = self.shipped_generator()
        D = copy.deepcopy(self.D).to(memory_format=torch.contiguous_format).eval()
        save_gan(folder, self.model, G, D, half=half)
        with torch.no_grad():
            save_image(make_grid(to_uint8(G(self.fixed_z)), nrow=8), folder / "samples.png")
        records = read_log(self.out / LOG_NAME)
        if records:
            keep = records[:: max(1, math.ceil(len(records) / 500))]
            if keep[-1] is not records[-1]:
                keep.append(records[-1])
            (folder / "training_log.jsonl").write_text("".join(json.dumps(r) + "\n" for r in keep))
        grids = sorted((self.out / "samples").glob("step_*.png"))
        if grids and history:
            (folder / "history").mkdir(exist_ok=True)
            for old in (folder / "history").glob("step_*.jpg"):
                old.unlink()
            picks = sorted({grids[round(i * (len(grids) - 1) / max(1, history - 1))] for i in range(history)})
            for grid in picks:
                to_pil(load_image(grid)).save(folder / "history" / f"{grid.stem}.jpg", quality=85)
        last = records[-1] if records else {}
        opts = self.opts
        recipe = {"steps": self.step, "batch size": opts.batch_size, "images seen": self.step * opts.batch_size,
                  "Adam lr G / D": f"{opts.lr_g} / {opts.lr_d}", "Adam betas": f"({opts.beta1}, {opts.beta2})",
                  "EMA decay": opts.ema_decay, "DiffAugment": opts.diffaugment or "off",
                  **({"label smoothing (one-sided)": opts.label_smoothing} if opts.label_smoothing else {}),
                  **({"instance noise (std)": opts.instance_noise} if opts.instance_noise else {}),
                  **({"G steps per D step": opts.g_steps} if opts.g_steps != 1 else {}),
                  "horizontal flips": "on" if opts.flip else "off",
                  "D spectral norm": "on" if self.model.d_spectral_norm else "off", "seed": opts.seed,
                  "weights stored as": "float16" if half else "float32"}
        training = {"device": str(self.device), "training time": f"{self.seconds / 60:.1f} min",
                    **{k: last[k] for k in ("loss_d", "loss_g", "d_real", "d_fake") if k in last}}
        first = f"the first {opts.limit}: " if opts.limit else ""
        data = f"{Path(opts.data).name} (split: {opts.split}, {first}{len(self.batches)} images)" if opts.data \
            else "synthetic (dry run)"
        card = model_card(self.model, data, recipe, training, quality)
        (folder / "README.md").write_text(card)
        return folder

    # --- resumable checkpoints -------------------------------------------------------------
    def save_checkpoint(self, path: str | Path | None = None) -> Path:
        path = Path(path) if path else self.out / CHECKPOINT_NAME
        tensors = {}
        for prefix, module in (("G", self.G), ("D", self.D), ("G_ema", self.G_ema)):
            tensors.update({f"{prefix}.{k}": v for k, v in module.state_dict().items()})
        opt_g, groups_g = _flatten_optimizer("opt_g", self.opt_g)
        opt_d, groups_d = _flatten_optimizer("opt_d", self.opt_d)
        tensors.update(opt_g)
        tensors.update(opt_d)
        tensors["rng"] = self.rng.get_state()
        meta = {"step": self.step, "seconds": self.seconds, "model": self.model.to_dict(),
                "train": dataclasses.asdict(self.opts), "opt_g_groups": groups_g, "opt_d_groups": groups_d}
        save_tensors(path, tensors, meta)
        self.checkpoint_step = self.step
        return path

    def init_from_release(self, folder: str | Path) -> None:
        """Start from a release folder's weights (its EMA G for G and G_ema, its D for D), with
        fresh optimizers: how a shipped model goes on training where only its release survives."""
        from .checkpoints import DISCRIMINATOR_NAME, GENERATOR_NAME, load_weights, read_config

        folder = Path(folder)
        config = read_config(folder)
        if {**config.to_dict(), "name": ""} != {**self.model.to_dict(), "name": ""}:
            raise CheckpointError(f"{folder}: its config {config.to_dict()} differs from this run's")
        load_weights(self.G, folder / GENERATOR_NAME)
        load_weights(self.D, folder / DISCRIMINATOR_NAME)
        self.G_ema.load_state_dict(self.G.state_dict())

    def load_checkpoint(self, path: str | Path) -> None:
        """Continue from a checkpoint of save_checkpoint: weights, optimizers, RNG, step. Anything
        missing, corrupt or saved for another model is a CheckpointError, raised before any change."""
        tensors, meta = load_tensors(path)
        meta = _training_meta(path, meta)
        if meta["model"] != self.model.to_dict():
            raise CheckpointError(f"{path}: saved for model {meta['model']}, not {self.model.to_dict()}")

        def bad(what: str):
            return CheckpointError(f"{path}: not a usable training checkpoint ({what})", "is not a training checkpoint")

        states = {}
        for prefix, module in (("G", self.G), ("D", self.D), ("G_ema", self.G_ema)):
            state = {k[len(prefix) + 1:]: v for k, v in tensors.items() if k.startswith(prefix + ".")}
            expected = module.state_dict()
            if state.keys() != expected.keys() or any(state[k].shape != v.shape for k, v in expected.items()):
                raise bad(f"its {prefix} weights do not fit this model")
            states[prefix] = state
        optimizers = {}
        for prefix, optimizer in (("opt_g", self.opt_g), ("opt_d", self.opt_d)):
            try:
                optimizers[prefix] = _unflatten_optimizer(prefix, tensors, meta[f"{prefix}_groups"])
            except ValueError:
                raise bad(f"its {prefix} tensors have malformed names") from None
            problem = _optimizer_problem(optimizers[prefix], optimizer)
            if problem:
                raise bad(f"{prefix}: {problem}")
        rng = tensors.get("rng")
        if rng is None or rng.dtype != torch.uint8 or rng.shape != self.rng.get_state().shape:
            raise bad("its random-generator state is missing or for another kind of device")
        for prefix, module in (("G", self.G), ("D", self.D), ("G_ema", self.G_ema)):
            module.load_state_dict(states[prefix])
        for prefix, optimizer in (("opt_g", self.opt_g), ("opt_d", self.opt_d)):
            for group, own in zip(optimizers[prefix]["param_groups"], optimizer.param_groups):
                group.update({k: own[k] for k in IMPLEMENTATION if k in own})  # this device's kernels, not the saver's
            optimizer.load_state_dict(optimizers[prefix])
        self.rng.set_state(rng)
        self.step, self.seconds = meta["step"], float(meta.get("seconds", 0.0))


def _training_meta(path, meta: dict) -> dict:
    """A checkpoint's metadata once its keys and types are right; a CheckpointError otherwise."""
    def bad(what: str):
        return CheckpointError(f"{path}: not a training checkpoint ({what})", "is not a training checkpoint")

    for key, kind in (("model", dict), ("train", dict), ("opt_g_groups", list), ("opt_d_groups", list)):
        if key not in meta:
            raise bad(f"no {key!r} in its metadata")
        if not isinstance(meta[key], kind):
            raise bad(f"{key!r} is not a {'JSON object' if kind is dict else 'list'}")
    step, seconds = meta.get("step"), meta.get("seconds", 0.0)
    if isinstance(step, bool) or not isinstance(step, int) or step < 0:
        raise bad("'step' is not a whole number of at least 0")
    if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or not 0 <= seconds < float("inf"):
        raise bad("'seconds' is not a number of at least 0")
    return meta


def _optimizer_problem(saved: dict, optimizer: torch.optim.Optimizer) -> str:
    """What keeps a saved optimizer state from fitting `optimizer` ("" if nothing)."""
    ours = optimizer.state_dict()["param_groups"]  # params numbered 0..n-1, as they are saved
    if len(saved["param_groups"]) != len(ours) or any(
            not isinstance(group, dict) or group.get("params") != own["params"]
            for group, own in zip(saved["param_groups"], ours)):
        return "its parameter groups do not fit this model"
    for group, own in zip(saved["param_groups"], ours):
        for key, value in group.items():
            if key != "params" and key not in IMPLEMENTATION and key in own and not _like(value, own[key]):
                return f"its setting {key!r} is not valid"
    params = [p for group in optimizer.param_groups for p in group["params"]]
    for index, slots in saved["state"].items():
        if not 0 <= index < len(params):
            return "its state does not fit this model"
        for key, value in slots.items():
            if (value.numel() != 1) if key == "step" else (value.shape != params[index].shape):
                return f"its state {key!r} does not fit this model"
    return ""


def _like(value, own) -> bool:
    """Whether a saved optimizer setting can stand for ours: the same flags, finite numbers."""
    if own is None:
        return value is None or isinstance(value, bool)
    if isinstance(own, bool):
        return value is own
    if isinstance(own, (int, float)):
        return not isinstance(value, bool) and isinstance(value, (int, float)) and math.isfinite(value)
    if isinstance(own, (tuple, list)):
        return isinstance(value, list) and len(value) == len(own) and all(map(_like, value, own))
    return True


def read_checkpoint_configs(path: str | Path) -> tuple[GANConfig, dict]:
    """The model config and the training options a checkpoint was saved with (CheckpointError
    if the checkpoint or either of them is not valid)."""
    _, meta = load_tensors(path)
    meta = _training_meta(path, meta)
    try:
        model = GANConfig.from_dict(meta["model"])
    except ValueError as err:
        raise CheckpointError(f"{path}: not a training checkpoint (its model config: {err})") from None
    known = {f.name for f in dataclasses.fields(TrainConfig)}
    unknown = sorted(set(meta["train"]) - known)
    if unknown:
        raise CheckpointError(f"{path}: not a training checkpoint (unknown training options {unknown[:5]})")
    try:
        TrainConfig(**meta["train"])
    except ValueError as err:
        raise CheckpointError(f"{path}: not a training checkpoint (its training options: {err})") from None
    return model, dict(meta["train"])


def read_log(path: str | Path) -> list[dict]:
    """The JSONL training log as a list of records (empty if there is none yet)."""
    path = Path(path)
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
