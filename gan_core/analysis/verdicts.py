"""What D's number means: its score on a picture read against its scores on held-out real images
and on fresh fakes, and no number at all for a picture a faces model's D was never meant to see.

    readings = load_readings(folder)                # checkpoints/<model>/d_readings.json, or None (a Hub model)
    reading = readings.read(logit)                  # probability, below_real, below_fake, conclusion
    judged = judge(gan, photo, aligner, readings)   # a picture as the Ask D tab judges it
    judged.found, judged.image, judged.verdict, judged.reading
    readings = measure(gan, real, psi=0.8)          # D on real images and fresh fakes (bench/verdicts.py)
    save_readings(folder, readings)

D is the police of the training game: trained to tell this model's fakes from its training
pictures, and nothing else. Its P(real) is no calibrated probability (a finished D's scores sit
wherever training left them; see gan_core.analysis.game), so a number is read against D's own
scores on two sets it never trained on: held-out real images, and fresh fakes drawn as the
gallery draws them (seeds from FAKE_SEED on, at the studio's truncation). Each set is kept as
LEVELS sorted quantiles of D's logit, so a reading is two shares: of the real images D scores
lower, and of the fakes D scores lower, and a plain conclusion from them (CONCLUSIONS).

A faces model's D saw faces only, on the training crop. A picture is judged on the face the face
finder finds in it, aligned to that crop; a picture without a face gets no number (a coffee cup's
0.99 would mean nothing). Without an aligner (a digits model), the picture's centre square is judged.
"""
from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from ..data.uploads import load_upload
from ..model.checkpoints import CheckpointError, atomic_write
from ..model.latent import truncate, z_from_seeds
from ..model.networks import GAN, from_uint8
from ..photos.align import Aligner, Alignment, NoFace
from .game import balanced_accuracy, best_threshold
from .teacher import Verdict, ask

READINGS_NAME = "d_readings.json"
FORMAT, VERSION = "d_readings", 1
LEVELS = 1001           # quantiles kept per set: at 0, 0.1%, ..., 100%
FAKE_SEED = 6 * 10**6   # the fresh fakes are seeds FAKE_SEED, +1, ... (the game measures from 5 * 10**6)
LOW, HIGH = 0.05, 0.95  # a score under 95% of a set's is low for it, one over 95% high
TYPICAL = 0.25          # over a quarter of the real images' scores: a typical real image's (the faces'
                        # D tells real from fake best near there: over 83% of the fakes score lower)
# What a reading concludes, from the shares of real images (and of fakes) that D scores lower:
CONCLUSIONS = (
    "above_real",    # over HIGH of the real images: D is surer than usual that it is real
    "typical_real",  # TYPICAL to HIGH of them: D rates it like a typical real image
    "low_real",      # LOW to TYPICAL of them: low for a real image, where many fakes score: D leans towards fake
    "fake",          # under LOW of them: D takes it for a fake
    "below_fakes",   # under LOW of the real images and of the fakes: less real to D than nearly all its own fakes
)


def _logit(p: float) -> float:
    p = min(max(float(p), 1e-7), 1 - 1e-7)
    return math.log(p / (1 - p))


def _sigmoid(x: float) -> float:
    return 1 / (1 + math.exp(-x)) if x >= 0 else math.exp(x) / (1 + math.exp(x))


@dataclass(frozen=True)
class Scores:
    """D's logits on one set of images, kept as sorted quantiles at evenly spaced levels."""
    what: str                       # where the images come from, in words ("celeba64.zip test split")
    count: int                      # images scored
    quantiles: tuple[float, ...]    # D's logit at levels 0, 1/(n-1), ..., 1: sorted, at least 2
    psi: float | None = None        # the fakes' truncation (None for real images)

    @classmethod
    def of(cls, logits, what: str, psi: float | None = None, levels: int = LEVELS) -> "Scores":
        logits = np.asarray(logits, np.float64).ravel()
        if len(logits) < 2 or not np.isfinite(logits).all():
            raise ValueError(f"need at least 2 finite scores, got {len(logits)}")
        q = np.quantile(logits, np.linspace(0, 1, max(2, min(levels, len(logits)))))
        return cls(what, len(logits), tuple(round(float(v), 5) for v in q), psi)

    def share_below(self, logit: float) -> float:
        """The share of this set's images D scores lower than `logit`: read off the quantiles, linear
        between them; a score equal to some of them counts half of those (0 under the lowest, 1 over
        the highest)."""
        q = np.asarray(self.quantiles)
        levels = np.linspace(0, 1, len(q))
        lo, hi = int(np.searchsorted(q, logit, "left")), int(np.searchsorted(q, logit, "right"))
        if lo < hi:  # equal to quantiles lo..hi-1
            return float((levels[lo] + levels[hi - 1]) / 2)
        if lo == 0:
            return 0.0
        if lo == len(q):
            return 1.0
        return float(levels[lo - 1] + (levels[lo] - levels[lo - 1]) * (logit - q[lo - 1]) / (q[lo] - q[lo - 1]))

    def quantile(self, level: float) -> float:
        """D's logit at `level` (0-1) of this set, linear between the quantiles kept."""
        return float(np.interp(level, np.linspace(0, 1, len(self.quantiles)), self.quantiles))

    def to_json(self) -> dict:
        out = {"what": self.what, "count": self.count}
        if self.psi is not None:
            out["psi"] = self.psi
        return {**out, "quantiles": list(self.quantiles)}

    @classmethod
    def from_json(cls, obj) -> "Scores":
        q = obj["quantiles"]
        if not isinstance(q, list) or len(q) < 2 or not all(isinstance(v, (int, float)) and math.isfinite(v) for v in q):
            raise ValueError("quantiles must be a list of at least 2 finite numbers")
        if any(b < a for a, b in zip(q, q[1:])):
            raise ValueError("quantiles must be sorted")
        count, psi = obj["count"], obj.get("psi")
        if not isinstance(count, int) or count < 2:
            raise ValueError("count must be a whole number of at least 2")
        if psi is not None and not (isinstance(psi, (int, float)) and 0 <= psi <= 1):
            raise ValueError("psi must be a number from 0 to 1")
        return cls(str(obj["what"]), count, tuple(float(v) for v in q), None if psi is None else float(psi))


@dataclass(frozen=True)
class Reading:
    """D's score on one picture, read against its scores on held-out real images and on fresh fakes."""
    probability: float   # D's raw P(real): sigmoid of its logit
    logit: float
    below_real: float    # the share of held-out real images D scores lower
    below_fake: float    # the share of fresh fakes D scores lower
    says_real: bool      # over the threshold that best tells the two sets apart
    conclusion: str      # one of CONCLUSIONS
    real_count: int      # the real images measured...
    fake_count: int      # ... and the fakes
    fake_psi: float      # the fakes' truncation


def conclude(below_real: float, below_fake: float) -> str:
    """One of CONCLUSIONS, from the shares of real images and of fakes that D scores lower."""
    if below_real > HIGH:
        return "above_real"
    if below_real >= TYPICAL:
        return "typical_real"
    if below_real >= LOW:
        return "low_real"
    return "fake" if below_fake >= LOW else "below_fakes"


@dataclass(frozen=True)
class Readings:
    """D's scores on held-out real images and on fresh fakes (d_readings.json)."""
    real: Scores
    fake: Scores                          # at the studio's truncation: what the gallery shows
    threshold: float                      # logit that best tells real from fake (balanced accuracy)
    balanced_accuracy: float              # at that threshold, on the sets measured (it flatters D a little)
    others: tuple[Scores, ...] = ()       # fakes at other truncations, for the model card
    model: dict = field(default_factory=dict)  # what was measured: model name, D's file digest, ...

    def read(self, logit: float) -> Reading:
        logit = float(logit)
        below_real, below_fake = self.real.share_below(logit), self.fake.share_below(logit)
        return Reading(_sigmoid(logit), logit, below_real, below_fake, logit > self.threshold,
                       conclude(below_real, below_fake), self.real.count, self.fake.count, self.fake.psi)

    def to_json(self) -> dict:
        return {"format": FORMAT, "version": VERSION, "score": "D's logit (P(real) = sigmoid)",
                "model": self.model, "threshold": round(self.threshold, 5),
                "threshold_p": round(_sigmoid(self.threshold), 5), "balanced_accuracy": self.balanced_accuracy,
                "real": self.real.to_json(), "fake": self.fake.to_json(), "others": [s.to_json() for s in self.others]}

    @classmethod
    def from_json(cls, obj) -> "Readings":
        if not isinstance(obj, dict) or obj.get("format") != FORMAT or obj.get("version") != VERSION:
            raise ValueError(f'expected {{"format": "{FORMAT}", "version": {VERSION}, ...}}')
        fake = Scores.from_json(obj["fake"])
        if fake.psi is None:
            raise ValueError("the fakes' psi is missing")
        threshold, accuracy = obj["threshold"], obj["balanced_accuracy"]
        if not isinstance(threshold, (int, float)) or not math.isfinite(threshold):
            raise ValueError("threshold must be a finite number")
        if not isinstance(accuracy, (int, float)) or not 0 <= accuracy <= 1:
            raise ValueError("balanced_accuracy must be a number from 0 to 1")
        others = obj.get("others", [])
        if not isinstance(others, list):
            raise ValueError("others must be a list")
        return cls(Scores.from_json(obj["real"]), fake, float(threshold), float(accuracy),
                   tuple(Scores.from_json(o) for o in others), dict(obj.get("model") or {}))


def load_readings(folder: str | os.PathLike | None) -> Readings | None:
    """The readings shipped in a model folder, or None if it has none (a Hub model, an old release)."""
    if folder is None:
        return None
    path = Path(folder) / READINGS_NAME
    if not path.is_file():
        return None
    try:
        return Readings.from_json(json.loads(path.read_text()))
    except (OSError, ValueError, KeyError, TypeError) as err:
        raise CheckpointError("verdict_unreadable", path=str(path), error=str(err).splitlines()[0]) from None


def save_readings(folder: str | os.PathLike, readings: Readings) -> Path:
    path = Path(folder) / READINGS_NAME
    atomic_write(path, lambda tmp: Path(tmp).write_text(json.dumps(readings.to_json(), indent=1) + "\n"))
    return path


# --- measuring ---------------------------------------------------------------------------------
@torch.no_grad()
def logits(gan: GAN, images: np.ndarray, batch_size: int = 500) -> np.ndarray:
    """D's logits on uint8 images [N, S, S, C] (the model's size and channels), float64 [N]."""
    D = gan.D.eval()
    out = [D(from_uint8(images[i:i + batch_size], gan.device).contiguous()).flatten().double().cpu().numpy()
           for i in range(0, len(images), batch_size)]
    return np.concatenate(out) if out else np.zeros(0)


@torch.no_grad()
def fake_logits(gan: GAN, count: int, psi: float, first_seed: int = FAKE_SEED, batch_size: int = 500) -> np.ndarray:
    """D's logits on `count` fresh fakes, seeds first_seed onwards at truncation `psi`, as the gallery draws them."""
    out = []
    for start in range(first_seed, first_seed + count, batch_size):
        seeds = range(start, min(start + batch_size, first_seed + count))
        out.append(logits(gan, gan.generate(truncate(z_from_seeds(seeds, gan.config.nz), psi))))
    return np.concatenate(out)


def measure(gan: GAN, real: np.ndarray, psi: float, fakes: int = 5000, other_psis: tuple[float, ...] = (),
            real_what: str = "held-out real images", model: dict | None = None) -> Readings:
    """D's readings: its logits on `real` (uint8 [N, S, S, C], images it never trained on) and on
    `fakes` fresh fakes at `psi` (and as many at each of `other_psis`, for the card)."""
    real_logits = logits(gan, np.asarray(real))
    fake = fake_logits(gan, fakes, psi)
    sigmoid = lambda x: 1 / (1 + np.exp(-x))  # noqa: E731
    p = best_threshold(sigmoid(real_logits), sigmoid(fake))
    threshold = _logit(p)
    accuracy = round(balanced_accuracy(real_logits, fake, threshold), 4)
    seeds = f"seeds {FAKE_SEED}-{FAKE_SEED + fakes - 1}"
    others = tuple(Scores.of(fake_logits(gan, fakes, o), f"{seeds} at psi {o:g}", o) for o in other_psis)
    return Readings(Scores.of(real_logits, real_what), Scores.of(fake, f"{seeds} at psi {psi:g}", psi),
                    threshold, accuracy, others, model or {})


# --- judging a picture -------------------------------------------------------------------------
@dataclass
class Judgement:
    """A picture as D judges it: the face found in it (or its centre square), D's verdict, its reading."""
    found: bool                           # False: a faces model and no face in the picture: no number
    image: np.ndarray | None = None       # uint8 [S, S, C]: what D saw (the aligned face crop)
    verdict: Verdict | None = None        # D's probability, gradient and feature maps
    reading: Reading | None = None        # None when the model ships no readings
    alignment: Alignment | None = None    # where the face was found, for a faces model


def read(gan: GAN, image: np.ndarray, readings: Readings | None) -> Judgement:
    """D's verdict on a model-sized image (uint8 [S, S, C]), and its reading when there are readings."""
    verdict = ask(gan, image)
    return Judgement(True, verdict.image, verdict, readings.read(verdict.logit) if readings else None)


def judge(gan: GAN, picture: np.ndarray, aligner: Aligner | None, readings: Readings | None = None) -> Judgement:
    """D on a picture (uint8 [H, W, 3], any size, e.g. gan_core.data.uploads.load_photo's): with an
    `aligner` (a faces model), on the face found in it, aligned to the training crop, or no number
    at all (found False) if there is none; without one, on its centre square."""
    picture = np.asarray(picture)
    if aligner is None:
        return read(gan, load_upload(picture, gan.config.image_size, gan.config.channels), readings)
    if aligner.size != gan.config.image_size:
        raise ValueError(f"the aligner makes {aligner.size}px crops; this model takes {gan.config.image_size}px")
    try:
        found = aligner.align(picture)
    except NoFace:
        return Judgement(False)
    judged = read(gan, found.crop, readings)
    judged.alignment = found
    return judged
