"""The 1-D GAN of Goodfellow et al. 2014 (Figure 1), small enough to train live on one CPU thread.

    toy = ToyGAN("balanced", seed=0)      # or "d_strong", "g_strong" (PRESETS)
    toy.train(200)                        # 200 rounds of the preset's D and G steps
    snap = toy.snapshot()                 # Snapshot: x, the data's density, G's density, D(x), figures
    snap.d_gap                            # max |D(x) - 1/2| where the data lives: 0 at the ideal

The data is a mixture of two Gaussians (MODES, equal weights). G maps Gaussian noise to a number,
D maps a number to a logit; both are small MLPs, initialised and sampled from the toy's own seeded
generator (the global RNG is never touched). Theory (the paper's Proposition 1): for a fixed G the
best D is p_data / (p_data + p_g), so once G's distribution is the data's, D(x) = 1/2 everywhere
the data lives. Each preset is one way the game is set up:

* balanced: non-saturating G loss, D ten times faster than G (two time scales, TTUR), a light R1
  gradient penalty on D, two noise dimensions, both learning rates eased down towards the end: D
  flattens to 1/2 as G matches both bumps (bench/toy.py: seeds 0-9).
* d_strong: D trained alone first, then five times per G step at a high learning rate, with
  saturating (tanh) units, and the paper's original minimax G loss log(1 - D(G(z))), G stepping by
  plain SGD: D is sure G's samples are fake, G's gradient vanishes, and G stays where it started.
* g_strong: G trained five times per D step at a high learning rate: G piles onto wherever D
  likes best, one bump at a time, and hops when D catches up.

Each preset carries one sentence (a gan_core Phrase) saying what you are seeing.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from ..errors import Phrase

MODES = ((2.2, 0.5), (3.8, 0.5))    # the data: (mean, std) of two equally likely Gaussians, a valley between
                                    # (G starts near 0, off to the left, as in the paper's figure)
X_RANGE = (-1.5, 6.5)               # the plot's x range
GRID = 201                          # points on the plot's x grid
SUPPORT = 0.1                       # "where the data lives": data density above this share of its peak
BAND = 0.05                         # D cannot tell: |D(x) - 1/2| <= BAND over the support
MATCH = 0.9                         # ... and G's density overlaps the data's this much: the ideal, reached
NEAR = 1.0                          # a sample within NEAR (2 std) of its nearest mode's mean is "near" that mode
SAMPLES = 20_000                    # G's samples behind its density
BANDWIDTH = 0.08                    # G's density: a Gaussian kernel this wide over its samples


@dataclass(frozen=True)
class Preset:
    name: str
    what: Phrase            # one sentence: what the picture shows
    lr_d: float             # learning rates (Adam's; G's plain SGD's with g_sgd)
    lr_g: float
    d_steps: int = 1        # D updates per round
    g_steps: int = 1        # G updates per round
    head_start: int = 0     # D updates before G's first (D ahead from the start)
    minimax: bool = False   # G minimises log(1 - D(G(z))) (the paper's game) instead of -log D(G(z))
    g_sgd: bool = False     # G learns by plain SGD, its step the size of its gradient (Adam would rescale a vanishing one)
    r1: float = 0.0         # R1 penalty: r1/2 * E|dD/dx|^2 on real samples (keeps D smooth where the data lives)
    d_tanh: bool = False    # D's hidden units saturate (tanh): far from the data its verdict is flat, as a perfect D's is
    d_width: int = 64
    g_width: int = 64
    nz: int = 4             # G's noise dimensions (balanced: 2; with more, G's output sums more of them and
                            # fills the valley between the bumps, as sums of noise do; with 1, G misses the tails)
    batch: int = 256
    decay: tuple[int, int] | None = None  # rounds (start, end): both learning rates eased to FLOOR in between
    betas: tuple[float, float] = (0.5, 0.9)


FLOOR = 0.05  # learning rates after the decay, as a share of the preset's

PRESETS = {
    "balanced": Preset("balanced", Phrase("toy_what_balanced"), lr_d=2e-3, lr_g=2e-4, nz=2, r1=0.05,
                       decay=(1200, 2000)),
    "d_strong": Preset("d_strong", Phrase("toy_what_d_strong"), lr_d=5e-3, lr_g=1e-3, d_steps=5, head_start=300,
                       minimax=True, g_sgd=True, d_tanh=True, d_width=128),
    "g_strong": Preset("g_strong", Phrase("toy_what_g_strong"), lr_d=2e-3, lr_g=5e-3, g_steps=5),
}


@dataclass
class Snapshot:
    step: int               # rounds trained
    x: np.ndarray           # float [GRID], the plot's x
    data: np.ndarray        # the data's density at x
    g: np.ndarray           # G's density at x (a kernel estimate over SAMPLES samples)
    d: np.ndarray           # D(x)
    support: np.ndarray     # bool [GRID]: where the data lives (density above SUPPORT of its peak)
    d_gap: float            # max |D(x) - 1/2| over the support: 0 at the ideal
    g_grad: float           # the size of G's gradient (its parameter-gradient norm, median of the last 50 G steps)
    d_real: float           # mean D(x) on data samples and on G's samples
    d_fake: float
    shares: tuple[float, float]  # share of G's samples near each mode (the rest are elsewhere)
    overlap: float          # the area under min(data, G): 1 when G's density is the data's

    @property
    def in_band(self) -> bool:
        """D(x) within 1/2 +- BAND wherever the data lives."""
        return self.d_gap <= BAND

    @property
    def ideal(self) -> bool:
        """The equilibrium: D cannot tell (in the band) because G's density is the data's (not because D is
        weak or untrained: a D in the band beside a G that does not match is not the ideal)."""
        return self.in_band and self.overlap >= MATCH


class Standardise(nn.Module):
    """(x - mean) / std: D sees the data's range as about -2 to 2 (where its initial kinks are)."""

    def __init__(self, mean: float, std: float):
        super().__init__()
        self.mean, self.std = mean, std

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (x - self.mean) / self.std


def mlp(n_in: int, width: int, generator: torch.Generator, tanh: bool = False) -> nn.Sequential:
    """n_in -> width -> width -> 1, LeakyReLU (or tanh) between, initialised from `generator` (PyTorch's default ranges)."""
    act = nn.Tanh if tanh else lambda: nn.LeakyReLU(0.2)
    net = nn.Sequential(nn.Linear(n_in, width), act(),   # [B, width]
                        nn.Linear(width, width), act(),  # [B, width]
                        nn.Linear(width, 1))             # [B, 1]
    with torch.no_grad():
        for layer in net:
            if isinstance(layer, nn.Linear):
                bound = 1 / math.sqrt(layer.in_features)
                layer.weight.uniform_(-bound, bound, generator=generator)
                layer.bias.uniform_(-bound, bound, generator=generator)
    return net


def data_density(x: np.ndarray) -> np.ndarray:
    return sum(0.5 * np.exp(-0.5 * ((x - m) / s) ** 2) / (s * math.sqrt(2 * math.pi)) for m, s in MODES)


def density(samples: np.ndarray, x: np.ndarray, bandwidth: float = BANDWIDTH) -> np.ndarray:
    """A Gaussian kernel density estimate at the (evenly spaced) grid x: the samples binned on a
    grid four times finer, then smoothed (fast enough for every frame)."""
    fine = np.linspace(x[0], x[-1], 4 * (len(x) - 1) + 1)
    step = fine[1] - fine[0]
    counts, _ = np.histogram(samples, bins=len(fine), range=(fine[0] - step / 2, fine[-1] + step / 2))
    k = np.arange(-int(4 * bandwidth / step) - 1, int(4 * bandwidth / step) + 2) * step
    kernel = np.exp(-0.5 * (k / bandwidth) ** 2)
    kernel /= kernel.sum() * step
    smooth = np.convolve(counts / len(samples), kernel, mode="same")
    return smooth[::4]


class ToyGAN:
    """One toy game: the data, G, D and their optimisers, trained a round at a time."""

    def __init__(self, preset: str = "balanced", seed: int = 0):
        if preset not in PRESETS:
            raise ValueError(f"unknown toy preset {preset!r}; one of {list(PRESETS)}")
        self.preset = p = PRESETS[preset]
        self.seed = seed
        self.rng = torch.Generator().manual_seed(seed)
        self.G = mlp(p.nz, p.g_width, self.rng)
        mean = sum(m for m, _ in MODES) / len(MODES)
        std = math.sqrt(sum(s ** 2 + (m - mean) ** 2 for m, s in MODES) / len(MODES))
        self.D = nn.Sequential(Standardise(mean, std), *mlp(1, p.d_width, self.rng, p.d_tanh))
        self.opt_g = (torch.optim.SGD(self.G.parameters(), lr=p.lr_g) if p.g_sgd else
                      torch.optim.Adam(self.G.parameters(), lr=p.lr_g, betas=p.betas))
        self.opt_d = torch.optim.Adam(self.D.parameters(), lr=p.lr_d, betas=p.betas)
        self.step = 0
        self.g_grads: list[float] = []  # G's gradient norm at its recent steps
        self.x = np.linspace(*X_RANGE, GRID)
        self.data_density = data_density(self.x)
        self.support = self.data_density >= SUPPORT * self.data_density.max()
        self._means = torch.tensor([m for m, _ in MODES])
        self._stds = torch.tensor([s for _, s in MODES])

    # --- sampling ------------------------------------------------------------------------------
    def real(self, n: int, rng: torch.Generator | None = None) -> torch.Tensor:
        """n data samples, [n, 1] (from the training generator unless `rng` is given)."""
        rng = rng or self.rng
        mode = torch.randint(len(MODES), (n,), generator=rng)
        return (self._means[mode] + self._stds[mode] * torch.randn(n, generator=rng)).unsqueeze(1)

    def fake(self, n: int, rng: torch.Generator | None = None) -> torch.Tensor:
        """n samples of G, [n, 1]."""
        return self.G(torch.randn(n, self.preset.nz, generator=rng or self.rng))

    # --- training ------------------------------------------------------------------------------
    def _learning_rate(self) -> float:
        """The share of the preset's learning rates at this round: 1, eased (cosine) to FLOOR over `decay`."""
        if self.preset.decay is None:
            return 1.0
        start, end = self.preset.decay
        t = min(max((self.step - start) / (end - start), 0.0), 1.0)
        return FLOOR + (1 - FLOOR) * 0.5 * (1 + math.cos(math.pi * t))

    def _d_step(self) -> None:
        p = self.preset
        real = self.real(p.batch).requires_grad_(p.r1 > 0)
        with torch.no_grad():
            fake = self.fake(p.batch)
        real_logit, fake_logit = self.D(real), self.D(fake)
        # (1) D: maximise log D(x) + log(1 - D(G(z)))
        loss = F.softplus(-real_logit).mean() + F.softplus(fake_logit).mean()
        if p.r1 > 0:
            grad, = torch.autograd.grad(real_logit.sum(), real, create_graph=True)
            loss = loss + p.r1 / 2 * grad.pow(2).sum(1).mean()
        self.opt_d.zero_grad(set_to_none=True)
        loss.backward()
        self.opt_d.step()

    def _g_step(self) -> None:
        p = self.preset
        logit = self.D(self.fake(p.batch))
        # (2) G: minimise log(1 - D(G(z))) (minimax), or maximise log D(G(z)) (non-saturating)
        loss = -F.softplus(logit).mean() if p.minimax else F.softplus(-logit).mean()
        self.opt_g.zero_grad(set_to_none=True)
        loss.backward()
        norm = torch.sqrt(sum(q.grad.pow(2).sum() for q in self.G.parameters()))
        self.g_grads = [*self.g_grads[-49:], float(norm)]
        self.opt_g.step()

    def train(self, steps: int) -> None:
        """`steps` rounds: the preset's D steps, then its G steps (D's parameters untouched by G's step)."""
        if self.step == 0 and steps > 0:
            for _ in range(self.preset.head_start):
                self._d_step()
        for _ in range(steps):
            share = self._learning_rate()
            for opt, lr in ((self.opt_d, self.preset.lr_d), (self.opt_g, self.preset.lr_g)):
                for group in opt.param_groups:
                    group["lr"] = lr * share
            for _ in range(self.preset.d_steps):
                self._d_step()
            self.D.requires_grad_(False)
            for _ in range(self.preset.g_steps):
                self._g_step()
            self.D.requires_grad_(True)
            self.step += 1

    # --- what the picture shows ----------------------------------------------------------------
    @torch.no_grad()
    def d_on_grid(self) -> np.ndarray:
        return torch.sigmoid(self.D(torch.from_numpy(self.x).float().unsqueeze(1))).squeeze(1).numpy()

    @torch.no_grad()
    def snapshot(self) -> Snapshot:
        d = self.d_on_grid()
        view = torch.Generator().manual_seed(self.seed + 1)  # its own: looking does not change the training
        samples = self.fake(SAMPLES, view)
        real = self.real(SAMPLES // 4, view)
        g = density(samples.squeeze(1).numpy(), self.x)
        dx = self.x[1] - self.x[0]
        distance = (samples - self._means).abs()  # [SAMPLES, modes]
        nearest = distance.argmin(1)
        near = distance.min(1).values < NEAR
        shares = tuple(float((near & (nearest == k)).float().mean()) for k in range(len(MODES)))
        return Snapshot(step=self.step, x=self.x, data=self.data_density, g=g, d=d, support=self.support,
                        d_gap=float(np.abs(d[self.support] - 0.5).max()),
                        g_grad=float(np.median(self.g_grads)) if self.g_grads else 0.0,
                        d_real=float(torch.sigmoid(self.D(real)).mean()),
                        d_fake=float(torch.sigmoid(self.D(samples)).mean()),
                        shares=shares, overlap=float(np.minimum(g, self.data_density).sum() * dx))
