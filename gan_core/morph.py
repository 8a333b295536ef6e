"""Morph videos: faces along a path through keyframe latents, as frames, MP4 and GIF."""
from __future__ import annotations

from pathlib import Path
from typing import Callable

import numpy as np
import torch

from .directions import Direction, walk
from .errors import UserError
from .face import MAX_LIST, Face, faces_text, latents, parse_faces
from .latent import EASINGS, interpolation_path
from .media import MAX_FRAMES, make_grid, upscale, write_gif, write_mp4
from .models import GAN

MAX_SIZE = 512
MAX_KEYFRAMES = MAX_LIST


def keyframes_from_text(text, nz: int, directions: dict[str, Direction] | None = None,
                        psi: float = 1.0) -> torch.Tensor:
    """'0, 7, 42' (seeds) or a JSON list of seeds and faces (see gan_core.face) -> [K, nz]; moves
    along named directions need `directions`; every seed's z is truncated by `psi`."""
    faces = parse_faces(text, MAX_KEYFRAMES)
    if len(faces) < 2:
        raise UserError("morph_two")
    return latents(faces, nz, directions, psi)


def add_keyframe(text, face: Face) -> str:
    """The keyframe text with one more face (a plain seed stays a number)."""
    faces = parse_faces(text, MAX_KEYFRAMES)
    if len(faces) >= MAX_KEYFRAMES:
        raise UserError("keyframes_max", max=MAX_KEYFRAMES)
    return faces_text(faces + [face])


def plan_frames(n_keyframes: int, frames_per_segment: int, loop: bool) -> int:
    """How many frames a morph will have; a ValueError if it is out of bounds."""
    if not 2 <= n_keyframes <= MAX_KEYFRAMES:
        raise UserError("keyframes_range", max=MAX_KEYFRAMES, got=n_keyframes)
    if frames_per_segment < 1:
        raise UserError("frames_min")
    segments = n_keyframes if loop else n_keyframes - 1
    total = segments * frames_per_segment + (0 if loop else 1)
    if total > MAX_FRAMES:
        raise UserError("frames_max", total=total, max=MAX_FRAMES)
    return total


def check_settings(n_keyframes: int, frames_per_segment: int, loop: bool, size: int, easing: str,
                   mode: str = "slerp") -> int:
    """The number of frames a morph with these settings will have; a ValueError for any bad one."""
    total = plan_frames(n_keyframes, frames_per_segment, loop)
    if not 16 <= size <= MAX_SIZE:
        raise UserError("size", max=MAX_SIZE, got=size)
    if easing not in EASINGS:
        raise UserError("easing", easings=list(EASINGS))
    if mode not in ("slerp", "lerp"):
        raise UserError("path", got=str(mode)[:20])
    return total


def morph_frames(gan: GAN, keyframes: torch.Tensor, frames_per_segment: int = 24, mode: str = "slerp",
                 easing: str = "ease-in-out", loop: bool = True, size: int = 256, smooth: bool = True,
                 progress: Callable[[float], None] | None = None, batch_size: int = 64) -> list[np.ndarray]:
    """Frames (uint8 [size, size, C]) through the keyframe latents [K, nz]."""
    check_settings(len(keyframes), frames_per_segment, loop, size, easing, mode)
    path = interpolation_path(keyframes.cpu(), frames_per_segment, mode, easing, loop)
    frames: list[np.ndarray] = []
    for start in range(0, len(path), batch_size):
        images = gan.generate(path[start:start + batch_size])
        frames.extend(image if size == image.shape[0] else upscale(image, size, smooth) for image in images)
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


def check_fps(fps) -> float:
    if not 1 <= float(fps) <= 60:
        raise UserError("fps", got=fps)
    return float(fps)


def write_morph(frames: list[np.ndarray], folder: str | Path, fps: float = 24, name: str = "morph") -> tuple[Path, Path]:
    """The frames as `name.mp4` (H.264, browser-playable) and `name.gif` in `folder`."""
    fps, folder = check_fps(fps), Path(folder)
    return write_mp4(frames, folder / f"{name}.mp4", fps), write_gif(frames, folder / f"{name}.gif", fps)
