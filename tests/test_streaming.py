"""Streamed data: tar shards, zips and folders read image by image in DataLoader workers give the
same batches as the images decoded into memory, for any rank and after a jump (a resume)."""
import io
import tarfile
import zipfile

import numpy as np
import pytest
import torch
from PIL import Image

from gan_core.model.config import GANConfig
from gan_core.training.batches import Batches, StreamedBatches
from gan_core.data.images import DataError, ImageFiles, load_images, open_images, synthetic_images
from gan_core.training.distributed import Ranks, SharedRandom
from gan_core.training.loop import TrainConfig, load_training_data

CPU = torch.device("cpu")
COUNT, SIDE = 30, 16


def png(image: torch.Tensor) -> bytes:
    out = io.BytesIO()
    Image.fromarray(image.permute(1, 2, 0).numpy()).save(out, "PNG")
    return out.getvalue()


@pytest.fixture(scope="module")
def sources(tmp_path_factory):
    """The same 30 images as a folder, a zip, one tar, and three tar shards (webdataset names)."""
    root = tmp_path_factory.mktemp("stream")
    images = synthetic_images(COUNT, SIDE, seed=2)
    blobs = {f"{i:06d}.png": png(image) for i, image in enumerate(images)}
    (root / "folder").mkdir()
    for name, blob in blobs.items():
        (root / "folder" / name).write_bytes(blob)
    with zipfile.ZipFile(root / "faces.zip", "w") as archive:
        for name, blob in blobs.items():
            archive.writestr(name, blob)
    (root / "shards").mkdir()
    names = sorted(blobs)
    for path, part in ((root / "one.tar", names), *((root / "shards" / f"shard-{k:02d}.tar", names[k * 10:(k + 1) * 10])
                                                     for k in range(3))):
        with tarfile.open(path, "w") as archive:
            for name in part:
                info = tarfile.TarInfo(name)
                info.size = len(blobs[name])
                archive.addfile(info, io.BytesIO(blobs[name]))
                meta = tarfile.TarInfo(name.replace(".png", ".cls"))  # webdataset's other members are skipped
                meta.size = 1
                archive.addfile(meta, io.BytesIO(b"3"))
    return root, images


def test_every_source_indexes_the_same_images(sources):
    root, images = sources
    for source in (root / "folder", root / "faces.zip", root / "one.tar", root / "shards", f"{root}/shards/*.tar"):
        files = open_images(source, SIDE)
        assert isinstance(files, ImageFiles) and len(files) == COUNT, source
        assert torch.equal(torch.stack([files[i] for i in range(COUNT)]), images), source
        assert torch.equal(load_images(source, SIDE).images, images), source


@pytest.mark.parametrize("source", ["faces.zip", "shards", "folder"])
def test_streamed_batches_equal_the_in_memory_ones(sources, source):
    root, _ = sources
    files = open_images(root / source, SIDE)
    memory = Batches(files.decode_all().images, 8, CPU, seed=4, flip=True)
    stream = StreamedBatches(files, 8, CPU, seed=4, flip=True, workers=2)
    for step in range(9):  # three epochs of 3 batches (drop-last), each in its own order
        a = memory.batch(step, torch.Generator().manual_seed(step))
        b = stream.batch(step, torch.Generator().manual_seed(step))
        assert torch.equal(a, b), step
    # a jump, as a resumed run makes, restarts the stream at that batch
    assert torch.equal(stream.batch(4, torch.Generator().manual_seed(0)), memory.batch(4, torch.Generator().manual_seed(0)))
    stream.close()


def test_each_rank_streams_its_rows_of_the_global_batch(sources):
    root, _ = sources
    files = open_images(root / "shards", SIDE)
    whole = Batches(files.decode_all().images, 8, CPU, seed=1)
    for step in range(4):
        halves = [StreamedBatches(files, 8, CPU, seed=1, ranks=Ranks(r, 2), workers=1).batch(step) for r in range(2)]
        assert torch.equal(torch.cat(halves), whole.batch(step))


def test_the_shared_random_stream_flips_each_ranks_rows_as_one_process_would(sources):
    root, _ = sources
    images = open_images(root / "folder", SIDE).decode_all().images
    whole = Batches(images, 8, CPU, seed=1, flip=True).batch(2, SharedRandom(torch.Generator().manual_seed(9)))
    halves = [Batches(images, 8, CPU, seed=1, flip=True, ranks=Ranks(r, 2)).batch(
        2, SharedRandom(torch.Generator().manual_seed(9), Ranks(r, 2))) for r in range(2)]
    assert torch.equal(torch.cat(halves), whole)


def test_bad_shards_are_named(tmp_path):
    packed = tmp_path / "packed.tar"
    with tarfile.open(packed, "w:gz") as archive:
        info = tarfile.TarInfo("000000.png")
        blob = png(synthetic_images(1, SIDE)[0])
        info.size = len(blob)
        archive.addfile(info, io.BytesIO(blob))
    with pytest.raises(DataError, match="not an uncompressed tar"):
        open_images(packed, SIDE)
    with pytest.raises(DataError, match="no .tar shards match"):
        open_images(f"{tmp_path}/nothing-*.tar", SIDE)


@pytest.mark.slow  # 20 s: streams a source as big as the memory limit allows
def test_auto_streams_only_what_would_not_fit(sources):
    root, _ = sources
    model = GANConfig(image_size=32, nz=8, g_width=4, d_width=4)
    images = load_images(root / "faces.zip", 32).images
    fits = load_training_data(model, TrainConfig(data=str(root / "faces.zip")))
    assert isinstance(fits, torch.Tensor) and torch.equal(fits, images)
    decoded = COUNT * 3 * 32 * 32 / 2**30
    too_big = load_training_data(model, TrainConfig(data=str(root / "faces.zip"), memory_budget_gb=decoded * 1.5),
                                 Ranks(0, 2, 0, 2))  # two ranks on this machine would hold two copies
    assert isinstance(too_big, ImageFiles)
    forced = load_training_data(model, TrainConfig(data=str(root / "faces.zip"), stream="on"))
    assert isinstance(forced, ImageFiles)
    assert isinstance(load_training_data(model, TrainConfig(data=str(root / "shards"), stream="off")), torch.Tensor)
    assert np.array_equal(np.asarray(forced[3]), np.asarray(images[3]))
