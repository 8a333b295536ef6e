"""A user's uploaded picture, checked and made into a model-sized image.

    image = load_upload("photo.jpg", size=64, channels=3)   # uint8 [64, 64, 3], or a clear ValueError

Refused with a message that says why: a missing or empty file, one over MAX_BYTES, anything
Pillow cannot read as an image, more than MAX_PIXELS pixels (decompression bombs are caught from
the header, before decoding), animations, and sides under MIN_SIDE. Accepted images are turned
upright (EXIF orientation), flattened onto white if transparent, converted from any common mode
(P, L, LA, RGBA, CMYK, I;16, I, F, 1) and centre-cropped and resized as training images are
(gan_core.data.prepare_image).
"""
from __future__ import annotations

import io
import os
import warnings
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from .data import prepare_image

MAX_BYTES = 10 * 2**20     # 10 MiB
MAX_PIXELS = 50_000_000    # 48-megapixel phone photos pass; 150 MB decoded at most
MIN_SIDE = 16


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
        raise ValueError(f"images in colour mode {image.mode} are not supported; save it as PNG or JPEG "
                         f"in RGB") from None


def _check_size(image: Image.Image, name: str, max_pixels: int) -> None:
    width, height = image.size
    if width * height > max_pixels:
        raise ValueError(f"{name} is {width}x{height} pixels ({width * height / 1e6:.3g} megapixels); "
                         f"the limit is {max_pixels / 1e6:.3g} megapixels")
    if min(width, height) < MIN_SIDE:
        raise ValueError(f"{name} is only {width}x{height} pixels; upload an image at least "
                         f"{MIN_SIDE} pixels on each side")
    if getattr(image, "n_frames", 1) > 1:
        raise ValueError(f"{name} is an animation ({image.n_frames} frames); upload a still image")


def _read_bytes(source, max_bytes: int) -> tuple[bytes, str]:
    if isinstance(source, (str, os.PathLike)):
        path = Path(source)
        if not path.is_file():
            raise ValueError(f"no uploaded file at {path}")
        length, name = path.stat().st_size, path.name
        read = path.read_bytes
    elif isinstance(source, (bytes, bytearray, memoryview)):
        length, name, read = len(source), "the upload", lambda: bytes(source)
    elif hasattr(source, "read"):
        data = source.read(max_bytes + 1)
        length, name, read = len(data), "the upload", lambda: data
    else:
        raise ValueError(f"expected an uploaded image file, got {type(source).__name__}")
    if length == 0:
        raise ValueError(f"{name} is empty (0 bytes)")
    if length > max_bytes:
        raise ValueError(f"{name} is {'over ' if hasattr(source, 'read') else ''}{length / 2**20:.1f} MB; "
                         f"upload an image of at most {max_bytes / 2**20:.0f} MB")
    return read(), name


def load_upload(source, size: int, channels: int = 3, max_bytes: int = MAX_BYTES,
                max_pixels: int = MAX_PIXELS) -> np.ndarray:
    """An uploaded image as uint8 [size, size, channels]. `source`: a file path, bytes or a
    binary file object (checked before decoding), or an already decoded PIL image or uint8
    array [H, W], [H, W, 3] or [H, W, 4] (as gr.Image(type="numpy") passes it)."""
    if isinstance(source, np.ndarray):
        if source.dtype != np.uint8 or source.ndim not in (2, 3) or (source.ndim == 3 and source.shape[2] not in (1, 3, 4)):
            raise ValueError(f"expected an image array of uint8 [height, width(, 1, 3 or 4)], got "
                             f"{source.dtype} {source.shape}")
        source = Image.fromarray(source[..., 0] if source.ndim == 3 and source.shape[2] == 1 else source)
    if isinstance(source, Image.Image):
        _check_size(source, "the image", max_pixels)
        return prepare_image(_readable(source), size, channels).transpose(1, 2, 0).copy()
    data, name = _read_bytes(source, max_bytes)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as image:  # reads the header only
                _check_size(image, name, max_pixels)
                if image.format == "JPEG":  # decode at 1/2, 1/4 or 1/8 scale where that still leaves 4x the size
                    image.draft("RGB", (4 * size, 4 * size))
                upright = ImageOps.exif_transpose(image)
                return prepare_image(_readable(upright), size, channels).transpose(1, 2, 0).copy()
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise ValueError(f"{name} has too many pixels to decode safely; the limit is "
                         f"{max_pixels / 1e6:.3g} megapixels") from None
    except UnidentifiedImageError:
        raise ValueError(f"{name} is not an image that can be read (PNG, JPEG, WebP, GIF, BMP or TIFF)") from None
    except (OSError, SyntaxError, EOFError) as err:
        raise ValueError(f"{name} could not be decoded as an image (damaged or cut short?): {err}") from None
