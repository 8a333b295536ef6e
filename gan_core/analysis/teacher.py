"""Ask the discriminator: D as the teacher whose gradient tells the pixels (or G) what to change.

    verdict = ask(gan, image)                       # D's probability that the image is real, and why
    verdict.probability, verdict.heat_map(256), verdict.signed_map(256)
    images, probs = pixel_steps(gan, image, steps=5, step_size=0.25)  # climb D's gradient in pixels
    images, probs = generator_steps(gan, seed, steps=5)               # ...or in a copy of G, as training does
    walk = Walk(gan, z, "z", lr=0.05); walk.take(5); walk.take(5)      # steps through G that carry on
    teaching_defaults(gan.config)     # the model's measured step sizes (config.json extra.teaching)
    maps = feature_maps(gan, image, layer=1, top=6)                   # D's units that fire most on it

Images are uint8 [H, W, C] at the model's size (`gan_core.data.uploads.load_upload` makes one from a
file). Nothing here changes the model: gradients are taken with torch.autograd.grad (nothing lands
in a .grad), D stays in eval mode, and the G steps train a deep copy. Every function works inside
the app's torch.inference_mode() and on the model's device.
"""
from __future__ import annotations

import contextlib
import copy
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import torch
import torch.nn.functional as F

from ..errors import Phrase, UserError
from ..model.latent import z_from_seed
from ..model.losses import g_loss
from ..data.media import BLUE_WHITE_RED, colormap, upscale
from ..model.networks import GAN, Discriminator, from_levels, from_uint8, to_uint8

MAX_STEPS = 50
MAX_STEP_SIZE = 16.0          # grey levels (root-mean-square) per pixel step
MAX_LR = {"weights": 1e-2, "z": 1.0}
DEFAULT_LR = {"weights": 2e-5, "z": 0.02}  # gentle: training's 2e-4 makes one face "real" in one step
KINDS = ("z", "weights", "pixels")  # a step moves G's input z, a copy of G's weights, or the pixels
MAX_SIZE = {**MAX_LR, "pixels": MAX_STEP_SIZE}
# a model without measured ones (its config's extra.teaching: see bench/teaching.py) steps with these
FALLBACK_TEACHING = {"how": "z", "count": 5, **DEFAULT_LR, "pixels": 0.25}
MAX_TOP = 32                  # feature maps per answer
MAX_DISPLAY = 1024            # side of any picture made here, pixels


class Steps(NamedTuple):
    images: list[np.ndarray]   # uint8 [H, W, C]; images[0] is the starting image
    probabilities: list[float]  # D's probability that each image is real


class FeatureMap(NamedTuple):
    channel: int               # the unit's index in its layer
    strength: float            # its mean activation on this image
    overlay: np.ndarray        # uint8 [size, size, 3]: where it fires, over the image


# --- colours ----------------------------------------------------------------------------------
def _robust_max(values: np.ndarray, percentile: float = 99.0) -> float:
    """A scale that a few extreme pixels cannot set on their own (never zero)."""
    scale = float(np.percentile(values, percentile)) if values.size else 0.0
    return scale if scale > 0 else float(values.max(initial=0.0)) or 1.0


def _display(image: np.ndarray, size: int | None, smooth: bool = False) -> np.ndarray:
    if size is None or size == image.shape[0]:
        return image
    if not 8 <= size <= MAX_DISPLAY:
        raise ValueError(f"a display size must be 8 to {MAX_DISPLAY} pixels, got {size}")
    return upscale(image, size, smooth)


def smooth(values: np.ndarray, sigma: float) -> np.ndarray:
    """A Gaussian blur of a float map [H, W] (sigma in pixels; 0 leaves it as it is)."""
    values = np.asarray(values, np.float32)
    if sigma <= 0:
        return values
    radius = max(1, round(2 * sigma))
    kernel = torch.exp(-torch.arange(-radius, radius + 1, dtype=torch.float32) ** 2 / (2 * sigma ** 2))
    kernel /= kernel.sum()
    x = torch.from_numpy(values)[None, None]
    x = F.conv2d(F.pad(x, (radius, radius, 0, 0), mode="replicate"), kernel.view(1, 1, 1, -1))
    x = F.conv2d(F.pad(x, (0, 0, radius, radius), mode="replicate"), kernel.view(1, 1, -1, 1))
    return x[0, 0].numpy()


def heat_map(gradient: np.ndarray, size: int | None = None, sigma: float = 1.0) -> np.ndarray:
    """Where D wants change, whichever way: the gradient's magnitude (over colour channels) in
    a perceptual black-purple-orange-yellow map, scaled to this image's own 99th percentile.
    Blurred by `sigma` pixels, since D's strided convolutions give the raw gradient a 2-pixel
    checkerboard that hides where it looks. uint8 RGB [size, size, 3] (default: the image's size)."""
    gradient = _check_gradient(gradient)
    magnitude = smooth(np.sqrt((gradient ** 2).sum(axis=2)), sigma)
    return _display(colormap(magnitude / _robust_max(magnitude)), size)


def signed_map(gradient: np.ndarray, size: int | None = None, sigma: float = 1.5) -> np.ndarray:
    """Which way D wants each pixel to go: red where brighter would look more real to D, blue
    where darker would, white where D does not care (the gradient summed over colour channels,
    blurred by `sigma` pixels, scaled symmetrically to its 99th percentile). uint8 RGB [size, size, 3]."""
    gradient = _check_gradient(gradient)
    brightness = smooth(gradient.sum(axis=2), sigma)
    scaled = brightness / _robust_max(np.abs(brightness))
    return _display(colormap((scaled.clip(-1, 1) + 1) / 2, BLUE_WHITE_RED), size)


def difference_map(before: np.ndarray, after: np.ndarray, size: int | None = None) -> np.ndarray:
    """What a series of steps changed: red brighter, blue darker (see signed_map)."""
    before, after = np.asarray(before), np.asarray(after)
    if before.shape != after.shape:
        raise ValueError(f"images of different shapes: {before.shape} and {after.shape}")
    change = after.astype(np.float32) - before.astype(np.float32)
    return signed_map(change if change.ndim == 3 else change[..., None], size, sigma=0)


def _dimmed_grey(image: np.ndarray, size: int) -> np.ndarray:
    """The image at `size`, grey and dimmed to 35-85% so that colours laid over it stand out."""
    image = np.asarray(image)
    image = image[..., 0] if image.ndim == 3 and image.shape[2] == 1 else image[..., :3]
    base = _display(image, size, smooth=True).astype(np.float32)
    grey = base if base.ndim == 2 else base @ np.array([0.299, 0.587, 0.114], np.float32)
    return (89.25 + 0.5 * grey)[..., None]


def _lay_over(grey: np.ndarray, weights: np.ndarray, alpha: float) -> np.ndarray:
    size = grey.shape[0]
    grid = torch.as_tensor(np.asarray(weights, np.float32))[None, None]
    w = F.interpolate(grid, size=(size, size), mode="bilinear", align_corners=False)[0, 0].clamp_(0, 1).numpy()
    a = (alpha * w)[..., None]
    return (grey * (1 - a) + colormap(w) * a + 0.5).astype(np.uint8)  # both terms in 0-255: no clip


# --- checks -----------------------------------------------------------------------------------
def _discriminator(gan: GAN) -> Discriminator:
    if gan.D is None:
        raise UserError("no_teacher", name=gan.config.name or Phrase("this_model"))
    return gan.D.eval()


def check_image(gan: GAN, image) -> np.ndarray:
    """An image as uint8 [S, S, C] for this model (S its size, C its channels); greyscale and
    RGB are converted to what the model takes, other sizes refused (load_upload resizes)."""
    array = np.asarray(image)
    if array.dtype != np.uint8:
        raise ValueError(f"expected an image of uint8 pixels, got {array.dtype}")
    if array.ndim == 2:
        array = array[..., None]
    if array.ndim != 3 or array.shape[2] not in (1, 3, 4):
        raise ValueError(f"expected an image [height, width, channels], got shape {array.shape}")
    size, channels = gan.config.image_size, gan.config.channels
    if array.shape[:2] != (size, size):
        raise ValueError(f"the image is {array.shape[1]}x{array.shape[0]}; this model takes {size}x{size} "
                         f"(crop and resize it first)")
    array = array[..., :3]
    if channels == 1 and array.shape[2] == 3:
        array = (array.astype(np.float32) @ np.array([0.299, 0.587, 0.114], np.float32)).round()[..., None]
    elif channels == 3 and array.shape[2] == 1:
        array = np.repeat(array, 3, axis=2)
    array = np.ascontiguousarray(array, dtype=np.uint8)
    return array if array.flags.writeable else array.copy()  # torch wants writable arrays


def _check_gradient(gradient: np.ndarray) -> np.ndarray:
    gradient = np.asarray(gradient, np.float32)
    if gradient.ndim == 2:
        gradient = gradient[..., None]
    if gradient.ndim != 3:
        raise ValueError(f"expected a gradient [height, width, channels], got shape {gradient.shape}")
    return np.nan_to_num(gradient)


def _check_steps(steps) -> int:
    if isinstance(steps, bool) or not isinstance(steps, (int, float, np.number)) or int(steps) != steps \
            or not 1 <= steps <= MAX_STEPS:
        raise UserError("steps_range", max=MAX_STEPS, got=steps)
    return int(steps)


@contextlib.contextmanager
def _autograd():
    """Gradients on, even inside the app's torch.inference_mode()."""
    with torch.inference_mode(False), torch.enable_grad():
        yield


def _logits_and_maps(D: Discriminator, x: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
    """D's logits and its feature maps from one pass (the last layer reads the last map)."""
    maps = D.features(x)
    return D.main[-1](maps[-1]).flatten(), maps


def _as_input(image: np.ndarray, device: torch.device) -> torch.Tensor:
    """uint8 [H, W, C] -> [1, C, H, W] in [-1, 1], contiguous (channels-last input makes D's
    convolutions twice as slow on a CPU). Always the same strides, even where a dimension of 1
    (one channel) lets several layouts count as contiguous: D's convolutions pick their algorithm by
    layout, so the same picture laid out two ways would get two slightly different numbers."""
    return from_uint8(image, device).clone(memory_format=torch.contiguous_format)


def _pixels(image: np.ndarray, device: torch.device) -> torch.Tensor:
    """uint8 [H, W, C] -> a leaf [1, C, H, W] in [-1, 1] that gradients can reach."""
    return _as_input(image, device).requires_grad_(True)


# --- asking D ---------------------------------------------------------------------------------
@dataclass
class Verdict:
    """D's answer about one image."""

    image: np.ndarray              # uint8 [H, W, C]: what D was shown
    probability: float             # sigmoid(logit): D's probability that the image is real
    logit: float                   # D's raw score (log odds of "real")
    gradient: np.ndarray           # float32 [H, W, C]: d logit / d pixel, per grey level (0-255 scale)
    activations: list[np.ndarray]  # D's feature maps after each LeakyReLU, float32 [units, h, w]

    @property
    def gradient_rms(self) -> float:
        """How hard D pushes: the root-mean-square of the gradient, in logits per grey level."""
        return float(np.sqrt(np.mean(self.gradient ** 2)))

    def heat_map(self, size: int | None = None, sigma: float = 1.0) -> np.ndarray:
        return heat_map(self.gradient, size, sigma)

    def signed_map(self, size: int | None = None, sigma: float = 1.5) -> np.ndarray:
        return signed_map(self.gradient, size, sigma)

    def feature_maps(self, layer: int = 0, top: int = 6, size: int | None = None) -> list[FeatureMap]:
        """The `top` units of D's layer `layer` (0 is the first) with the largest mean activation on
        this image, strongest first, each drawn over the image at `size` (default 4x the image,
        at most 256)."""
        if int(layer) != layer or not 0 <= layer < len(self.activations):
            raise UserError("layers", last=len(self.activations) - 1, got=layer)
        maps = self.activations[int(layer)]
        if int(top) != top or not 1 <= top <= min(MAX_TOP, len(maps)):
            raise UserError("maps", max=min(MAX_TOP, len(maps)), got=top)
        size = size or min(256, 4 * self.image.shape[0])
        strengths = maps.mean(axis=(1, 2))
        picks = np.argsort(-strengths, kind="stable")[:int(top)]
        grey = _dimmed_grey(self.image, size)
        out = []
        for channel in picks:
            m = maps[channel].clip(0, None)
            out.append(FeatureMap(int(channel), float(strengths[channel]), _lay_over(grey, m / (m.max() or 1.0), 0.75)))
        return out


def ask(gan: GAN, image) -> Verdict:
    """D's probability that `image` (uint8 [S, S, C]) is real, its gradient and its feature maps,
    from one forward and one backward pass."""
    D, image = _discriminator(gan), check_image(gan, image)
    with _autograd():
        x = _pixels(image, gan.device)
        logits, maps = _logits_and_maps(D, x)
        (grad,) = torch.autograd.grad(logits.sum(), x)
    logit, prob = float(logits.detach()[0]), float(torch.sigmoid(logits.detach())[0])
    gradient = (grad[0] / 127.5).permute(1, 2, 0).float().cpu().numpy()  # per grey level, [H, W, C]
    activations = [m.detach()[0].float().cpu().numpy() for m in maps]
    return Verdict(image, prob, logit, gradient, activations)


@torch.no_grad()
def probability(gan: GAN, image) -> float:
    """D's probability that `image` (uint8 [S, S, C]) is real."""
    D, image = _discriminator(gan), check_image(gan, image)
    return float(torch.sigmoid(D(_as_input(image, gan.device)))[0])


@torch.no_grad()
def probabilities(gan: GAN, images: np.ndarray) -> np.ndarray:
    """D's probability that each of `images` (uint8 [N, S, S, C], the model's size and channels) is real."""
    D = _discriminator(gan)
    return torch.sigmoid(D(from_uint8(images, gan.device).contiguous())).flatten().float().cpu().numpy()


@torch.no_grad()
def feature_maps(gan: GAN, image, layer: int = 0, top: int = 6, size: int | None = None) -> list[FeatureMap]:
    """(channel, strength, overlay) for the `top` units of D's layer `layer` that fire most on
    `image`; see Verdict.feature_maps. One forward pass: no gradient is needed for these."""
    D, image = _discriminator(gan), check_image(gan, image)
    logits, maps = _logits_and_maps(D, _as_input(image, gan.device))
    prob = float(torch.sigmoid(logits)[0])
    activations = [m[0].float().cpu().numpy() for m in maps]
    return Verdict(image, prob, float(logits[0]), np.zeros(image.shape, np.float32), activations).feature_maps(
        layer, top, size)


class Layer(NamedTuple):
    number: int                # 1 for the first (shallowest) feature layer
    maps: int                  # its feature maps (channels)
    size: int                  # each map's side, pixels


def layers(gan: GAN) -> list[Layer]:
    """D's feature layers, shallow to deep (the layer index is the position in this list)."""
    c = gan.config
    return [Layer(i + 1, c.d_width * 2 ** i, c.image_size >> (i + 1)) for i in range(c.n_upsamples)]


def layer_choices(gan: GAN) -> list[tuple[str, int]]:
    """(label, layer index) for each of D's feature layers, shallow to deep, e.g.
    ("layer 1: 64 maps of 32x32", 0): ready for an English dropdown."""
    return [(f"layer {n}: {maps} maps of {size}x{size}", i) for i, (n, maps, size) in enumerate(layers(gan))]


# --- taking steps -----------------------------------------------------------------------------
def teaching_defaults(config) -> dict:
    """The step settings a model opens its teaching at: {"how": a KIND, "count": steps per click,
    and a step size per KIND}, from its config's extra.teaching (measured by bench/teaching.py so
    that three clicks change the picture visibly), each bad or missing value replaced by
    FALLBACK_TEACHING's."""
    given = config.extra.get("teaching")
    given = given if isinstance(given, dict) else {}
    out = dict(FALLBACK_TEACHING)
    if given.get("how") in KINDS:
        out["how"] = given["how"]
    count = given.get("count")
    if isinstance(count, int) and not isinstance(count, bool) and 1 <= count <= MAX_STEPS:
        out["count"] = count
    for kind in KINDS:
        size = given.get(kind)
        if isinstance(size, (int, float)) and not isinstance(size, bool) and 0 < size <= MAX_SIZE[kind]:
            out[kind] = float(size)
    return out


def pixel_steps(gan: GAN, image, steps: int = 5, step_size: float = 0.25) -> Steps:
    """Gradient ascent on the pixels: each step moves the image along D's gradient (of its
    logit) by `step_size` grey levels, root-mean-square over the pixels, rounded to whole grey
    levels and kept in 0-255. D's probability is that of exactly the image returned, so a later
    call can carry on from the last image. D is easily fooled: a quarter of a grey level per
    step is often enough to make it sure."""
    D, image, steps = _discriminator(gan), check_image(gan, image), _check_steps(steps)
    if not 0 < step_size <= MAX_STEP_SIZE:
        raise UserError("step_size", max=MAX_STEP_SIZE, got=step_size)
    images, probabilities = [image], []
    with _autograd():
        levels = torch.as_tensor(image, device=gan.device).permute(2, 0, 1)[None].float().contiguous()  # 0-255
        for step in range(steps + 1):
            x = from_levels(levels).requires_grad_(True)
            logits = D(x)
            probabilities.append(float(torch.sigmoid(logits.detach())[0]))
            if step == steps:
                break
            (grad,) = torch.autograd.grad(logits.sum(), x)
            rms = grad.pow(2).mean().sqrt()
            if rms == 0:  # D is flat here: nowhere to go
                direction = torch.zeros_like(grad)
            else:
                direction = grad / rms
            levels = (levels + step_size * direction).round_().clamp_(0, 255)
            images.append(levels[0].permute(1, 2, 0).to(torch.uint8).cpu().numpy())
    return Steps(images, probabilities)


class _AsShown(torch.autograd.Function):
    """Forward: G's picture as its uint8 pixels show it, so that D scores exactly the image the
    page shows (and ask() scores); backward: the gradient passes straight through to G's output."""

    @staticmethod
    def forward(ctx, fake: torch.Tensor, shown: torch.Tensor) -> torch.Tensor:
        return shown.clone()

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        return grad, None


class Walk:
    """Training's G step for one face, click after click: Adam (betas 0.5, 0.999, as in training)
    on the non-saturating loss -log D(G(z)), applied to z itself (target "z") or to a deep copy of
    G's weights (target "weights"). Each take(n) carries on where the last one stopped (z, the
    copy and Adam's moments are kept). The copy stays in eval mode, so the face depends on its own
    z alone; the shipped G and D are never changed. D scores each step's uint8 picture, the one
    shown, so step 0 is exactly ask()'s number for the starting face."""

    def __init__(self, gan: GAN, z: torch.Tensor | int, target: str = "z", lr: float | None = None):
        self.gan, self.D = gan, _discriminator(gan)
        if target not in DEFAULT_LR:
            raise UserError("g_target", got=target)
        self.target = target
        nz = gan.config.nz
        z = z_from_seed(z, nz) if isinstance(z, (int, np.integer)) else torch.as_tensor(z)
        if z.numel() != nz:
            raise ValueError(f"z must have {nz} numbers for this model, got {z.numel()}")
        with _autograd():
            self.z = z.detach().clone().reshape(1, nz).float().to(gan.device)  # a normal tensor even if made under inference mode
            if target == "z":  # G itself is only read: autograd.grad asks for z's gradient alone
                self.G, params = gan.G.eval(), [self.z.requires_grad_(True)]
            else:
                self.G = copy.deepcopy(gan.G).eval()
                params = [p.requires_grad_(True) for p in self.G.parameters()]
            self.params = params
            self.optimizer = torch.optim.Adam(params, lr=self._check_lr(lr), betas=(0.5, 0.999))
        self.taken = 0

    def _check_lr(self, lr: float | None) -> float:
        lr = DEFAULT_LR[self.target] if lr is None else lr
        if isinstance(lr, bool) or not isinstance(lr, (int, float, np.number)) or not 0 < lr <= MAX_LR[self.target]:
            raise UserError("lr", target=self.target, max=MAX_LR[self.target], got=lr)
        return float(lr)

    def take(self, steps: int = 5, lr: float | None = None) -> Steps:
        """`steps` more G steps (at learning rate `lr`, default the last one used): images[0] is
        where the walk stood, then one image per step, each with D's probability."""
        steps = _check_steps(steps)
        if lr is not None:
            for group in self.optimizer.param_groups:
                group["lr"] = self._check_lr(lr)
        images, probabilities = [], []
        with _autograd():
            for step in range(steps + 1):
                fake = self.G(self.z)
                image = to_uint8(fake)[0]
                logits = self.D(_AsShown.apply(fake, _as_input(image, self.gan.device)))
                images.append(image)
                probabilities.append(float(torch.sigmoid(logits.detach())[0]))
                if step == steps:
                    break
                grads = torch.autograd.grad(g_loss(logits), self.params)
                for param, grad in zip(self.params, grads):
                    param.grad = grad
                self.optimizer.step()
                self.taken += 1
        for param in self.params:  # nothing left in a .grad between calls
            param.grad = None
        return Steps(images, probabilities)


def generator_steps(gan: GAN, z: torch.Tensor | int, steps: int = 5, lr: float | None = None,
                    target: str = "weights") -> Steps:
    """`steps` of training's G step for one face, from G's own face for z (a latent [nz] or a
    seed): Walk(gan, z, target, lr).take(steps). lr defaults to 2e-5 for weights (training's 2e-4
    turns one face "real" in a single step) and 0.02 for z."""
    return Walk(gan, z, target, lr).take(steps)
