"""Train live, small: a short digits run in a background thread that a page can start, watch and stop.

    live = LiveRun(data="checkpoints/mnist32/live_digits.npz")   # one run at a time (the app keeps one for all)
    live.start(steps=900, minutes=2, owner=token)   # UserError while its run is already going
    live.status()                        # LiveStatus: step, log records, the latest fixed-noise grid
    live.stop(owner=token)               # UserError for anyone but the starter while it runs

Each run trains gan_core.training.loop.Trainer from scratch with Trainer.train itself (its stop,
time-budget and record/grid hooks; no checkpoints) on one CPU thread (the app keeps the others),
for at most MAX_STEPS steps and MAX_MINUTES minutes, and writes train.py's files (log.jsonl,
samples/step_*.png) into a fresh temporary folder, so gan_core.analysis.dashboard reads it like any run.

The data ships with the digits model (LIVE_DIGITS in its folder), made once from the MNIST test
set (no network at run time):

    $ python -m gan_core.training.live ../shared/data/mnist28.zip checkpoints/mnist32/live_digits.npz
"""
from __future__ import annotations

import argparse
import hmac
import logging
import shutil
import sys
import tempfile
import threading
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from ..model.config import GANConfig
from ..analysis.digits import CONFIDENT
from ..errors import Phrase, UserError
from ..data.media import load_image, split_grid
from .loop import TrainConfig, Trainer

LIVE_DIGITS = "live_digits.npz"  # the live run's digits, in the digits model's folder
# D half G's width: one of the two players kept from running away with the game (and 1.5x the steps)
DIGITS = GANConfig(image_size=32, channels=1, nz=100, g_width=32, d_width=16, name="Live digits 32x32")
MAX_STEPS = 3000
MAX_MINUTES = 3.0
# What keeps the two players balanced in a short run, chosen by measurement (the digits model card's
# "Live training"): a D half G's width, instance noise on everything D sees, so real and generated
# overlap and D cannot become sure; and both learning fast, G faster (2.5x), so G learns a lot in 90 s.
RECIPE = {"instance_noise": 0.3, "lr_g": 1.5e-3, "lr_d": 6e-4}
TAIL = 0.2   # "recent": the last 20% of the logged steps
EVEN = 0.6   # D right at most 60% of the time: it can hardly tell real from generated
BALANCE = ("What keeps them balanced: D is half as wide as G, it sees every image, real or generated, through "
           "noise (instance noise), so it can never be quite sure, and G learns 2.5 times faster than D.")


def make_live_digits(source: str | Path, out: str | Path, count: int = 2000, start: int = 0) -> Path:
    """Digits start to start + count of mnist28.zip at 32x32 (Lanczos-resized, as
    load_images(..., 32, channels=1) gives them to train.py), with their labels, as a compressed
    npz: images uint8 [count, 1, 32, 32], labels uint8 [count]. (The held-out digits of the
    "Real or fake?" game are made the same way, from start 8000.)"""
    from ..data.images import load_images

    digits = load_images(source, 32, channels=1, limit=start + count)
    if len(digits.images) < start + count:
        raise UserError("live_digits_few", source=str(source), got=len(digits.images), need=start + count)
    labels = np.array([int(label) for label in digits.metadata.get("label", [])], np.uint8)[start:]
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(out, images=digits.images[start:].numpy(), labels=labels)
    return out


def load_live_digits(path: str | Path) -> torch.Tensor:
    """Digits saved by make_live_digits, uint8 [N, 1, 32, 32]."""
    path = Path(path)
    if not path.is_file():
        raise UserError("no_live_data", path=str(path))
    with np.load(path) as data:
        return torch.from_numpy(data["images"])


def _whole(value, what: str, low: int, high: int) -> int:
    """A whole number in [low, high], or a UserError that names the setting (the message key `what`)."""
    try:
        ok = not isinstance(value, bool) and int(value) == value and low <= value <= high
    except (TypeError, ValueError):
        ok = False
    if not ok:
        raise UserError("live_whole", name=Phrase(what), low=low, high=high, got=value)
    return int(value)


@dataclass
class LiveStatus:
    running: bool
    step: int                              # steps trained so far
    total: int                             # steps asked for
    seconds: float                         # training time so far
    records: list[dict] = field(default_factory=list)  # the log so far (train.py's format)
    grid: np.ndarray | None = None         # the latest fixed-noise grid, uint8 [H, W, 3]
    grid_step: int | None = None           # the step it was drawn at
    folder: Path | None = None             # the run folder (for gan_core.analysis.dashboard.read_run)
    legible: int | None = None             # grid digits the reader labels with confidence >= 0.9 (of 64)
    ending: str = ""                       # once a run has ended: "finished", "stopped", "out of time",
                                           # "failed" or "ended"; "" while it runs and before the first
    minutes: float = 0.0                   # the run's time budget (what "out of time" ran out of)
    error: str = ""                        # why a "failed" run failed

    @property
    def latest(self) -> dict:
        return self.records[-1] if self.records else {}

    def recent(self, share: float = TAIL) -> dict:
        """Where the two players stand: the means of D(x) ("d_real"), D(G(z)) ("d_fake") and D's
        accuracy ("d_accuracy") over the last `share` of the logged records (at least one), and
        the steps they cover ("steps"); {} before the first record."""
        if not self.records:
            return {}
        tail = self.records[-max(1, round(len(self.records) * share)):]
        means = {k: float(np.mean([r[k] for r in tail])) for k in ("d_real", "d_fake", "d_accuracy")}
        before = self.records[-len(tail) - 1]["step"] if len(tail) < len(self.records) else 0
        return {**means, "steps": tail[-1]["step"] - before}

    @property
    def balance(self) -> str:
        """What the numbers say: "" before any, "even" while D is right at most EVEN of the time
        over the recent steps (it can hardly tell), else "edge" (D keeps an edge)."""
        recent = self.recent()
        if not recent:
            return ""
        return "even" if recent["d_accuracy"] <= EVEN else "edge"

    @property
    def started(self) -> bool:
        return self.running or bool(self.ending)

    @property
    def message(self) -> str:
        """One line in English: where the run is, or how it ended (the studio writes its own)."""
        if not self.started:
            return "no live run yet"
        if self.running:
            return f"training: step {self.step} of {self.total}, {self.seconds:.0f} s"
        how = {"out of time": f"its {self.minutes:g} min are up", "failed": f"failed ({self.error})"}
        return f"{how.get(self.ending, self.ending)} at step {self.step} of {self.total} after {self.seconds:.0f} s"


class LiveRun:
    """Starts, watches and stops one short training run at a time. Only the page that started
    the run (its owner token) can stop it; the run ends by itself at its step count or time budget."""

    def __init__(self, data: str | Path | None = None, images: torch.Tensor | None = None, model: GANConfig = DIGITS,
                 device: str = "auto", threads: int = 1, recipe: dict | None = None, reader=None,
                 work_dir: str | Path | None = None):
        """`data`: an npz of make_live_digits (e.g. the digits model's LIVE_DIGITS), read at the first
        start, or `images` (uint8 [N, C, H, W]) to train on instead; `recipe`: TrainConfig settings for
        every run (default RECIPE); `reader`: a function that loads a DigitClassifier (called once,
        when the first grid is drawn) to read each grid: how many of its 64 digits are legible;
        `work_dir`: where each run's folder is made (default: the system's temp folder)."""
        self.recipe = dict(RECIPE if recipe is None else recipe)
        TrainConfig(**self.recipe)  # a bad recipe is an error now, not in the first run
        if data is None and images is None:
            raise ValueError("a LiveRun needs its data: an npz of make_live_digits, or images")
        self.model, self.device, self.threads = model, device, threads
        self.data = Path(data) if data is not None else None
        self.work_dir = Path(work_dir) if work_dir is not None else None
        self._load_reader, self._reader = reader, None
        self._legible: tuple[int, int] | None = None  # (step, digits read with confidence >= 0.9)
        self._images = images
        self._lock = threading.Lock()  # held while a run trains: one at a time
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._trainer: Trainer | None = None
        self._folder: Path | None = None
        self._records: list[dict] = []
        self._grid: tuple[int, Path] | None = None
        self._total, self._minutes, self._ending, self._error, self._owner = 0, 0.0, "", "", ""
        self._loaded: tuple[Path, np.ndarray] | None = None

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self, steps: int = 900, minutes: float = 2.0, batch_size: int = 64, log_every: int = 10,
              sample_every: int = 50, seed: int = 0, owner: str = "") -> LiveStatus:
        """Train a fresh model for `steps` steps or `minutes` minutes, whichever ends first (the
        digits model does about 7 steps a second on one CPU thread at batch size 64). G's grid
        comes from an EMA of its weights with decay 0.99, short enough to follow a short run.
        `owner` is a token of whoever starts it (e.g. the page's session): stop() asks for it."""
        steps = _whole(steps, "what_steps", 1, MAX_STEPS)
        try:
            minutes = float(minutes)
        except (TypeError, ValueError):
            minutes = float("nan")
        if not 0 < minutes <= MAX_MINUTES:
            raise UserError("live_minutes", max=MAX_MINUTES, got=minutes)
        batch_size = _whole(batch_size, "what_batch_size", 1, 1024)
        log_every = _whole(log_every, "what_log_every", 1, MAX_STEPS)
        sample_every = _whole(sample_every, "what_sample_every", 1, MAX_STEPS)
        if not isinstance(owner, str):
            raise ValueError("owner must be a string")
        if not self._lock.acquire(blocking=False):
            other = self.status()
            raise UserError("live_busy", step=other.step, total=other.total, max=MAX_MINUTES)
        folder = None
        try:
            if self._thread is not None:
                self._thread.join()  # the last run has released the lock: it is on its way out
            if self.work_dir is not None:
                self.work_dir.mkdir(parents=True, exist_ok=True)
            folder = Path(tempfile.mkdtemp(prefix="dcgan-live-", dir=self.work_dir))  # fresh and private to this run
            settings = dict(out=str(folder), steps=steps, batch_size=batch_size, device=self.device, ema_decay=0.99,
                            log_every=log_every, sample_every=sample_every, checkpoint_every=MAX_STEPS + 1,
                            seed=int(seed), compile="off")  # a run of a minute or two: no compiling
            opts = TrainConfig(**{**settings, **self.recipe})  # the recipe's settings win
            with torch.inference_mode(False):  # callers may be in inference mode (the app is); training is not
                images = self._images if self._images is not None else load_live_digits(self.data)
                trainer = Trainer(self.model, opts, images.clone())
        except BaseException:
            if folder is not None:
                shutil.rmtree(folder, ignore_errors=True)
            self._lock.release()
            raise
        self._remove_folder()
        self._trainer, self._folder, self._total, self._minutes, self._owner = trainer, folder, steps, minutes, owner
        self._records, self._grid, self._ending, self._error, self._loaded, self._legible = [], None, "", "", None, None
        self._stop.clear()
        self._thread = threading.Thread(target=self._train, args=(trainer, 60 * minutes),
                                        name="dcgan-live-run", daemon=True)
        self._thread.start()
        return self.status()

    def stop(self, owner: str = "", wait: float = 10.0) -> LiveStatus:
        """Ask the run to stop after its current step (and its last record and grid). While it
        runs, only its starter's `owner` token may stop it (ValueError for anyone else)."""
        if self.running and not hmac.compare_digest(str(owner).encode(), self._owner.encode()):
            raise UserError("live_owner", total=self._total, minutes=self._minutes)
        return self._halt(wait)

    def status(self) -> LiveStatus:
        trainer = self._trainer
        if trainer is None:
            return LiveStatus(False, 0, 0, 0.0)
        grid_step, grid = None, None
        if self._grid is not None:
            grid_step, path = self._grid
            if self._loaded is None or self._loaded[0] != path:
                self._loaded = (path, load_image(path))
            grid = self._loaded[1]
        running = self.running
        ending = "" if running else self._ending or "ended"
        legible = self._legible[1] if self._legible is not None and self._legible[0] == grid_step else None
        return LiveStatus(running, trainer.step, self._total, trainer.seconds, list(self._records), grid, grid_step,
                          self._folder, legible, ending, self._minutes, self._error)

    def close(self) -> None:
        """Stop the run, whoever started it, and delete its folder (when the process ends)."""
        self._halt()
        self._remove_folder()

    def _halt(self, wait: float = 10.0) -> LiveStatus:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=wait)
        return self.status()

    def _remove_folder(self) -> None:
        if self._folder is not None and not self.running:
            shutil.rmtree(self._folder, ignore_errors=True)
            self._folder = None

    # --- the background thread ---------------------------------------------------------------
    def _on_sample(self, step: int, path: Path) -> None:
        if self._load_reader is not None:
            self._reader, self._load_reader = self._load_reader(), None
        if self._reader is not None:
            digits = split_grid(load_image(path)[..., :1], self.model.image_size, 64, nrow=8)
            confident = self._reader.predict(digits).max(1).values >= CONFIDENT
            self._legible = (step, int(confident.sum()))
        self._grid = (step, path)  # only once the file is complete

    def _train(self, trainer: Trainer, budget: float) -> None:
        """Trainer.train with the stop button and the time budget as its hooks: train.py's log
        records (one per log_every steps and at the end) and grids (step 0, every sample_every,
        the end), and no checkpoints."""
        torch.set_num_threads(self.threads)  # for this thread only (OpenMP): the app keeps the rest
        try:
            self._on_sample(trainer.step, trainer.save_samples())
            trainer.train(progress=False, stop=self._stop.is_set, on_record=self._records.append,
                          on_sample=self._on_sample, max_seconds=budget, checkpoints=False)
            self._ending = ("finished" if trainer.step >= self._total else
                            "stopped" if self._stop.is_set() else "out of time")
        except Exception as err:  # shown in the status line, logged with its traceback; the app keeps running
            logging.getLogger(__name__).exception("the live run failed")
            self._error, self._ending = f"{type(err).__name__}: {err}", "failed"
        finally:
            self._lock.release()


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=f"Make the live-training digits (the digits model's {LIVE_DIGITS}).")
    p.add_argument("source", help="mnist28.zip (the 10,000 MNIST test digits)")
    p.add_argument("out", help=f"npz to write (e.g. checkpoints/mnist32/{LIVE_DIGITS})")
    p.add_argument("--count", type=int, default=2000, help="how many digits (default 2000)")
    p.add_argument("--start", type=int, default=0, help="the first digit's row (default 0; 8000 for the held-out ones)")
    args = p.parse_args(argv)
    try:
        out = make_live_digits(args.source, args.out, args.count, args.start)
    except UserError as err:
        print(f"live_training: {err}", file=sys.stderr)
        return 2
    print(f"{args.count} digits -> {out} ({out.stat().st_size / 1e3:.0f} kB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
