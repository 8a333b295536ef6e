""""Real or fake?": rounds of images, a random mix of real (held-out) and generated ones, for a
person to sort; then the truth, their score against chance, and D's and a detector's verdicts.

    deck = Deck(real_images, gan, detector)    # real: uint8 [N, H, W, C] the model never trained on
    deck.d_calibration.threshold               # D calls an image real above this (see below)
    round_ = deck.deal(np.random.default_rng())
    result = round_.score([True, False, ...])  # the player's marks, True = "real"
    tally = Tally().add(result)                # the session's running score
    conclusion(tally.right, tally.count)       # "coin", "told" or "backwards"

The number of real images in a round is not fixed (each is real with probability 1/2), so
counting gives nothing away. Nothing about a player is kept beyond the caller's tally.

D's verdict. A finished GAN's D is not a calibrated judge: training pushes D(x) and D(G(z)) about,
and where they end says little about 0.5 (a digits model's D averaged 0.30 on real digits and 0.15
on its fakes, so at 0.5 it called nearly everything fake). So when a deck is made it measures D's
P(real) on up to `calibrate` of its real images and as many fresh fakes, and reads D's verdict
against the threshold that best separates the two: the one that maximises balanced accuracy (the
mean of the shares of real called real and of fakes called fake, so that neither side counts more,
whatever the mix). The threshold sits half-way between the two nearest scores either side of the
best cut; among equally good cuts the one nearest 0.5 wins. The accuracy kept beside it is measured
on the very images it was chosen on, so it flatters D a little (by a few points on a digits model);
the rounds dealt are fresh, and the tally's share for D is the honest figure.
The detector was trained on balanced classes to output P(real), and at 0.5 it scores within a
fraction of a point of its best threshold, so it keeps 0.5, measured the same way.

Which images. The real pool is split once, by a fixed shuffle: half of it (at most `calibrate`
images) measures the threshold and is never dealt, the rest is dealt, so the threshold was not
fitted to the real images in the rounds. The fakes measured are seeds CALIBRATION_SEED onwards,
which rounds never deal. Everything is fixed, so the same model and pool give the same threshold.
"""
from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import torch

from ..errors import UserError
from ..model.latent import MAX_SEED, truncate, z_from_seeds
from ..model.networks import GAN
from .real_or_fake import Detector
from .teacher import probabilities

ROUND = 8                       # images per round
CALIBRATE = 500                 # real images (and as many fakes) a deck measures D on: ~1.2 s for digits, one thread
CALIBRATION_SEED = 5 * 10**6    # the fakes measured are seeds CALIBRATION_SEED, +1, ...; never dealt
SPLIT_SEED = 0                  # the fixed shuffle that splits the real pool
LEVEL = 0.05                    # a score a coin reaches less often than this is not luck


# --- reading a judge's P(real) -------------------------------------------------------------------
@dataclass(frozen=True)
class Calibration:
    """A judge's P(real) read against a threshold, with what it was measured on."""
    threshold: float   # the judge calls an image real when its P(real) > threshold
    accuracy: float    # balanced accuracy at the threshold on the images measured
    mean_real: float   # its mean P(real) on the real images measured...
    mean_fake: float   # ...and on the fakes
    count: int         # real images measured (and as many fakes)

    def says_real(self, p: float) -> bool:
        return bool(p > self.threshold)


def balanced_accuracy(real_p, fake_p, threshold: float) -> float:
    """The mean of the share of `real_p` above `threshold` and the share of `fake_p` at or below it."""
    real_p, fake_p = np.asarray(real_p, np.float64), np.asarray(fake_p, np.float64)
    return float(((real_p > threshold).mean() + (fake_p <= threshold).mean()) / 2)


def best_threshold(real_p, fake_p) -> float:
    """The threshold on P(real) (in 0-1) that maximises balanced accuracy on these scores: half-way
    between the two scores either side of the best cut; ties go to the cut nearest 0.5."""
    real_p, fake_p = np.sort(np.asarray(real_p, np.float64)), np.sort(np.asarray(fake_p, np.float64))
    if not len(real_p) or not len(fake_p):
        raise ValueError("a threshold needs scores on both real and fake images")
    edges = np.unique(np.concatenate([[0.0, 1.0], real_p, fake_p]))
    cuts = (edges[:-1] + edges[1:]) / 2  # every way of splitting the scores, once each
    real_above = 1 - np.searchsorted(real_p, cuts, side="right") / len(real_p)
    fake_below = np.searchsorted(fake_p, cuts, side="right") / len(fake_p)
    score = (real_above + fake_below) / 2
    best = np.flatnonzero(score >= score.max() - 1e-12)
    return float(cuts[best[np.argmin(np.abs(cuts[best] - 0.5))]])


def calibrate(real_p, fake_p, threshold: float | None = None) -> Calibration:
    """A judge's scores on real images and on fakes, read against `threshold` (None: the best one)."""
    real_p, fake_p = np.asarray(real_p, np.float64), np.asarray(fake_p, np.float64)
    if len(real_p) != len(fake_p):
        raise ValueError(f"as many real images as fakes, got {len(real_p)} and {len(fake_p)}")
    threshold = best_threshold(real_p, fake_p) if threshold is None else float(threshold)
    return Calibration(threshold, round(balanced_accuracy(real_p, fake_p, threshold), 4),
                       round(float(real_p.mean()), 4), round(float(fake_p.mean()), 4), len(real_p))


def conclusion(right: int, count: int, level: float = LEVEL) -> str:
    """What a score says: "told" (better than a coin gets by luck, p < level), "backwards" (as
    much worse), else "coin" (about what a coin gets)."""
    if count and chance_of_at_least(right, count) < level:
        return "told"
    if count and chance_of_at_least(count - right, count) < level:
        return "backwards"
    return "coin"


# --- rounds ----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Result:
    right: int                  # the player's right answers
    d_right: int                # D's (against its threshold)
    detector_right: int | None  # the detector's, when there is one
    count: int                  # images in the round
    reals: int                  # how many were real


@dataclass(frozen=True)
class Round:
    images: np.ndarray                    # uint8 [ROUND, H, W, C]
    real: tuple[bool, ...]                # the truth
    d_says: tuple[float, ...]             # D's P(real) for each
    detector_says: tuple[float, ...] | None  # the detector's P(real), when there is one
    d_threshold: float = 0.5              # D calls an image real above this
    detector_threshold: float = 0.5       # ...and the detector above this

    @property
    def d_real(self) -> tuple[bool, ...]:
        """D's verdicts (True: real)."""
        return tuple(p > self.d_threshold for p in self.d_says)

    @property
    def detector_real(self) -> tuple[bool, ...] | None:
        """The detector's verdicts (True: real), when there is one."""
        return None if self.detector_says is None else tuple(p > self.detector_threshold for p in self.detector_says)

    def score(self, marks) -> Result:
        """The player's marks (True = real, one per image) against the truth, beside D and the detector."""
        marks = list(marks)
        if len(marks) != len(self.real) or not all(isinstance(m, (bool, np.bool_)) for m in marks):
            raise UserError("mark_each", count=len(self.real))
        right = sum(bool(m) == t for m, t in zip(marks, self.real))
        d_right = sum(v == t for v, t in zip(self.d_real, self.real))
        detector_right = (None if self.detector_says is None else
                          sum(v == t for v, t in zip(self.detector_real, self.real)))
        return Result(right, d_right, detector_right, len(self.real), sum(self.real))


@dataclass(frozen=True)
class Tally:
    """A session's running score (no more than these counts)."""
    rounds: int = 0
    right: int = 0
    d_right: int = 0
    detector_right: int = 0
    detector_count: int = 0  # images the detector judged (it may be missing for some models)
    count: int = 0

    def add(self, result: Result) -> "Tally":
        judged = result.detector_right is not None
        return replace(self, rounds=self.rounds + 1, right=self.right + result.right,
                       d_right=self.d_right + result.d_right,
                       detector_right=self.detector_right + (result.detector_right or 0),
                       detector_count=self.detector_count + (result.count if judged else 0),
                       count=self.count + result.count)


def chance_of_at_least(right: int, count: int) -> float:
    """P(at least `right` of `count` right by guessing each with a coin): how surprising a score is."""
    from math import comb

    return sum(comb(count, k) for k in range(max(0, right), count + 1)) / 2 ** count


class Deck:
    """Deals rounds from a pool of real images and a model (its G makes the fakes, its D judges);
    half the pool (at most `calibrate` images) and as many fakes measure D's threshold (see above)."""

    def __init__(self, real: np.ndarray, gan: GAN, detector: Detector | None = None, psi: float = 1.0,
                 size: int = ROUND, calibrate: int = CALIBRATE):
        real = np.asarray(real)
        shape = (gan.config.image_size, gan.config.image_size, gan.config.channels)
        if real.dtype != np.uint8 or real.ndim != 4 or real.shape[1:] != shape:
            raise UserError("real_images_shape", shape=list(shape), dtype=str(real.dtype), got=str(tuple(real.shape)))
        if len(real) < 2 * size:
            raise UserError("real_images_few", size=2 * size, got=len(real))
        self.gan, self.detector, self.psi, self.size = gan, detector, psi, size
        order = np.random.default_rng(SPLIT_SEED).permutation(len(real))
        measured = min(int(calibrate), len(real) // 2)
        self.held, self.real = real[order[:measured]], real[order[measured:]]  # measured on / dealt
        self.d_calibration, self.detector_calibration = self._calibrate()

    def _fakes(self, seeds) -> np.ndarray:
        with torch.inference_mode():
            return self.gan.generate(truncate(z_from_seeds(seeds, self.gan.config.nz), self.psi))

    def _calibrate(self) -> tuple[Calibration, Calibration | None]:
        fakes = self._fakes(range(CALIBRATION_SEED, CALIBRATION_SEED + len(self.held)))
        d = calibrate(probabilities(self.gan, self.held), probabilities(self.gan, fakes))
        if self.detector is None:
            return d, None
        return d, calibrate(self.detector.predict(self.held).numpy(), self.detector.predict(fakes).numpy(), 0.5)

    def _seeds(self, rng: np.random.Generator, count: int) -> list[int]:
        """`count` seeds from the model's whole range (any face of the model), none of them measured."""
        seeds = rng.integers(0, MAX_SEED, count, endpoint=True)
        measured = (seeds >= CALIBRATION_SEED) & (seeds < CALIBRATION_SEED + len(self.held))
        while measured.any():
            seeds[measured] = rng.integers(0, MAX_SEED, int(measured.sum()), endpoint=True)
            measured = (seeds >= CALIBRATION_SEED) & (seeds < CALIBRATION_SEED + len(self.held))
        return seeds.tolist()

    def deal(self, rng: np.random.Generator) -> Round:
        is_real = rng.random(self.size) < 0.5
        images = np.empty((self.size, *self.real.shape[1:]), np.uint8)
        images[is_real] = self.real[rng.choice(len(self.real), int(is_real.sum()), replace=False)]
        fakes = int((~is_real).sum())
        if fakes:
            images[~is_real] = self._fakes(self._seeds(rng, fakes))
        d_says = tuple(round(float(p), 4) for p in probabilities(self.gan, images))
        detector_says = (None if self.detector is None else
                         tuple(round(float(p), 4) for p in self.detector.predict(images)))
        return Round(images, tuple(bool(r) for r in is_real), d_says, detector_says, self.d_calibration.threshold,
                     0.5 if self.detector_calibration is None else self.detector_calibration.threshold)
