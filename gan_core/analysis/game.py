""""Real or fake?": rounds of images, a random mix of real (held-out) and generated ones, for a
person to sort; then the truth, their score against chance, and D's and a detector's verdicts.

    deck = Deck(real_images, gan, detector)    # real: uint8 [N, H, W, C] the model never trained on
    round_ = deck.deal(np.random.default_rng())
    result = round_.score([True, False, ...])  # the player's marks, True = "real"
    tally = Tally().add(result)                # the session's running score

The number of real images in a round is not fixed (each is real with probability 1/2), so
counting gives nothing away. Nothing about a player is kept beyond the caller's tally.
"""
from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from ..errors import UserError
from ..model.latent import MAX_SEED, truncate, z_from_seeds
from ..model.networks import GAN
from .real_or_fake import Detector
from .teacher import probabilities

ROUND = 8  # images per round


@dataclass(frozen=True)
class Result:
    right: int                  # the player's right answers
    d_right: int                # D's (it calls an image real at P(real) > 0.5)
    detector_right: int | None  # the detector's, when there is one
    count: int                  # images in the round
    reals: int                  # how many were real


@dataclass(frozen=True)
class Round:
    images: np.ndarray                    # uint8 [ROUND, H, W, C]
    real: tuple[bool, ...]                # the truth
    d_says: tuple[float, ...]             # D's P(real) for each
    detector_says: tuple[float, ...] | None  # the detector's P(real), when there is one

    def score(self, marks) -> Result:
        """The player's marks (True = real, one per image) against the truth, beside D and the detector."""
        marks = list(marks)
        if len(marks) != len(self.real) or not all(isinstance(m, (bool, np.bool_)) for m in marks):
            raise UserError("mark_each", count=len(self.real))
        right = sum(bool(m) == t for m, t in zip(marks, self.real))
        d_right = sum((p > 0.5) == t for p, t in zip(self.d_says, self.real))
        detector_right = (None if self.detector_says is None else
                          sum((p > 0.5) == t for p, t in zip(self.detector_says, self.real)))
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
    """Deals rounds from a pool of real images and a model (its G makes the fakes, its D judges)."""

    def __init__(self, real: np.ndarray, gan: GAN, detector: Detector | None = None, psi: float = 1.0,
                 size: int = ROUND):
        real = np.asarray(real)
        shape = (gan.config.image_size, gan.config.image_size, gan.config.channels)
        if real.dtype != np.uint8 or real.ndim != 4 or real.shape[1:] != shape:
            raise UserError("real_images_shape", shape=list(shape), dtype=str(real.dtype), got=str(tuple(real.shape)))
        if len(real) < size:
            raise UserError("real_images_few", size=size, got=len(real))
        self.real, self.gan, self.detector, self.psi, self.size = real, gan, detector, psi, size

    def deal(self, rng: np.random.Generator) -> Round:
        is_real = rng.random(self.size) < 0.5
        images = np.empty((self.size, *self.real.shape[1:]), np.uint8)
        images[is_real] = self.real[rng.choice(len(self.real), int(is_real.sum()), replace=False)]
        fakes = int((~is_real).sum())
        if fakes:
            seeds = rng.integers(0, MAX_SEED, fakes, endpoint=True).tolist()  # any face of the model
            z = truncate(z_from_seeds(seeds, self.gan.config.nz), self.psi)
            images[~is_real] = self.gan.generate(z)
        d_says = tuple(round(float(p), 4) for p in probabilities(self.gan, images))
        detector_says = (None if self.detector is None else
                         tuple(round(float(p), 4) for p in self.detector.predict(images)))
        return Round(images, tuple(bool(r) for r in is_real), d_says, detector_says)
