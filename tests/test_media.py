"""gan_core.data.media: grids, display upscaling, and the MP4 / GIF writers."""
from __future__ import annotations

import gc
import math
import re
import struct
import subprocess
import warnings
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from gan_core.data.media import BLUE_WHITE_RED, INFERNO, as_hwc, colormap, make_grid, upscale, write_gif, write_mp4


def random_images(n: int, h: int, w: int, c: int | None = 3, seed: int = 0) -> np.ndarray:
    shape = (n, h, w) if c is None else (n, h, w, c)
    return np.random.default_rng(seed).integers(0, 256, shape, dtype=np.uint8)


def ramp_frames(n: int, h: int, w: int, channels: int | None = 3) -> list[np.ndarray]:
    """n solid frames, each a different grey level, so frames can be told apart after encoding."""
    shape = (h, w) if channels is None else (h, w, channels)
    return [np.full(shape, 20 + 200 * i // max(1, n - 1), np.uint8) for i in range(n)]


# --------------------------------------------------------------------------------------------
# make_grid


@pytest.mark.parametrize("n, nrow, padding", [(5, 3, 2), (6, 2, 0), (1, None, 3), (10, None, 1), (3, 8, 2)])
def test_grid_shape_and_placement(n, nrow, padding):
    h, w = 5, 7
    images = random_images(n, h, w)
    grid = make_grid(images, nrow=nrow, padding=padding, pad_value=11)
    cols = nrow or math.ceil(math.sqrt(n))
    rows = math.ceil(n / cols)
    assert grid.dtype == np.uint8
    assert grid.shape == (rows * (h + padding) + padding, cols * (w + padding) + padding, 3)
    covered = np.zeros(grid.shape[:2], bool)
    for i in range(n):
        r, c = divmod(i, cols)
        top, left = padding + r * (h + padding), padding + c * (w + padding)
        assert np.array_equal(grid[top:top + h, left:left + w], images[i]), f"image {i} misplaced"
        covered[top:top + h, left:left + w] = True
    assert (grid[~covered] == 11).all()  # padding and empty cells: pad_value


def test_grid_default_is_near_square():
    assert make_grid(random_images(16, 4, 4), padding=0).shape == (16, 16, 3)
    assert make_grid(random_images(5, 4, 4), padding=0).shape == (8, 12, 3)  # 3 per row, 2 rows


def test_grid_without_padding_is_plain_tiling():
    images = random_images(4, 3, 5)
    expected = np.concatenate([np.concatenate(images[:2], axis=1), np.concatenate(images[2:], axis=1)], axis=0)
    assert np.array_equal(make_grid(images, nrow=2, padding=0), expected)


@pytest.mark.parametrize("with_channel_axis", [False, True])
def test_grid_greyscale(with_channel_axis):
    images = random_images(3, 4, 6, c=None)
    grid = make_grid(images[..., None] if with_channel_axis else images, nrow=3, padding=1)
    assert grid.shape == (4 + 2, 3 * (6 + 1) + 1)  # 2-d: ready for PIL "L"
    assert np.array_equal(grid[1:5, 1:7], images[0])
    assert np.array_equal(grid[1:5, 15:21], images[2])
    assert Image.fromarray(grid).mode == "L"


def test_grid_of_nothing():
    with pytest.raises(ValueError, match="no images"):
        make_grid(np.zeros((0, 4, 4, 3), np.uint8))


# --------------------------------------------------------------------------------------------
# upscale


@pytest.mark.parametrize("channels", [3, None, 1])
def test_upscale_nearest_keeps_pixel_blocks(channels):
    source = random_images(1, 3, 4, c=channels, seed=1)[0]  # 3 high, 4 wide
    out = upscale(source, 16)  # longer side 4 -> 16: 4x4 blocks
    flat = source[..., 0] if channels == 1 else source
    assert out.shape == (12, 16) + flat.shape[2:]
    assert out.dtype == np.uint8
    for y in range(3):
        for x in range(4):
            block = out[4 * y:4 * y + 4, 4 * x:4 * x + 4]
            assert (block == flat[y, x]).all(), f"block {y},{x} is not uniform source pixel"
    assert np.array_equal(out, np.repeat(np.repeat(flat, 4, axis=0), 4, axis=1))


def test_upscale_smooth_differs_but_keeps_size():
    source = random_images(1, 8, 8, seed=2)[0]
    crisp, smooth = upscale(source, 64), upscale(source, 64, smooth=True)
    assert smooth.shape == crisp.shape == (64, 64, 3)
    assert not np.array_equal(smooth, crisp)
    # a smooth upscale blends neighbours: far more distinct colours than the 64 source pixels
    assert len(np.unique(smooth.reshape(-1, 3), axis=0)) > 4 * len(np.unique(source.reshape(-1, 3), axis=0))


def test_upscale_non_integer_factor_and_pil_input():
    source = random_images(1, 3, 5, seed=3)[0]
    assert upscale(source, 16).shape == (10, 16, 3)  # 5 -> 16, 3 -> round(9.6)
    assert upscale(Image.fromarray(source), 16).shape == (10, 16, 3)
    assert upscale(source, 2).shape == (1, 2, 3)     # shrinking works too, never to 0


def test_colormap_ends_middle_and_shape():
    values = np.array([[0.0, 1.0], [np.nan, 7.0]], np.float32)
    colours = colormap(values)
    assert colours.shape == (2, 2, 3) and colours.dtype == np.uint8
    assert (colours[0, 0] == INFERNO[0]).all() and (colours[0, 1] == INFERNO[-1]).all()
    assert (colours[1, 0] == colours[0, 0]).all() and (colours[1, 1] == colours[0, 1]).all()  # NaN -> 0, clipped
    red_blue = colormap(np.array([0.0, 0.5, 1.0]), BLUE_WHITE_RED)
    assert red_blue[0, 2] > red_blue[0, 0] and (red_blue[1] > 240).all() and red_blue[2, 0] > red_blue[2, 2]
    assert colormap(0.25).shape == (3,)


def test_pixels_must_be_uint8():
    with pytest.raises(ValueError, match="uint8"):
        as_hwc(np.zeros((4, 4, 3), np.float32))


# --------------------------------------------------------------------------------------------
# MP4


def ffmpeg_info(path: Path) -> str:
    import imageio_ffmpeg

    result = subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-i", str(path)],
                            capture_output=True, text=True, timeout=30)
    return result.stderr  # `ffmpeg -i file` with no output describes the input, then exits 1


def video_stream(path: Path) -> str:
    lines = [line for line in ffmpeg_info(path).splitlines() if "Video:" in line]
    assert len(lines) == 1, ffmpeg_info(path)
    return lines[0]


def _decode_all(path: Path) -> list[np.ndarray]:
    import imageio.v2 as imageio

    with imageio.get_reader(path, format="FFMPEG") as reader:
        return [np.asarray(frame) for frame in reader]


def read_frames(path: Path) -> list[np.ndarray]:
    """Every frame, decoded by imageio's ffmpeg reader. The reader leaves the pipes of its
    probing ffmpeg process for the garbage collector: collect them here, quietly, so their
    ResourceWarnings do not surface in some later test."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)
        frames = _decode_all(path)
        gc.collect()
    return frames


def top_level_boxes(path: Path) -> list[str]:
    data, boxes, offset = path.read_bytes(), [], 0
    while offset + 8 <= len(data):
        size, kind = struct.unpack(">I4s", data[offset:offset + 8])
        if size == 1:
            size = struct.unpack(">Q", data[offset + 8:offset + 16])[0]
        boxes.append(kind.decode("latin-1"))
        if size < 8:
            break
        offset += size
    return boxes


def test_mp4_is_h264_yuv420p_with_all_frames(tmp_path):
    frames = ramp_frames(9, 32, 48)
    path = write_mp4(frames, tmp_path / "out" / "walk.mp4", fps=12)  # parent folder created
    assert path == tmp_path / "out" / "walk.mp4" and path.stat().st_size > 0
    stream = video_stream(path)
    assert re.search(r"\bh264\b", stream), stream
    assert "yuv420p" in stream, stream
    assert re.search(r"\b48x32\b", stream), stream
    assert re.search(r"\b12 fps\b", stream), stream
    decoded = read_frames(path)
    assert len(decoded) == len(frames)
    for frame, original in zip(decoded, frames):
        assert frame.shape == (32, 48, 3)
        assert abs(frame.astype(int).mean() - int(original[0, 0, 0])) < 4  # right frame, in order


def test_mp4_index_at_the_front(tmp_path):
    """+faststart: the moov atom precedes the media data, so browsers play while loading."""
    boxes = top_level_boxes(write_mp4(ramp_frames(4, 16, 16), tmp_path / "fast.mp4"))
    assert "moov" in boxes and "mdat" in boxes
    assert boxes.index("moov") < boxes.index("mdat"), boxes


def test_mp4_odd_sizes_padded_to_even(tmp_path):
    # smooth grey ramps (yuv420p keeps luma at full resolution), bright in the last row and column
    y, x = np.mgrid[0:33, 0:35]
    frames = [np.repeat(np.clip(4 * x + 2 * y + 10 * i, 0, 255).astype(np.uint8)[..., None], 3, axis=2)
              for i in range(3)]
    path = write_mp4(iter(frames), tmp_path / "odd.mp4", fps=8, quality=10)  # any iterable works
    assert re.search(r"\b36x34\b", video_stream(path))
    decoded = read_frames(path)
    assert len(decoded) == 3
    assert decoded[0].shape == (34, 36, 3)
    for frame, original in zip(decoded, frames):
        frame, original = frame.astype(int), original.astype(int)
        # the original pixels sit top-left; the added row and column repeat the edge
        assert np.abs(frame[:33, :35] - original).mean() < 3
        assert np.abs(frame[33, :35] - original[32]).mean() < 6
        assert np.abs(frame[:33, 35] - original[:, 34]).mean() < 6


@pytest.mark.parametrize("channel_axis", [False, True])
def test_mp4_greyscale_frames(tmp_path, channel_axis):
    frames = ramp_frames(5, 16, 20, channels=1 if channel_axis else None)
    path = write_mp4(frames, tmp_path / "grey.mp4", fps=5)
    assert "yuv420p" in video_stream(path)
    decoded = read_frames(path)
    assert len(decoded) == 5
    assert decoded[-1].shape == (16, 20, 3)
    assert abs(decoded[-1].astype(int).mean() - 220) < 4
    spread = decoded[-1].astype(int).max(axis=2) - decoded[-1].astype(int).min(axis=2)
    assert spread.max() <= 3  # still grey


def test_mp4_without_frames(tmp_path):
    path = tmp_path / "none.mp4"
    with pytest.raises(ValueError, match="no frames"):
        write_mp4([], path)
    assert not path.exists()


# --------------------------------------------------------------------------------------------
# GIF


@pytest.mark.parametrize("fps, expected_ms", [(10, 100), (24, 1000 / 24), (5, 200)])
def test_gif_frames_loop_and_duration(tmp_path, fps, expected_ms):
    frames = ramp_frames(6, 12, 16)
    path = write_gif(frames, tmp_path / "anim" / "walk.gif", fps=fps)
    with Image.open(path) as gif:
        assert gif.format == "GIF"
        assert gif.n_frames == len(frames)
        assert gif.info["loop"] == 0  # loop forever
        assert abs(gif.info["duration"] - expected_ms) <= 10  # GIF stores centiseconds
        for k, frame in enumerate(frames):
            gif.seek(k)
            pixels = np.asarray(gif.convert("RGB"))
            assert pixels.shape == (12, 16, 3)
            assert np.abs(pixels.astype(int) - frame.astype(int)).max() <= 8, f"frame {k}"


def test_gif_play_once(tmp_path):
    path = write_gif(ramp_frames(3, 8, 8), tmp_path / "once.gif", fps=10, loop=False)
    with Image.open(path) as gif:
        assert gif.n_frames == 3
        assert "loop" not in gif.info


def test_gif_fast_fps_is_clamped(tmp_path):
    """Browsers slow frames shorter than 20 ms right down, so faster rates are written as 20 ms."""
    path = write_gif(ramp_frames(3, 8, 8), tmp_path / "fast.gif", fps=100)
    with Image.open(path) as gif:
        assert gif.info["duration"] == 20


@pytest.mark.parametrize("channel_axis", [False, True])
def test_gif_greyscale_frames(tmp_path, channel_axis):
    frames = ramp_frames(4, 10, 14, channels=1 if channel_axis else None)
    path = write_gif(frames, tmp_path / "grey.gif", fps=10)
    with Image.open(path) as gif:
        assert gif.n_frames == 4
        gif.seek(3)
        assert np.abs(np.asarray(gif.convert("L")).astype(int) - 220).max() <= 4


def test_gif_without_frames(tmp_path):
    path = tmp_path / "none.gif"
    with pytest.raises(ValueError, match="no frames"):
        write_gif(iter([]), path)
    assert not path.exists()


def test_gif_repeated_frames_keep_their_time(tmp_path):
    """Pillow folds identical consecutive frames into one longer frame: fewer frames are stored,
    but the animation still plays for as long as the frames written."""
    frames = [np.full((8, 8, 3), v, np.uint8) for v in (10, 10, 10, 200)]
    path = write_gif(frames, tmp_path / "hold.gif", fps=10)
    with Image.open(path) as gif:
        durations = []
        for k in range(gif.n_frames):
            gif.seek(k)
            durations.append(gif.info["duration"])
    assert sum(durations) == 4 * 100


def test_split_grid_undoes_make_grid():
    from gan_core.data.media import make_grid, split_grid

    images = np.random.default_rng(0).integers(0, 255, (10, 8, 8, 1)).astype(np.uint8)
    tiles = split_grid(make_grid(images, nrow=4), 8, 10, nrow=4)
    assert tiles.shape == (10, 8, 8, 1) and (tiles == images).all()
    with pytest.raises(ValueError, match="fewer than"):
        split_grid(make_grid(images, nrow=4), 8, 13, nrow=4)
