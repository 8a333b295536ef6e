"""Pictures and videos from uint8 images [N, H, W, C]: grids, display upscaling, colour maps, MP4 and GIF.

    grid = make_grid(images, nrow=8)                 # uint8 [N, H, W, C] -> one picture
    big = upscale(grid, 512)                         # crisp pixels; smooth=True for Lanczos
    heat = colormap(values)                          # floats in [0, 1] -> uint8 RGB, black-purple-yellow
    signed = colormap((x + 1) / 2, BLUE_WHITE_RED)   # -1 blue, 0 white, +1 red
    write_mp4(frames, "walk.mp4"); write_gif(frames, "walk.gif")
"""
from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Iterable

import numpy as np
from PIL import Image

# Colour maps as (position, RGB) anchors, interpolated linearly.
INFERNO = np.array([[0, 0, 4], [22, 11, 57], [66, 10, 104], [106, 23, 110], [147, 38, 103], [188, 55, 84],
                    [221, 81, 58], [243, 120, 25], [252, 165, 10], [246, 215, 70], [252, 255, 164]], np.float32)
BLUE_WHITE_RED = np.array([[33, 102, 172], [146, 197, 222], [247, 247, 247], [244, 165, 130], [178, 24, 43]],
                          np.float32)


MAX_FRAMES = 600  # frames in any video made here (morphs, walks, time-lapses)
# imageio-ffmpeg starts ffmpeg with preexec_fn=os.setpgrp: Python code run between fork and exec,
# which can hang the child for good when another thread held a lock at the fork (imageio-ffmpeg
# issue 58; a server's threads make it likely). Its switch turns that off; ffmpeg then shares our
# process group, which only matters for a Ctrl-C at the terminal.
os.environ.setdefault("IMAGEIO_FFMPEG_NO_PREVENT_SIGINT", "1")

def as_hwc(image) -> np.ndarray:
    """A PIL image or uint8 array [H, W], [H, W, 1] or [H, W, 3] -> uint8 [H, W, 3] or [H, W]."""
    array = np.asarray(image)
    if array.dtype != np.uint8:
        raise ValueError(f"expected uint8 pixels, got {array.dtype}")
    if array.ndim == 3 and array.shape[2] == 1:
        array = array[:, :, 0]
    return array


def to_pil(image) -> Image.Image:
    return image if isinstance(image, Image.Image) else Image.fromarray(as_hwc(image))


def make_grid(images: np.ndarray, nrow: int | None = None, padding: int = 2, pad_value: int = 0) -> np.ndarray:
    """uint8 [N, H, W, C] -> one uint8 image, `nrow` images per row (default: near-square)."""
    images = np.asarray(images)
    if images.ndim == 3:
        images = images[..., None]
    n, h, w, c = images.shape
    if n == 0:
        raise ValueError("no images to put in a grid")
    nrow = nrow or math.ceil(math.sqrt(n))
    rows = math.ceil(n / nrow)
    grid = np.full((rows * (h + padding) + padding, nrow * (w + padding) + padding, c), pad_value, np.uint8)
    for i, image in enumerate(images):
        r, col = divmod(i, nrow)
        top, left = padding + r * (h + padding), padding + col * (w + padding)
        grid[top:top + h, left:left + w] = image
    return as_hwc(grid)


def split_grid(grid: np.ndarray, size: int, count: int, nrow: int, padding: int = 2) -> np.ndarray:
    """make_grid undone: the first `count` tiles of side `size` of a grid, uint8 [count, size, size, C]."""
    grid = as_hwc(np.asarray(grid))
    grid = grid[..., None] if grid.ndim == 2 else grid
    tiles = []
    for i in range(count):
        r, col = divmod(i, nrow)
        top, left = padding + r * (size + padding), padding + col * (size + padding)
        tiles.append(grid[top:top + size, left:left + size])
    if any(t.shape[:2] != (size, size) for t in tiles):
        raise ValueError(f"the grid ({grid.shape[1]}x{grid.shape[0]}) holds fewer than {count} tiles of {size} px")
    return np.stack(tiles)


def upscale(image, size: int, smooth: bool = False) -> np.ndarray:
    """Resize so the longer side is `size`: nearest keeps the pixels crisp, smooth uses Lanczos."""
    pil = to_pil(image)
    w, h = pil.size
    scale = size / max(w, h)
    target = (max(1, round(w * scale)), max(1, round(h * scale)))
    method = Image.Resampling.LANCZOS if smooth else Image.Resampling.NEAREST
    return np.asarray(pil.resize(target, method))


def colormap(values: np.ndarray, anchors: np.ndarray = INFERNO) -> np.ndarray:
    """Values in [0, 1] (clipped; NaN as 0) -> uint8 RGB [..., 3] through evenly spaced colour
    anchors (256 levels)."""
    position = np.linspace(0, len(anchors) - 1, 256)
    low = np.minimum(position.astype(np.int64), len(anchors) - 2)
    frac = (position - low)[:, None]
    table = (anchors[low] * (1 - frac) + anchors[low + 1] * frac).round().astype(np.uint8)
    values = np.nan_to_num(np.asarray(values, np.float32))
    return np.take(table, (values.clip(0, 1) * 255 + 0.5).astype(np.uint8), axis=0)  # 4x faster than table[...]


def load_image(path: str | os.PathLike) -> np.ndarray:
    with Image.open(path) as image:
        return np.asarray(image.convert("RGB"))


def save_image(image, path: str | os.PathLike) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    to_pil(image).save(path)
    return path


def _even(frame: np.ndarray) -> np.ndarray:
    """H.264 with yuv420p needs even sides: pad the last row/column by repeating it."""
    frame = as_hwc(frame)
    if frame.ndim == 2:
        frame = np.repeat(frame[:, :, None], 3, axis=2)
    h, w = frame.shape[:2]
    return np.pad(frame, ((0, h % 2), (0, w % 2), (0, 0)), mode="edge")


def write_mp4(frames: Iterable[np.ndarray], path: str | os.PathLike, fps: float = 24, quality: int = 20) -> Path:
    """H.264 in yuv420p with the index at the front, so every browser plays it while it loads.
    quality is x264's CRF (lower is better, 18-23 is visually lossless for these faces)."""
    import imageio.v2 as imageio

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    writer = imageio.get_writer(
        path, format="FFMPEG", mode="I", fps=fps, codec="libx264", pixelformat="yuv420p",
        macro_block_size=1, ffmpeg_log_level="error",
        output_params=["-crf", str(quality), "-preset", "veryfast", "-movflags", "+faststart"])
    count = 0
    try:
        for frame in frames:
            writer.append_data(_even(frame))
            count += 1
    finally:
        writer.close()
    if count == 0:
        path.unlink(missing_ok=True)
        raise ValueError("no frames to write")
    return path


def write_gif(frames: Iterable[np.ndarray], path: str | os.PathLike, fps: float = 24, loop: bool = True) -> Path:
    """Animated GIF through Pillow's fast octree quantiser (100x faster than imageio's default),
    written frame by frame (each with its own palette), so only one frame is in memory at a time."""
    from PIL import GifImagePlugin

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    duration = max(20, round(1000 / fps))  # browsers clamp faster GIF frames
    count = 0
    with open(path, "wb") as out:
        for frame in frames:
            pil = to_pil(frame).convert("RGB").quantize(colors=256, method=Image.Quantize.FASTOCTREE,
                                                        dither=Image.Dither.NONE)
            if count == 0:
                info = {"duration": duration, **({"loop": 0} if loop else {})}
                out.writelines(GifImagePlugin.getheader(pil, info=info)[0])
            out.writelines(GifImagePlugin.getdata(pil, duration=duration, disposal=1, include_color_table=True))
            count += 1
        out.write(b";")  # the GIF trailer
    if count == 0:
        path.unlink(missing_ok=True)
        raise ValueError("no frames to write")
    return path
