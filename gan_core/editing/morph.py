"""Morph videos: faces along a path through keyframe latents, as frames, MP4 and GIF."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable, Iterator, Sequence

import numpy as np
import torch

from .directions import Direction, walk
from ..errors import UserError
from .face import MAX_LIST, Face, faces_text, latents, parse_faces
from ..model.latent import EASINGS, interpolation_path
from ..data.media import MAX_FRAMES, make_grid, upscale, write_gif, write_mp4
from ..model.networks import GAN
from ..photos.tuning import Tuned, generate, mix

MAX_SIZE = 512
MAX_KEYFRAMES = MAX_LIST


def keyframe_faces(text, named: dict[str, Face] | None = None) -> list[Face]:
    """'0, 7, photo 1' or a JSON list of seeds and faces (see gan_core.editing.face) -> the keyframes;
    `named`: the faces found in photos, by name."""
    faces = parse_faces(text, MAX_KEYFRAMES, named)
    if len(faces) < 2:
        raise UserError("morph_two")
    return faces


def keyframes_from_text(text, nz: int, directions: dict[str, Direction] | None = None,
                        psi: float = 1.0, named: dict[str, Face] | None = None) -> torch.Tensor:
    """The keyframes' latents [K, nz] (keyframe_faces); moves along named directions need
    `directions`; every seed's z is truncated by `psi`."""
    return latents(keyframe_faces(text, named), nz, directions, psi)


def add_keyframe(text, face: Face, named: dict[str, Face] | None = None) -> str:
    """The keyframe text with one more face (a plain seed stays a number, a photo its name)."""
    faces = parse_faces(text, MAX_KEYFRAMES, named)
    if len(faces) >= MAX_KEYFRAMES:
        raise UserError("keyframes_max", max=MAX_KEYFRAMES)
    return faces_text(faces + [face])


def plan_frames(n_keyframes: int, frames_per_segment: int, loop: bool) -> int:
    """How many frames a morph will have; a UserError if it is out of bounds."""
    if not 2 <= n_keyframes <= MAX_KEYFRAMES:
        raise UserError("keyframes_range", max=MAX_KEYFRAMES, got=n_keyframes)
    if frames_per_segment < 1:
        raise UserError("frames_min")
    segments = n_keyframes if loop else n_keyframes - 1
    total = segments * frames_per_segment + (0 if loop else 1)
    if total > MAX_FRAMES:
        raise UserError("frames_max", total=total, max=MAX_FRAMES)
    return total


@dataclass(frozen=True)
class MorphSettings:
    """How a morph (or a walk) is drawn and written, checked once, when made: a UserError names
    the first bad setting. The number of frames also depends on the keyframes: frame_count.

        settings = MorphSettings(frames_per_segment=12, fps=24, size=128)
        frames = morph_frames(gan, keyframes, settings)     # at the generator's size
        mp4, gif = write_morph(frames, folder, settings)    # upscaled to settings.size as written
    """
    frames_per_segment: int = 24    # frames from one keyframe to the next
    fps: float = 24.0               # frames per second of the MP4 and the GIF (1 to 60)
    mode: str = "slerp"             # the path between keyframes: slerp or lerp
    easing: str = "ease-in-out"     # how the pace changes along a segment (one of EASINGS)
    loop: bool = True               # back from the last keyframe to the first
    size: int = 256                 # side of a frame, pixels (16 to MAX_SIZE)
    smooth: bool = True             # upscaled smoothly (else each pixel a block)

    def __post_init__(self):
        for name, kind in (("frames_per_segment", int), ("fps", float), ("loop", bool), ("size", int),
                           ("smooth", bool)):
            object.__setattr__(self, name, kind(getattr(self, name)))
        fps, size, easing, mode = self.fps, self.size, self.easing, self.mode
        if self.frames_per_segment < 1:
            raise UserError("frames_min")
        if not 1 <= fps <= 60:
            raise UserError("fps", got=fps)
        if not 16 <= size <= MAX_SIZE:
            raise UserError("size", max=MAX_SIZE, got=size)
        if easing not in EASINGS:
            raise UserError("easing", easings=list(EASINGS))
        if mode not in ("slerp", "lerp"):
            raise UserError("path", got=str(mode)[:20])

    def frame_count(self, n_keyframes: int) -> int:
        """How many frames a morph through `n_keyframes` keyframes has; a UserError if out of bounds
        (MAX_FRAMES). Frames are held at the generator's size and upscaled one at a time as they are
        encoded, so a render's memory does not grow with settings.size."""
        return plan_frames(n_keyframes, self.frames_per_segment, self.loop)


def morph_frames(gan: GAN, keyframes: torch.Tensor, settings: MorphSettings = MorphSettings(),
                 progress: Callable[[float], None] | None = None, batch_size: int = 64,
                 tuned: Sequence[Tuned | None] | None = None) -> list[np.ndarray]:
    """Frames (uint8 [h, w, C], at the generator's size; sized() brings them to settings.size) through
    the keyframe latents [K, nz]. `tuned`: each keyframe's generator tuned to its photo (None: the
    shipped G); between two keyframes the tuned weights are blended as z is, at the same pace (a
    lerp of their offsets)."""
    settings.frame_count(len(keyframes))
    path = interpolation_path(keyframes.cpu(), settings.frames_per_segment, settings.mode, settings.easing,
                              settings.loop)
    along = None
    if tuned is not None and any(t is not None for t in tuned):
        # each frame's share of each keyframe: the same path drawn through the K corners of a simplex
        shares = interpolation_path(torch.eye(len(keyframes)), settings.frames_per_segment, "lerp",
                                    settings.easing, settings.loop)
        along = [mix(tuned, row.tolist()) for row in shares]
    frames: list[np.ndarray] = []
    for start in range(0, len(path), batch_size):
        chunk = slice(start, start + batch_size)
        frames.extend(generate(gan, path[chunk], along[chunk] if along else None))
        if progress:
            progress(len(frames) / len(path))
    return frames


def walk_keyframes(z: torch.Tensor, direction: Direction, span: float = 3.0) -> torch.Tensor:
    """[2, nz]: z moved to -span and +span along `direction`; a lerp between them walks the direction."""
    if not 0 < float(span) <= 5:
        raise UserError("span", got=span)
    return walk(z, direction, [-float(span), float(span)])


def filmstrip(frames: list[np.ndarray], count: int = 8, height: int = 96) -> np.ndarray:
    """`count` evenly spaced frames side by side, each `height` pixels high."""
    picks = np.linspace(0, len(frames) - 1, min(count, len(frames))).round().astype(int)
    small = np.stack([upscale(frames[i], height, smooth=True) for i in picks])
    return make_grid(small, nrow=len(picks), padding=2)


def sized(frames: Iterable[np.ndarray], settings: MorphSettings) -> Iterator[np.ndarray]:
    """Each frame at settings.size, upscaled only when it is needed: one big frame in memory at a time."""
    for frame in frames:
        yield frame if frame.shape[0] == settings.size else upscale(frame, settings.size, settings.smooth)


WRITERS = {"mp4": write_mp4, "gif": write_gif}


def write_morph(frames: list[np.ndarray], folder: str | Path, settings: MorphSettings = MorphSettings(),
                name: str = "morph", formats: Sequence[str] = ("mp4", "gif")) -> tuple[Path, ...]:
    """The frames as `name.mp4` (H.264, browser-playable) and `name.gif` in `folder` (or only the
    `formats` asked for, in their order), at settings.fps and settings.size. Each frame is upscaled
    as it is encoded and both encoders stream, so a render's memory does not grow with its size."""
    folder = Path(folder)
    return tuple(WRITERS[fmt](sized(frames, settings), folder / f"{name}.{fmt}", settings.fps) for fmt in formats)
