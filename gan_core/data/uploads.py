"""A user's uploaded picture, checked and made into a model-sized image.

    image = load_upload("photo.jpg", size=64, channels=3)   # uint8 [64, 64, 3], or a clear ValueError

Refused with a message that says why, all from the file's header, before anything is decoded: a
missing or empty file, one over MAX_BYTES, anything Pillow cannot read as an image, more than
MAX_PIXELS pixels, animations, sides under MIN_SIDE, and pictures whose decoded pixels would take
more than MAX_DECODED_BYTES of memory (a 95 KB 16-bit 7000x7000 PNG decodes to 98 MB). JPEGs are
decoded at 1/2, 1/4 or 1/8 scale where that still leaves four times the model's size (Pillow's
draft), so 12- and 48-megapixel phone photos pass; other formats cannot decode smaller and are
held to the budget as they are.

Accepted images are turned upright (EXIF orientation), flattened onto white if transparent,
converted from any common mode (P, L, LA, RGBA, CMYK, I;16, I, F, 1) and centre-cropped and
resized as training images are (gan_core.data.images.prepare_image). Right after decoding, the centre
square is box-averaged down to four times the model's size strip by strip, so no step after the
decode makes another full-size copy.
"""
from __future__ import annotations

import contextlib
import io
import os
import warnings
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from .images import prepare_image
from ..errors import Phrase, UserError

MAX_BYTES = 10 * 2**20            # 10 MiB of file
MAX_PIXELS = 50_000_000           # 48-megapixel phone photos pass (JPEGs decode at 1/8 of that)
MAX_DECODED_BYTES = 64_000_000    # decoded pixels: a 4000x4000 colour picture; peak memory ~1.2x this
MIN_SIDE = 16
MAX_PHOTO_SIDE = 1024             # a whole photo (for finding the face in it) is shrunk to this
WORKING_SCALE = 4                 # decode and shrink to at least this many times the model's size
STRIP_PIXELS = 2**20              # pixels converted and shrunk at a time after decoding

# Bytes Pillow holds per decoded pixel: 1 for 1-bit, 8-bit grey and palette, 2 for 16-bit grey,
# 4 for everything else (it keeps RGB as RGBX, and I and F are 32-bit).
_ONE_BYTE = ("1", "L", "P")
_TWO_BYTES = ("I;16", "I;16L", "I;16B", "I;16N")
_WORKING_MODE = {"1": "L", "PA": "RGBA", **{mode: "I" for mode in _TWO_BYTES}}  # modes reduce() takes


def decoded_bytes(mode: str, width: int, height: int) -> int:
    """The memory Pillow takes to hold a decoded width x height picture in `mode`."""
    per_pixel = 1 if mode in _ONE_BYTE else 2 if mode in _TWO_BYTES else 4
    return width * height * per_pixel


def _readable(image: Image.Image) -> Image.Image:
    """Any still image in a mode prepare_image takes (RGB, L or a 16/32-bit I)."""
    if image.mode == "F":  # 32-bit float: take [0, 1] as black to white, else grey levels
        values = np.nan_to_num(np.asarray(image, np.float32))
        values = values * 255 if values.max(initial=0) <= 1 else values
        return Image.fromarray(values.clip(0, 255).round().astype(np.uint8), mode="L")
    if image.mode.startswith("I") or image.mode in ("RGB", "L"):
        return image
    if image.mode == "PA" or (image.mode == "P" and "transparency" in image.info):
        image = image.convert("RGBA")
    if image.mode in ("RGBA", "RGBa", "LA", "La"):  # transparent: flatten onto white
        background = Image.new("RGBA", image.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, image.convert("RGBA")).convert("RGB")
    try:
        return image.convert("L" if image.mode == "1" else "RGB")
    except (ValueError, OSError):
        raise UserError("colour_mode", mode=image.mode) from None


def _check_size(image: Image.Image, name: str, max_pixels: int) -> None:
    width, height = image.size
    if width * height > max_pixels:
        raise UserError("megapixels", name=name, width=width, height=height, mp=width * height / 1e6,
                        limit=max_pixels / 1e6)
    if min(width, height) < MIN_SIDE:
        raise UserError("too_small", name=name, width=width, height=height, min=MIN_SIDE)
    if getattr(image, "n_frames", 1) > 1:
        raise UserError("animation", name=name, frames=image.n_frames)


def _check_memory(image: Image.Image, name: str, max_decoded_bytes: int) -> None:
    """Refuse, from the header, a picture whose decoded pixels would not fit the budget."""
    need = decoded_bytes(image.mode, *image.size)
    if need > max_decoded_bytes:
        side = int((max_decoded_bytes / 4) ** 0.5) // 100 * 100
        raise UserError("decode_memory", name=name, need=need / 1e6, width=image.size[0], height=image.size[1],
                        mode=image.mode, max=max_decoded_bytes / 1e6, side=side)


def _shrink(image: Image.Image, size: int) -> Image.Image:
    """The centre square of a decoded picture, box-averaged to no less than WORKING_SCALE x size
    on a side (see _reduced); up to factor-1 edge pixels are dropped."""
    w, h = image.size
    side = min(w, h)
    factor = max(1, side // (WORKING_SCALE * size))
    side = side // factor * factor
    return _reduced(image, ((w - side) // 2, (h - side) // 2, side, side), factor)


def _reduced(image: Image.Image, box: tuple[int, int, int, int], factor: int) -> Image.Image:
    """The (left, top, width, height) `box` of a decoded picture, box-averaged by `factor`, in a mode
    reduce() takes (1 -> L, P -> RGB or RGBA, PA -> RGBA, 16-bit -> I). Done a strip of rows at a
    time, so no conversion makes a full-size copy; the box's sides are multiples of `factor`."""
    left, top, width, height = box
    mode = _WORKING_MODE.get(image.mode, image.mode)
    if image.mode == "P":
        mode = "RGBA" if "transparency" in image.info else "RGB"
    out = Image.new(mode, (width // factor, height // factor))
    rows = factor * max(1, STRIP_PIXELS // (width * factor))  # input rows per strip, a multiple of factor
    for y in range(0, height, rows):
        strip = image.crop((left, top + y, left + width, top + min(y + rows, height)))
        strip = strip.convert(mode) if strip.mode != mode else strip
        out.paste(strip.reduce(factor) if factor > 1 else strip, (0, y // factor))
    out.info = dict(image.info)  # EXIF orientation, for exif_transpose
    return out


def _model_sized(image: Image.Image, size: int, channels: int) -> np.ndarray:
    upright = ImageOps.exif_transpose(_shrink(image, size))
    return prepare_image(_readable(upright), size, channels).transpose(1, 2, 0).copy()


def _read_bytes(source, max_bytes: int) -> tuple[bytes, str]:
    if isinstance(source, (str, os.PathLike)):
        path = Path(source)
        if not path.is_file():  # read before (and deleted), or cleared from the server's cache
            raise UserError("upload_gone", name=path.name)
        length, name = path.stat().st_size, path.name
        read = path.read_bytes
    elif isinstance(source, (bytes, bytearray, memoryview)):
        length, name, read = len(source), Phrase("the_upload"), lambda: bytes(source)
    elif hasattr(source, "read"):
        data = source.read(max_bytes + 1)
        length, name, read = len(data), Phrase("the_upload"), lambda: data
    else:
        raise ValueError(f"expected an uploaded image file, got {type(source).__name__}")
    if length == 0:
        raise UserError("empty_file", name=name)
    if length > max_bytes:
        raise UserError("file_big_over" if hasattr(source, "read") else "file_big", name=name, mb=length / 2**20,
                        max=max_bytes / 2**20)
    return read(), name


def load_upload(source, size: int, channels: int = 3, max_bytes: int = MAX_BYTES,
                max_pixels: int = MAX_PIXELS, max_decoded_bytes: int = MAX_DECODED_BYTES) -> np.ndarray:
    """An uploaded image as uint8 [size, size, channels]. `source`: a file path, bytes or a
    binary file object (checked before decoding), or an already decoded PIL image or uint8
    array [H, W], [H, W, 3] or [H, W, 4] (as gr.Image(type="numpy") passes it)."""
    if isinstance(source, np.ndarray):
        if source.dtype != np.uint8 or source.ndim not in (2, 3) or (source.ndim == 3 and source.shape[2] not in (1, 3, 4)):
            raise ValueError(f"expected an image array of uint8 [height, width(, 1, 3 or 4)], got "
                             f"{source.dtype} {source.shape}")
        image = Image.fromarray(source[..., 0] if source.ndim == 3 and source.shape[2] == 1 else source)
        _check_size(image, Phrase("the_image"), max_pixels)  # already in memory: no decoding budget
        return _model_sized(image, size, channels)
    if isinstance(source, Image.Image):
        _check_size(source, Phrase("the_image"), max_pixels)
        _check_memory(source, Phrase("the_image"), max_decoded_bytes)
        return _model_sized(source, size, channels)
    return _decoded(source, WORKING_SCALE * size, lambda image: _model_sized(image, size, channels),
                    max_bytes, max_pixels, max_decoded_bytes)


def load_photo(source, max_side: int = MAX_PHOTO_SIDE, max_bytes: int = MAX_BYTES, max_pixels: int = MAX_PIXELS,
               max_decoded_bytes: int = MAX_DECODED_BYTES) -> np.ndarray:
    """A whole uploaded photo (a path, bytes or a binary file, checked as load_upload checks it),
    upright, RGB, shrunk so that its longer side is at most `max_side`: uint8 [H, W, 3]."""
    def whole(image: Image.Image) -> np.ndarray:
        factor = max(1, max(image.size) // max_side)
        w, h = image.size
        small = ImageOps.exif_transpose(_reduced(image, (0, 0, w // factor * factor, h // factor * factor), factor))
        if max(small.size) > max_side:
            small.thumbnail((max_side, max_side), Image.LANCZOS)
        rgb = _readable(small)
        if rgb.mode == "I":  # 16/32-bit grey: its own range to 0-255
            grey = np.asarray(rgb, np.float64)
            grey = (255 * (grey - grey.min()) / max(np.ptp(grey), 1)).round().astype(np.uint8)
            return np.repeat(grey[..., None], 3, axis=2)
        return np.asarray(rgb.convert("RGB") if rgb.mode != "RGB" else rgb).copy()

    if isinstance(source, np.ndarray):
        source = Image.fromarray(source)
    if isinstance(source, Image.Image):
        _check_size(source, Phrase("the_image"), max_pixels)
        return whole(source)
    return _decoded(source, max_side, whole, max_bytes, max_pixels, max_decoded_bytes)


def check_picture(source, max_side: int = MAX_PHOTO_SIDE, max_bytes: int = MAX_BYTES, max_pixels: int = MAX_PIXELS,
                  max_decoded_bytes: int = MAX_DECODED_BYTES) -> None:
    """Every check load_photo makes before decoding, from the file's header alone (nothing is
    decoded): for a picture that something else will decode (a UserError if it would be refused)."""
    data, name = _read_bytes(source, max_bytes)
    with _checked_header(data, name, max_side, max_pixels, max_decoded_bytes):
        pass


@contextlib.contextmanager
def _checked_header(data: bytes, name, draft_side: int, max_pixels: int, max_decoded_bytes: int):
    """The picture in `data`, opened (its header read, nothing decoded) and checked; JPEGs set to
    decode at the smallest of 1/1, 1/2, 1/4 or 1/8 scale that keeps `draft_side` pixels a side.
    Every error of opening, checking or (inside the block) decoding is a UserError."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as image:  # reads the header only
                _check_size(image, name, max_pixels)
                if image.format == "JPEG":
                    image.draft("RGB", (draft_side, draft_side))
                _check_memory(image, name, max_decoded_bytes)
                yield image
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise UserError("pixels_unsafe", name=name, limit=max_pixels / 1e6) from None
    except UnidentifiedImageError:
        raise UserError("not_image", name=name) from None
    except (OSError, SyntaxError, EOFError) as err:
        raise UserError("broken_image", name=name, error=str(err)) from None


def _decoded(source, draft_side: int, then, max_bytes: int, max_pixels: int, max_decoded_bytes: int):
    """then(image) for the decoded upload, every check made from its header first (see _checked_header)."""
    data, name = _read_bytes(source, max_bytes)
    with _checked_header(data, name, draft_side, max_pixels, max_decoded_bytes) as image:
        image.load()
        return then(image)
