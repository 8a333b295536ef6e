"""Training images, decoded once into memory as uint8 [N, C, H, W].

Sources (one function, `load_images`):
  * a zip or folder in Hugging Face `imagefolder` layout (`metadata.csv` with `file_name`,
    optionally a `split` column), e.g. ../shared/data/celeba64.zip;
  * a zip or folder of plain images (searched recursively);
  * torchvision's data sets by name: `mnist`, `cifar10`, `celeba` (downloaded by torchvision).
Every image is centre-cropped to a square and resized to the model's size.
"""
from __future__ import annotations

import csv
import io
import os
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from PIL import Image, UnidentifiedImageError

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".webp", ".gif", ".tif", ".tiff"}
TORCHVISION_SETS = ("mnist", "cifar10", "celeba")
MAX_BYTES = 8 * 2**30  # decoded data larger than this is refused (use `limit`)


class DataError(ValueError):
    """Bad training data: a wrong path, an empty source or an unreadable file (named)."""


@dataclass
class ImageSet:
    images: torch.Tensor                 # uint8 [N, C, H, W]
    source: str                          # where they came from
    metadata: dict[str, list[str]] = field(default_factory=dict)  # metadata.csv columns, one row per image

    def __len__(self) -> int:
        return self.images.shape[0]


def prepare_image(image: Image.Image, size: int, channels: int) -> np.ndarray:
    """PIL image -> uint8 [C, size, size]: centre square crop, resize, RGB or greyscale."""
    if image.mode.startswith("I"):  # 16/32-bit greyscale: scale to 8 bits rather than clip
        wide = np.asarray(image, dtype=np.float64)
        peak = 65535.0 if image.mode.startswith("I;16") or wide.max() <= 65535 else float(wide.max())
        image = Image.fromarray(np.round(wide.clip(0, None) * 255 / peak).astype(np.uint8), mode="L")
    image = image.convert("RGB" if channels == 3 else "L")
    w, h = image.size
    side = min(w, h)
    if (w, h) != (side, side):
        left, top = (w - side) // 2, (h - side) // 2
        image = image.crop((left, top, left + side, top + side))
    if side != size:
        image = image.resize((size, size), Image.Resampling.LANCZOS)
    array = np.asarray(image, dtype=np.uint8)
    return array[None] if channels == 1 else array.transpose(2, 0, 1)


def _decode(data: bytes, name: str, size: int, channels: int) -> np.ndarray:
    try:
        with Image.open(io.BytesIO(data)) as image:
            image.load()
            return prepare_image(image, size, channels)
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError) as err:
        raise DataError(f"cannot read image {name}: {err}") from None


class _Files:
    """Uniform read access to the files of a zip or a folder."""

    def __init__(self, path: Path):
        self.path = path
        self.zip = zipfile.ZipFile(path) if path.is_file() else None
        if self.zip is not None:
            self.names = [n for n in self.zip.namelist() if not n.endswith("/")]
        else:
            self.names = sorted(p.relative_to(path).as_posix() for p in path.rglob("*") if p.is_file())
        self.prefix = self._common_root()

    def _common_root(self) -> str:
        """A zip of `folder/metadata.csv, folder/images/...` is read as if `folder/` were the root."""
        if "metadata.csv" in self.names or self.zip is None:
            return ""
        tops = {n.split("/", 1)[0] for n in self.names if not n.startswith("__MACOSX/")}
        if len(tops) == 1 and f"{next(iter(tops))}/metadata.csv" in self.names:
            return next(iter(tops)) + "/"
        return ""

    def has(self, name: str) -> bool:
        return self.prefix + name in self.names if self.zip is not None else (self.path / name).is_file()

    def read(self, name: str) -> bytes:
        try:
            if self.zip is not None:
                return self.zip.read(self.prefix + name)
            return (self.path / name).read_bytes()
        except (KeyError, FileNotFoundError):
            raise DataError(f"{self.path}: file {name!r} named in metadata.csv is missing") from None
        except (OSError, zipfile.BadZipFile) as err:
            raise DataError(f"{self.path}: cannot read {name!r}: {err}") from None

    def images(self) -> list[str]:
        return [n[len(self.prefix):] for n in self.names
                if n.startswith(self.prefix) and Path(n).suffix.lower() in IMAGE_SUFFIXES
                and not Path(n).name.startswith(".")]


def _read_metadata(files: _Files) -> dict[str, list[str]]:
    text = files.read("metadata.csv").decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(text)))
    if not rows:
        raise DataError(f"{files.path}: metadata.csv has no rows")
    if "file_name" not in rows[0]:
        raise DataError(f"{files.path}: metadata.csv has no 'file_name' column (columns: {list(rows[0])})")
    return {key: [row[key] or "" for row in rows] for key in rows[0]}


def _select(metadata: dict[str, list[str]], split: str | None, source: str) -> dict[str, list[str]]:
    if split == "auto":
        split = "train" if "split" in metadata else None
    if split is None:
        return metadata
    if "split" not in metadata:
        raise DataError(f"{source}: split {split!r} asked for, but metadata.csv has no 'split' column")
    keep = [i for i, s in enumerate(metadata["split"]) if s == split]
    if not keep:
        raise DataError(f"{source}: no images in split {split!r} (splits: {sorted(set(metadata['split']))})")
    return {key: [values[i] for i in keep] for key, values in metadata.items()}


def _check_budget(count: int, size: int, channels: int, source: str) -> None:
    need = count * channels * size * size
    if need > MAX_BYTES:
        raise DataError(f"{source}: {count} images at {size}x{size} need {need / 2**30:.1f} GiB decoded; "
                        f"pass a limit to load fewer")


def _load_files(path: Path, size: int, channels: int, split: str | None, limit: int | None) -> ImageSet:
    try:
        files = _Files(path)
    except zipfile.BadZipFile:
        raise DataError(f"{path}: not a valid zip file") from None
    if files.has("metadata.csv"):
        metadata = _select(_read_metadata(files), split, str(path))
        names = metadata["file_name"]
    else:
        if split not in (None, "auto"):
            raise DataError(f"{path}: split {split!r} asked for, but there is no metadata.csv")
        names, metadata = files.images(), {}
        if not names:
            raise DataError(f"{path}: no images found (looked for {', '.join(sorted(IMAGE_SUFFIXES))})")
        metadata = {"file_name": names}
    if limit is not None:
        names = names[:limit]
        metadata = {key: values[:limit] for key, values in metadata.items()}
    _check_budget(len(names), size, channels, str(path))
    images = np.empty((len(names), channels, size, size), np.uint8)
    for i, name in enumerate(names):
        images[i] = _decode(files.read(name), f"{path}:{name}", size, channels)
    return ImageSet(torch.from_numpy(images), str(path), metadata)


def _load_torchvision(name: str, size: int, channels: int, split: str | None, limit: int | None,
                      root: str | None) -> ImageSet:
    import torchvision

    root = root or os.path.join(os.path.expanduser("~"), ".cache", "gan_core", name)
    train = split in (None, "auto", "train")
    if name == "mnist":
        dataset = torchvision.datasets.MNIST(root, train=train, download=True)
    elif name == "cifar10":
        dataset = torchvision.datasets.CIFAR10(root, train=train, download=True)
    else:
        dataset = torchvision.datasets.CelebA(root, split="train" if train else "test", download=True)
    count = len(dataset) if limit is None else min(limit, len(dataset))
    _check_budget(count, size, channels, name)
    images = np.empty((count, channels, size, size), np.uint8)
    for i in range(count):
        images[i] = prepare_image(dataset[i][0], size, channels)
    return ImageSet(torch.from_numpy(images), f"torchvision:{name}")


def load_images(source: str | os.PathLike, size: int, channels: int = 3, split: str | None = "auto",
                limit: int | None = None, root: str | None = None) -> ImageSet:
    """Decode every image of `source` once, centre-cropped and resized to `size`.

    split: a value of metadata.csv's `split` column; "auto" takes `train` when the column
    exists, else everything; None takes everything. limit: keep the first `limit` images.
    """
    text = str(source)
    if text.lower() in TORCHVISION_SETS and not Path(text).exists():
        return _load_torchvision(text.lower(), size, channels, split, limit, root)
    path = Path(text).expanduser()
    if not path.exists():
        raise DataError(f"no such file or folder: {path} (or name one of {', '.join(TORCHVISION_SETS)})")
    if path.is_file() and not zipfile.is_zipfile(path):
        raise DataError(f"{path} is neither a folder nor a zip file")
    return _load_files(path, size, channels, split, limit)


def synthetic_images(count: int, size: int, channels: int = 3, seed: int = 0) -> torch.Tensor:
    """Smooth random blobs, uint8 [N, C, H, W]: stand-in data for dry runs and tests."""
    generator = torch.Generator().manual_seed(seed)
    coarse = torch.rand(count, channels, 4, 4, generator=generator)
    images = torch.nn.functional.interpolate(coarse, size=(size, size), mode="bicubic", align_corners=False)
    return (images.clamp(0, 1) * 255).round().to(torch.uint8)


class Batches:
    """Endless shuffled batches from an in-memory uint8 set, moved to `device` once.

    Epoch e's order comes from a generator seeded with (seed, e), so batch k of a run is the
    same whether or not the run was stopped and resumed in between (drop-last batches).
    """

    def __init__(self, images: torch.Tensor, batch_size: int, device: torch.device, seed: int = 0,
                 flip: bool = False, channels_last: bool = False):
        if len(images) < batch_size:
            raise DataError(f"{len(images)} images are fewer than one batch of {batch_size}")
        self.images = images.to(device)
        self.batch_size, self.device, self.seed, self.flip = batch_size, device, seed, flip
        self.memory_format = torch.channels_last if channels_last else torch.contiguous_format
        self.per_epoch = len(images) // batch_size
        self._epoch, self._order = -1, None

    def _order_for(self, epoch: int) -> torch.Tensor:
        if epoch != self._epoch:
            generator = torch.Generator().manual_seed(self.seed * 1_000_003 + epoch)
            self._order = torch.randperm(len(self.images), generator=generator).to(self.device)
            self._epoch = epoch
        return self._order

    def batch(self, step: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """Batch number `step` of the run, float in [-1, 1]."""
        epoch, k = divmod(step, self.per_epoch)
        index = self._order_for(epoch)[k * self.batch_size:(k + 1) * self.batch_size]
        x = self.images[index].float().div_(127.5).sub_(1)
        if self.flip:
            mirror = torch.rand(len(x), 1, 1, 1, device=self.device, generator=generator) < 0.5
            x = torch.where(mirror, x.flip(3), x)
        return x.contiguous(memory_format=self.memory_format)
