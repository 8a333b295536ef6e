"""Training images: decoded once into memory as uint8 [N, C, H, W] (`load_images`), or indexed
to be decoded one by one when they would not fit (`open_images`, an `ImageFiles`). The batches
a run takes from them, in memory or streamed, are gan_core.training.batches'.

    digits = load_images("../shared/data/mnist28.zip", 32, channels=1)   # an ImageSet
    files = open_images("shards/*.tar", 64)                               # an ImageFiles

Sources:
  * a zip or folder in Hugging Face `imagefolder` layout (`metadata.csv` with `file_name`,
    optionally a `split` column), e.g. ../shared/data/celeba64.zip;
  * a zip or folder of plain images (searched recursively);
  * tar shards in webdataset layout (`000123.jpg`, ...): one .tar, a folder of them, or a glob
    such as `shards/*.tar`; uncompressed, so that any image can be read by its offset;
  * torchvision's data sets by name: `mnist`, `cifar10`, `celeba` (downloaded by torchvision;
    in memory only).
Every image is centre-cropped to a square and resized to the model's size.
"""
from __future__ import annotations

import csv
import glob
import io
import os
import tarfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from PIL import Image, UnidentifiedImageError

from ..errors import UserError

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".webp", ".gif", ".tif", ".tiff"}
TORCHVISION_SETS = ("mnist", "cifar10", "celeba")
MAX_BYTES = 8 * 2**30  # decoded data larger than this is refused in memory (stream it, or use `limit`)
SHARD_SUFFIX = ".tar"


class DataError(UserError):
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
        raise DataError("image_unreadable", name=name, error=str(err)) from None


class _Files:
    """Uniform read access, by name, to the files of a zip, a folder or uncompressed tar shards.
    Safe in DataLoader workers: each process opens its own handles."""

    def __init__(self, path: Path, shards: list[Path] | None = None):
        self.path, self.shards = path, shards or []
        self._pid, self._handles = None, {}
        self.kind = "tar" if self.shards else "zip" if path.is_file() else "folder"
        if self.kind == "tar":
            self._index_shards()
        elif self.kind == "zip":
            self.names = [n for n in self._handle("zip").namelist() if not n.endswith("/")]
        else:
            self.names = sorted(p.relative_to(path).as_posix() for p in path.rglob("*") if p.is_file())
        self.prefix = self._common_root()

    def _index_shards(self) -> None:
        """Every regular member of every shard, named `shard.tar/member`, with where its bytes lie."""
        self.names, self._where = [], {}
        for number, shard in enumerate(self.shards):
            try:
                with tarfile.open(shard, "r:") as archive:  # "r:": compressed shards cannot be read by offset
                    for member in archive:
                        if member.isfile():
                            name = f"{shard.name}/{member.name}"
                            self.names.append(name)
                            self._where[name] = (number, member.offset_data, member.size)
                        archive.members.clear()  # the index above is all we keep
            except (tarfile.TarError, OSError) as err:
                raise DataError("not_tar", shard=str(shard), error=str(err)) from None

    def _handle(self, key):
        if self._pid != os.getpid():  # a fresh process (a DataLoader worker): its own handles
            self._pid, self._handles = os.getpid(), {}
        if key not in self._handles:
            self._handles[key] = zipfile.ZipFile(self.path) if key == "zip" else open(self.shards[key], "rb")
        return self._handles[key]

    def __getstate__(self):  # handles stay behind when a worker process is spawned
        return {**self.__dict__, "_pid": None, "_handles": {}}

    def _common_root(self) -> str:
        """A zip of `folder/metadata.csv, folder/images/...` is read as if `folder/` were the root."""
        if "metadata.csv" in self.names or self.kind != "zip":
            return ""
        tops = {n.split("/", 1)[0] for n in self.names if not n.startswith("__MACOSX/")}
        if len(tops) == 1 and f"{next(iter(tops))}/metadata.csv" in self.names:
            return next(iter(tops)) + "/"
        return ""

    def has(self, name: str) -> bool:
        return (self.path / name).is_file() if self.kind == "folder" else self.prefix + name in self.names

    def read(self, name: str) -> bytes:
        try:
            if self.kind == "tar":
                number, offset, size = self._where[name]
                handle = self._handle(number)
                handle.seek(offset)
                return handle.read(size)
            if self.kind == "zip":
                return self._handle("zip").read(self.prefix + name)
            return (self.path / name).read_bytes()
        except (KeyError, FileNotFoundError):
            raise DataError("metadata_file_missing", path=str(self.path), name=name) from None
        except (OSError, zipfile.BadZipFile) as err:
            raise DataError("file_unreadable", path=str(self.path), name=name, error=str(err)) from None

    def images(self) -> list[str]:
        return [n[len(self.prefix):] for n in self.names
                if n.startswith(self.prefix) and Path(n).suffix.lower() in IMAGE_SUFFIXES
                and not Path(n).name.startswith(".")]


def _read_metadata(files: _Files) -> dict[str, list[str]]:
    text = files.read("metadata.csv").decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(text)))
    if not rows:
        raise DataError("metadata_empty", path=str(files.path))
    if "file_name" not in rows[0]:
        raise DataError("metadata_no_file_name", path=str(files.path), columns=str(list(rows[0])))
    return {key: [row[key] or "" for row in rows] for key in rows[0]}


def _select(metadata: dict[str, list[str]], split: str | None, source: str) -> dict[str, list[str]]:
    if split == "auto":
        split = "train" if "split" in metadata else None
    if split is None:
        return metadata
    if "split" not in metadata:
        raise DataError("no_split_column", source=source, split=split)
    keep = [i for i, s in enumerate(metadata["split"]) if s == split]
    if not keep:
        raise DataError("split_empty", source=source, split=split, splits=str(sorted(set(metadata["split"]))))
    return {key: [values[i] for i in keep] for key, values in metadata.items()}


def _check_budget(count: int, size: int, channels: int, source: str) -> None:
    need = count * channels * size * size
    if need > MAX_BYTES:
        raise DataError("data_too_big", source=source, count=count, size=size, gib=need / 2**30)


class ImageFiles(torch.utils.data.Dataset):
    """The images of a zip, folder or tar shards, indexed but not decoded: item i is decoded
    (uint8 [C, size, size]) when asked for, e.g. in a DataLoader worker."""

    def __init__(self, files: _Files, names: list[str], size: int, channels: int,
                 metadata: dict[str, list[str]]):
        self.files, self.names, self.size, self.channels, self.metadata = files, names, size, channels, metadata
        self.source = str(files.path)

    def __len__(self) -> int:
        return len(self.names)

    def __getitem__(self, index: int) -> torch.Tensor:
        name = self.names[index]
        return torch.tensor(_decode(self.files.read(name), f"{self.source}:{name}", self.size, self.channels))

    @property
    def decoded_bytes(self) -> int:
        """What decoding them all into memory would take."""
        return len(self) * self.channels * self.size * self.size

    def decode_all(self) -> ImageSet:
        _check_budget(len(self), self.size, self.channels, self.source)
        images = np.empty((len(self), self.channels, self.size, self.size), np.uint8)
        for i in range(len(self)):
            images[i] = self[i].numpy()
        return ImageSet(torch.from_numpy(images), self.source, self.metadata)


def _shards(text: str, path: Path) -> list[Path]:
    """The tar shards a source names: a .tar file, a folder holding only shards, or a glob."""
    if any(c in text for c in "*?["):
        return sorted(Path(p) for p in glob.glob(os.path.expanduser(text)) if p.endswith(SHARD_SUFFIX))
    if path.is_file() and path.suffix == SHARD_SUFFIX:
        return [path]
    if path.is_dir():
        files = [p for p in path.iterdir() if p.is_file() and not p.name.startswith(".")]
        if files and all(p.suffix == SHARD_SUFFIX for p in files):
            return sorted(files)
    return []


def open_images(source: str | os.PathLike, size: int, channels: int = 3, split: str | None = "auto",
                limit: int | None = None) -> ImageFiles:
    """Index the images of a zip, folder or tar shards (as load_images selects them) without
    decoding any: for streaming data that does not fit in memory."""
    text = str(source)
    path = Path(text).expanduser()
    shards = _shards(text, path)
    if not shards and any(c in text for c in "*?["):
        raise DataError("no_shards", suffix=SHARD_SUFFIX, text=text)
    if not shards and not path.exists():
        raise DataError("no_data", path=str(path), sets=list(TORCHVISION_SETS))
    if not shards and path.is_file() and not zipfile.is_zipfile(path):
        raise DataError("not_data", path=str(path), suffix=SHARD_SUFFIX)
    try:
        files = _Files(path, shards)
    except zipfile.BadZipFile:
        raise DataError("bad_zip", path=str(path)) from None
    if files.has("metadata.csv"):
        metadata = _select(_read_metadata(files), split, str(path))
        names = metadata["file_name"]
    else:
        if split not in (None, "auto"):
            raise DataError("split_no_metadata", path=str(path), split=split)
        names = files.images()
        if not names:
            raise DataError("no_images", path=str(path), suffixes=sorted(IMAGE_SUFFIXES))
        metadata = {"file_name": names}
    if limit is not None:
        names = names[:limit]
        metadata = {key: values[:limit] for key, values in metadata.items()}
    return ImageFiles(files, names, size, channels, metadata)


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
    return open_images(text, size, channels, split, limit).decode_all()


def synthetic_images(count: int, size: int, channels: int = 3, seed: int = 0) -> torch.Tensor:
    """Smooth random blobs, uint8 [N, C, H, W]: stand-in data for dry runs and tests."""
    generator = torch.Generator().manual_seed(seed)
    coarse = torch.rand(count, channels, 4, 4, generator=generator)
    images = torch.nn.functional.interpolate(coarse, size=(size, size), mode="bicubic", align_corners=False)
    return (images.clamp(0, 1) * 255).round().to(torch.uint8)
