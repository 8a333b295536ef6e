"""gan_core.data.images: loading training images from zips and folders, and the batch sampler."""
from __future__ import annotations

import io
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from gan_core.training.batches import Batches
from gan_core.data.images import DataError, ImageSet, load_images, prepare_image, synthetic_images

# --------------------------------------------------------------------------------------------
# helpers: tiny images as encoded bytes, and data sets laid out like the real ones


def encode(array: np.ndarray, fmt: str = "PNG", mode: str | None = None) -> bytes:
    buffer = io.BytesIO()
    image = Image.fromarray(array, mode) if mode else Image.fromarray(array)
    image.save(buffer, format=fmt, **({"quality": 95} if fmt == "JPEG" else {}))
    return buffer.getvalue()


def solid(colour, width: int = 32, height: int = 32) -> np.ndarray:
    return np.broadcast_to(np.array(colour, np.uint8), (height, width, len(colour))).copy()


# Six labelled images, listed in metadata.csv in an order that is NOT alphabetical, each a solid
# colour derived from its label, so alignment between metadata rows and images can be checked.
ROWS = [  # file_name, split, label
    ("images/f.png", "train", "0"),
    ("images/a.png", "test", "1"),
    ("images/d.png", "train", "2"),
    ("images/b.png", "train", "3"),
    ("images/e.png", "test", "4"),
    ("images/c.png", "train", "5"),
]


def label_colour(label: str) -> tuple[int, int, int]:
    i = int(label)
    return (40 * i, 250 - 40 * i, 17 + 3 * i)


def imagefolder_entries(metadata: str | None = None) -> dict[str, bytes]:
    """HF `imagefolder` layout: metadata.csv (file_name, split, label) + images/; some images
    are larger and non-square, so they are cropped and resized on the way in."""
    entries = {}
    for k, (name, _, label) in enumerate(ROWS):
        w, h = (32, 32) if k % 2 == 0 else (48, 40)
        entries[name] = encode(solid(label_colour(label), w, h))
    if metadata is None:
        metadata = "file_name,split,label\n" + "".join(f"{n},{s},{l}\n" for n, s, l in ROWS)
    entries["metadata.csv"] = metadata.encode()
    return entries


def write_zip(path: Path, entries: dict[str, bytes], top: str = "", dirs: bool = False) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        if dirs and top:
            archive.writestr(top, b"")  # an explicit directory entry, as many zip tools write
        for name, data in entries.items():
            archive.writestr(top + name, data)
    return path


def write_tree(root: Path, entries: dict[str, bytes]) -> Path:
    for name, data in entries.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(data)
    return root


def colours_of(images: torch.Tensor) -> list[tuple[int, ...]]:
    """The colour of each (solid) image, asserting that it is indeed uniform."""
    out = []
    for image in images:
        flat = image.reshape(image.shape[0], -1)
        assert (flat == flat[:, :1]).all(), "expected a uniform image"
        out.append(tuple(int(v) for v in flat[:, 0]))
    return out


@pytest.fixture
def imagefolder_zip(tmp_path) -> Path:
    return write_zip(tmp_path / "faces.zip", imagefolder_entries())


# --------------------------------------------------------------------------------------------
# (a) HF imagefolder zip with metadata.csv


@pytest.mark.parametrize("split, expected", [
    ("train", ["0", "2", "3", "5"]),
    ("auto", ["0", "2", "3", "5"]),          # auto = train when there is a split column
    ("test", ["1", "4"]),
    (None, ["0", "1", "2", "3", "4", "5"]),  # None = every row
])
def test_imagefolder_zip_split_selection(imagefolder_zip, split, expected):
    data = load_images(imagefolder_zip, size=32, channels=3, split=split)
    assert isinstance(data, ImageSet)
    assert len(data) == len(expected)
    assert data.images.shape == (len(expected), 3, 32, 32)
    assert data.images.dtype == torch.uint8
    assert data.source == str(imagefolder_zip)
    # every metadata column comes back, one value per image, in metadata.csv's order
    assert set(data.metadata) == {"file_name", "split", "label"}
    assert data.metadata["label"] == expected
    assert all(len(values) == len(expected) for values in data.metadata.values())
    if split in ("train", "auto", "test"):
        assert set(data.metadata["split"]) == {"train" if split != "test" else "test"}
    by_label = {label: name for name, _, label in ROWS}
    assert data.metadata["file_name"] == [by_label[label] for label in expected]


def test_imagefolder_metadata_aligned_with_images(imagefolder_zip):
    data = load_images(imagefolder_zip, size=32, split=None)
    assert colours_of(data.images) == [label_colour(label) for label in data.metadata["label"]]


def test_imagefolder_as_plain_folder_matches_zip(tmp_path, imagefolder_zip):
    folder = write_tree(tmp_path / "unzipped", imagefolder_entries())
    from_zip = load_images(imagefolder_zip, size=16, split="auto")
    from_folder = load_images(folder, size=16, split="auto")
    assert torch.equal(from_zip.images, from_folder.images)
    assert from_zip.metadata == from_folder.metadata


def test_metadata_with_bom_and_extra_columns(tmp_path):
    metadata = "\ufefffile_name,split,label,note\n" + "".join(f"{n},{s},{l},x{l}\n" for n, s, l in ROWS)
    path = write_zip(tmp_path / "bom.zip", imagefolder_entries(metadata))
    data = load_images(path, size=32, split="test")
    assert data.metadata["file_name"] == ["images/a.png", "images/e.png"]  # BOM not part of the key
    assert data.metadata["note"] == ["x1", "x4"]


def test_metadata_without_split_column_auto_takes_all(tmp_path):
    metadata = "file_name,label\n" + "".join(f"{n},{l}\n" for n, _, l in ROWS)
    path = write_zip(tmp_path / "nosplit.zip", imagefolder_entries(metadata))
    data = load_images(path, size=32, split="auto")
    assert len(data) == len(ROWS)
    assert data.metadata["label"] == [l for _, _, l in ROWS]
    with pytest.raises(DataError, match="split 'train'.*no 'split' column"):
        load_images(path, size=32, split="train")


# --------------------------------------------------------------------------------------------
# (b) a zip whose contents sit under one top folder


@pytest.mark.parametrize("dirs", [False, True], ids=["files-only", "with-dir-entries"])
def test_zip_under_one_top_folder(tmp_path, imagefolder_zip, dirs):
    nested = write_zip(tmp_path / "nested.zip", imagefolder_entries(), top="celeba64/", dirs=dirs)
    flat = load_images(imagefolder_zip, size=32, split=None)
    data = load_images(nested, size=32, split=None)
    assert torch.equal(data.images, flat.images)
    assert data.metadata == flat.metadata  # file names relative to the top folder
    assert load_images(nested, size=32, split="test").metadata["label"] == ["1", "4"]


def test_plain_zip_under_one_top_folder(tmp_path):
    entries = {f"pics/{c}.png": encode(solid(colour)) for c, colour in
               [("r", (255, 0, 0)), ("g", (0, 255, 0)), ("b", (0, 0, 255))]}
    entries["pics/readme.txt"] = b"not an image"
    data = load_images(write_zip(tmp_path / "pics.zip", entries), size=32)
    assert len(data) == 3
    assert sorted(colours_of(data.images)) == sorted([(255, 0, 0), (0, 255, 0), (0, 0, 255)])
    assert sorted(data.metadata["file_name"]) == ["pics/b.png", "pics/g.png", "pics/r.png"]


def test_macos_zip_with_top_folder_keeps_metadata(tmp_path):
    entries = imagefolder_entries()
    path = tmp_path / "mac.zip"
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in entries.items():
            archive.writestr("celeba64/" + name, data)
            archive.writestr("__MACOSX/celeba64/._" + Path(name).name, b"\x00\x05\x16\x07 resource fork")
    data = load_images(path, size=32, split="auto")
    assert data.metadata["label"] == ["0", "2", "3", "5"]


# --------------------------------------------------------------------------------------------
# (c) a plain folder of mixed images


@pytest.fixture
def mixed_folder(tmp_path) -> Path:
    """PNG + JPEG, RGB + greyscale + RGBA, square and non-square, in subfolders, plus clutter."""
    rng = np.random.default_rng(0)
    entries = {
        "a/wide.png": encode(rng.integers(0, 256, (40, 64, 3), dtype=np.uint8)),
        "a/photo.jpg": encode(solid((200, 30, 60), 50, 30), "JPEG"),
        "b/grey.png": encode(np.full((20, 20), 90, np.uint8), mode="L"),
        "b/sub/alpha.png": encode(np.dstack([solid((10, 120, 230), 33, 33), np.full((33, 33, 1), 128, np.uint8)])),
        "b/notes.txt": b"these are not images",
        "b/.hidden.png": b"macOS metadata, not a PNG",
    }
    return write_tree(tmp_path / "mixed", entries)


def test_plain_folder_recursive_sorted(mixed_folder):
    data = load_images(mixed_folder, size=32, channels=3)
    assert data.metadata == {"file_name": ["a/photo.jpg", "a/wide.png", "b/grey.png", "b/sub/alpha.png"]}
    assert data.images.shape == (4, 3, 32, 32)
    assert data.images.dtype == torch.uint8
    photo, _, grey, alpha = data.images
    assert np.allclose(photo.float().mean(dim=(1, 2)).numpy(), (200, 30, 60), atol=4)  # JPEG is lossy
    assert colours_of(grey[None]) == [(90, 90, 90)]          # greyscale input -> equal RGB channels
    assert colours_of(alpha[None]) == [(10, 120, 230)]       # RGBA -> its RGB (alpha dropped)


def test_plain_folder_greyscale_output(mixed_folder):
    rgb = load_images(mixed_folder, size=24, channels=3)
    grey = load_images(mixed_folder, size=24, channels=1)
    assert grey.images.shape == (4, 1, 24, 24)
    assert grey.images.dtype == torch.uint8
    assert colours_of(grey.images[2:3]) == [(90,)]
    # luminance of an RGB pixel, as PIL's "L" conversion computes it (ITU-R 601-2)
    r, g, b = (10, 120, 230)
    assert colours_of(grey.images[3:4]) == [(round((r * 299 + g * 587 + b * 114) / 1000),)]
    assert rgb.metadata == grey.metadata


@pytest.mark.parametrize("size", [8, 32, 48])
@pytest.mark.parametrize("width, height", [(96, 32), (32, 96), (35, 32), (32, 35)])
def test_centre_crop(tmp_path, width, height, size):
    """The side bands lie outside the centre square: after loading only the centre colour is left."""
    side = min(width, height)
    image = solid((0, 0, 255), width, height)
    left, top = (width - side) // 2, (height - side) // 2
    image[top:top + side, left:left + side] = (255, 0, 0)
    assert (image == (0, 0, 255)).all(axis=2).any()  # the bands are there to be cut away
    folder = write_tree(tmp_path / "crop", {"x.png": encode(image)})
    data = load_images(folder, size=size)
    assert data.images.shape == (1, 3, size, size)
    assert colours_of(data.images) == [(255, 0, 0)]


def test_prepare_image_keeps_a_square_image_unchanged():
    rng = np.random.default_rng(1)
    array = rng.integers(0, 256, (16, 16, 3), dtype=np.uint8)
    out = prepare_image(Image.fromarray(array), size=16, channels=3)
    assert out.shape == (3, 16, 16) and out.dtype == np.uint8
    assert np.array_equal(out, array.transpose(2, 0, 1))


def test_16_bit_greyscale_png_is_scaled_not_clipped(tmp_path):
    ramp = np.linspace(0, 65535, 32 * 32).reshape(32, 32).astype(np.uint16)
    folder = write_tree(tmp_path / "deep", {"ramp.png": encode(ramp)})
    data = load_images(folder, size=32, channels=1)
    expected = (ramp >> 8).astype(np.uint8)
    assert np.abs(data.images[0, 0].numpy().astype(int) - expected).max() <= 1


# --------------------------------------------------------------------------------------------
# (d) errors name what is wrong


def test_missing_path(tmp_path):
    missing = tmp_path / "nowhere" / "faces.zip"
    with pytest.raises(DataError, match="no such file or folder") as info:
        load_images(missing, size=32)
    assert str(missing) in str(info.value)


def test_empty_folder(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(DataError, match="no images found") as info:
        load_images(empty, size=32)
    assert str(empty) in str(info.value)
    (empty / "notes.txt").write_text("still no images")
    with pytest.raises(DataError, match="no images found"):
        load_images(empty, size=32)


def test_corrupt_image_in_folder_is_named(tmp_path):
    folder = write_tree(tmp_path / "bad", {
        "ok.png": encode(solid((1, 2, 3))),
        "sub/broken.jpg": b"\x00garbage, not a JPEG at all" * 10,
    })
    with pytest.raises(DataError, match="cannot read image") as info:
        load_images(folder, size=32)
    assert "sub/broken.jpg" in str(info.value)


def test_truncated_jpeg_in_zip_is_named(tmp_path):
    jpeg = encode(np.random.default_rng(2).integers(0, 256, (64, 64, 3), dtype=np.uint8), "JPEG")
    path = write_zip(tmp_path / "cut.zip", {"good.png": encode(solid((9, 9, 9))), "cut.jpg": jpeg[: len(jpeg) // 2]})
    with pytest.raises(DataError) as info:
        load_images(path, size=32)
    assert "cut.jpg" in str(info.value) and str(path) in str(info.value)


def test_metadata_naming_a_missing_file(tmp_path):
    metadata = "file_name,split\nimages/f.png,train\nimages/ghost.png,train\n"
    entries = imagefolder_entries(metadata)
    for path in (write_zip(tmp_path / "ghost.zip", entries), write_tree(tmp_path / "ghost", entries)):
        with pytest.raises(DataError, match="missing") as info:
            load_images(path, size=32)
        assert "images/ghost.png" in str(info.value)


def test_metadata_without_file_name_column(tmp_path):
    path = write_zip(tmp_path / "nofile.zip", imagefolder_entries("image,split\nimages/f.png,train\n"))
    with pytest.raises(DataError, match="file_name") as info:
        load_images(path, size=32)
    assert str(path) in str(info.value)


def test_metadata_without_rows(tmp_path):
    path = write_zip(tmp_path / "norows.zip", imagefolder_entries("file_name,split\n"))
    with pytest.raises(DataError, match="no rows"):
        load_images(path, size=32)


def test_unknown_split(imagefolder_zip):
    with pytest.raises(DataError, match="validation") as info:
        load_images(imagefolder_zip, size=32, split="validation")
    message = str(info.value)
    assert str(imagefolder_zip) in message
    assert "test" in message and "train" in message  # lists the splits there are


def test_split_without_metadata(mixed_folder):
    with pytest.raises(DataError, match="no metadata.csv"):
        load_images(mixed_folder, size=32, split="train")


@pytest.mark.parametrize("name, content", [
    ("faces.tar.gz", b"\x1f\x8b\x08\x00 not really a tarball"),
    ("faces.zip", b"PK but truncated nonsense"),
    ("single.png", None),  # one image is not a data set
])
def test_not_a_zip_file(tmp_path, name, content):
    path = tmp_path / name
    path.write_bytes(content if content is not None else encode(solid((1, 2, 3))))
    with pytest.raises(DataError, match="neither a folder, a zip file nor a .tar shard") as info:
        load_images(path, size=32)
    assert str(path) in str(info.value)


# --------------------------------------------------------------------------------------------
# (e) limit


def test_limit_after_split(imagefolder_zip):
    data = load_images(imagefolder_zip, size=32, split="train", limit=2)
    assert data.images.shape == (2, 3, 32, 32)
    assert data.metadata["label"] == ["0", "2"]
    assert data.metadata["split"] == ["train", "train"]
    assert colours_of(data.images) == [label_colour("0"), label_colour("2")]


def test_limit_on_plain_folder_and_beyond_count(mixed_folder):
    assert load_images(mixed_folder, size=8, limit=3).metadata["file_name"] == ["a/photo.jpg", "a/wide.png", "b/grey.png"]
    assert len(load_images(mixed_folder, size=8, limit=100)) == 4


def test_limit_skips_decoding_the_rest(tmp_path):
    """Images beyond the limit are never decoded, so a broken one there does no harm."""
    folder = write_tree(tmp_path / "lim", {"a.png": encode(solid((5, 5, 5))), "z.jpg": b"broken"})
    assert len(load_images(folder, size=8, limit=1)) == 1


# --------------------------------------------------------------------------------------------
# synthetic images and Batches


def test_synthetic_images():
    images = synthetic_images(5, 16, channels=3, seed=3)
    assert images.shape == (5, 3, 16, 16) and images.dtype == torch.uint8
    assert torch.equal(images, synthetic_images(5, 16, channels=3, seed=3))
    assert not torch.equal(images, synthetic_images(5, 16, channels=3, seed=4))
    assert synthetic_images(2, 8, channels=1).shape == (2, 1, 8, 8)


CPU = torch.device("cpu")


@pytest.fixture
def pool() -> torch.Tensor:
    images = synthetic_images(10, 8, channels=3, seed=0)
    images[0] = 0      # the extremes map to exactly -1 and 1
    images[1] = 255
    return images


def test_batches_shape_and_range(pool):
    batches = Batches(pool, batch_size=4, device=CPU, seed=0)
    assert batches.per_epoch == 2  # drop-last: 10 images -> two batches of 4
    seen_min, seen_max = 1.0, -1.0
    for step in range(6):
        x = batches.batch(step)
        assert x.shape == (4, 3, 8, 8)
        assert x.dtype == torch.float32 and x.device.type == "cpu"
        assert x.min() >= -1 and x.max() <= 1
        seen_min, seen_max = min(seen_min, x.min().item()), max(seen_max, x.max().item())
    assert seen_min == -1.0 and seen_max == 1.0
    # each batch is made of images of the pool, scaled exactly by /127.5 - 1
    restored = ((batches.batch(0) + 1) * 127.5).round().to(torch.uint8)
    pool_rows = {bytes(img.numpy().tobytes()) for img in pool}
    assert all(bytes(img.numpy().tobytes()) in pool_rows for img in restored)


def test_batches_epoch_has_distinct_images(pool):
    batches = Batches(pool, batch_size=5, device=CPU, seed=1)
    epoch = torch.cat([batches.batch(0), batches.batch(1)])
    assert len({bytes(x.numpy().tobytes()) for x in epoch}) == 10  # a permutation, no repeats


def test_batches_deterministic(pool):
    a = Batches(pool, batch_size=4, device=CPU, seed=7)
    b = Batches(pool, batch_size=4, device=CPU, seed=7)
    run_a = [a.batch(k) for k in range(7)]
    run_b = [b.batch(k) for k in range(7)]
    assert all(torch.equal(x, y) for x, y in zip(run_a, run_b))
    # batch k is the same when asked for out of order from a fresh sampler (a resumed run)
    for k in (5, 2, 6, 0):
        assert torch.equal(Batches(pool, batch_size=4, device=CPU, seed=7).batch(k), run_a[k])
        assert torch.equal(a.batch(k), run_a[k])
    # epochs are shuffled differently, and another seed gives another order
    assert not all(torch.equal(run_a[k], run_a[k + 2]) for k in range(2))
    c = Batches(pool, batch_size=4, device=CPU, seed=8)
    assert not all(torch.equal(c.batch(k), run_a[k]) for k in range(4))


def test_batches_flip(pool):
    plain = Batches(pool, batch_size=10, device=CPU, seed=0)
    flipping = Batches(pool, batch_size=10, device=CPU, seed=0, flip=True)
    x = plain.batch(0)
    y = flipping.batch(0, generator=torch.Generator().manual_seed(0))
    mirrored = torch.tensor([torch.equal(b, a.flip(2)) and not torch.equal(b, a) for a, b in zip(x, y)])
    kept = torch.tensor([torch.equal(b, a) for a, b in zip(x, y)])
    assert (mirrored | kept).all()           # every image is either as is or mirrored left-right
    assert mirrored.any() and kept.any()     # about half of each (seeded)
    # with the same generator seed, the flips are reproducible
    again = flipping.batch(0, generator=torch.Generator().manual_seed(0))
    assert torch.equal(y, again)


def test_batches_channels_last(pool):
    x = Batches(pool, batch_size=4, device=CPU, channels_last=True).batch(0)
    assert x.is_contiguous(memory_format=torch.channels_last)


def test_batches_fewer_images_than_a_batch(pool):
    with pytest.raises(DataError, match="fewer than one batch"):
        Batches(pool[:3], batch_size=4, device=CPU)
    assert Batches(pool[:4], batch_size=4, device=CPU).per_epoch == 1


def test_torchvision_sets_by_name(monkeypatch, tmp_path):
    """`load_images("mnist", ...)` goes through torchvision's own class (with its download);
    a stand-in class proves the wiring without a network."""
    import torchvision
    from PIL import Image as PILImage

    calls = {}

    class FakeMNIST:
        def __init__(self, root, train, download):
            calls.update(root=root, train=train, download=download)

        def __len__(self):
            return 5

        def __getitem__(self, i):
            return PILImage.new("L", (28, 28), color=40 * i), i

    monkeypatch.setattr(torchvision.datasets, "MNIST", FakeMNIST)
    images = load_images("mnist", 32, channels=1, root=str(tmp_path), limit=3)
    assert calls == {"root": str(tmp_path), "train": True, "download": True}
    assert images.images.shape == (3, 1, 32, 32)
    assert images.images[2].unique().tolist() == [80]
    assert images.source == "torchvision:mnist"
