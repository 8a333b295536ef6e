"""gan_core.checkpoints: release folders, Hub repos from the local cache, and no pickle, ever."""
from __future__ import annotations

import json
import os
import pathlib
import pickle
import shutil
import socket
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from gan_core.checkpoints import (CheckpointError, load_gan, load_tensors, resolve, save_gan,
                                  save_tensors)
from gan_core.config import GANConfig
from gan_core.latent import z_from_seeds
from gan_core.models import GAN, Discriminator, Generator

SEEDS = [0, 1, 42, 2**32 - 1]

# --------------------------------------------------------------------------------------------
# helpers


class _Payload:
    """Unpickling this writes `marker`: stands in for the arbitrary code a pickle can run."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return pathlib.Path.write_text, (pathlib.Path(self.marker), "code ran while unpickling")


def write_pickle_bomb(path: Path, marker: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(pickle.dumps({"state_dict": _Payload(marker)}))
    return path


@pytest.fixture(autouse=True)
def no_network(monkeypatch):
    """Any attempt to open a connection or resolve a name fails the test loudly."""
    attempts = []

    def refuse(*args, **kwargs):
        attempts.append(args)
        raise AssertionError(f"a test tried to use the network: {args!r}")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    yield attempts
    assert not attempts, f"network used: {attempts}"


def images(gan: GAN, seeds=SEEDS) -> np.ndarray:
    return gan.generate(z_from_seeds(seeds, gan.config.nz))


def reference_gan(config: GANConfig) -> tuple[Generator, Discriminator]:
    """The same networks the tiny_gan_folder fixture saved (same seed, same order)."""
    torch.manual_seed(0)
    return Generator(config), Discriminator(config)


# --------------------------------------------------------------------------------------------
# the pickle-payload helper must itself be a working exploit, or the no-marker checks prove nothing


def test_payload_runs_code_when_unpickled(tmp_path):
    marker = tmp_path / "control-marker"
    bomb = write_pickle_bomb(tmp_path / "control.pkl", marker)
    pickle.loads(bomb.read_bytes())
    assert marker.read_text() == "code ran while unpickling"


# --------------------------------------------------------------------------------------------
# round trips


def test_round_trip_same_images(tiny_gan_folder, tiny_config):
    assert sorted(p.name for p in tiny_gan_folder.iterdir()) == [
        "config.json", "discriminator.safetensors", "model.safetensors"]
    gan = load_gan(tiny_gan_folder, device="cpu")
    assert gan.config == tiny_config
    assert gan.device == torch.device("cpu")
    assert not gan.G.training and not gan.D.training
    G, D = reference_gan(tiny_config)
    expected = GAN(tiny_config, G.eval(), D.eval(), torch.device("cpu"))
    out = images(gan)
    assert out.shape == (len(SEEDS), 32, 32, 3) and out.dtype == np.uint8
    assert np.array_equal(out, images(expected))
    assert np.array_equal(out, images(load_gan(tiny_gan_folder, device="cpu")))  # and again
    for key, value in D.state_dict().items():
        assert torch.equal(gan.D.state_dict()[key], value), key
    # one image depends on its own seed only
    assert np.array_equal(images(gan, [42]), out[2:3])


def test_load_from_a_file_in_the_folder(tiny_gan_folder):
    a = images(load_gan(tiny_gan_folder, device="cpu"))
    b = images(load_gan(tiny_gan_folder / "model.safetensors", device="cpu"))
    c = images(load_gan(str(tiny_gan_folder / "config.json"), device="cpu"))
    assert np.array_equal(a, b) and np.array_equal(a, c)


def test_config_round_trip_keeps_name_and_extra(tmp_path):
    config = GANConfig(image_size=32, channels=1, nz=8, g_width=4, d_width=4, d_spectral_norm=True,
                       name="digits 32x32", extra={"data": "mnist", "steps": 10})
    torch.manual_seed(1)
    folder = save_gan(tmp_path / "sn", config, Generator(config), Discriminator(config))
    gan = load_gan(folder, device="cpu")
    assert gan.config == config and gan.config.extra == config.extra
    assert images(gan).shape == (len(SEEDS), 32, 32, 1)
    assert json.loads((folder / "config.json").read_text())["name"] == "digits 32x32"


def test_half_precision_save(tmp_path, tiny_config):
    G, D = reference_gan(tiny_config)
    full = save_gan(tmp_path / "fp32", tiny_config, G, D)
    half = save_gan(tmp_path / "fp16", tiny_config, G, D, half=True)
    # the stored tensors really are fp16 (ints such as BatchNorm's counter stay ints), and smaller
    stored, meta = load_tensors(half / "model.safetensors")
    assert meta == {"format": "gan_core generator"}
    assert {v.dtype for k, v in stored.items() if not k.endswith("num_batches_tracked")} == {torch.float16}
    assert all(v.dtype == torch.int64 for k, v in stored.items() if k.endswith("num_batches_tracked"))
    assert (half / "model.safetensors").stat().st_size < 0.6 * (full / "model.safetensors").stat().st_size
    # loaded back as float32, with images within rounding of the full-precision ones
    gan = load_gan(half, device="cpu")
    assert {p.dtype for p in gan.G.parameters()} == {torch.float32}
    assert {p.dtype for p in gan.D.parameters()} == {torch.float32}
    difference = np.abs(images(gan).astype(int) - images(load_gan(full, device="cpu")).astype(int))
    assert difference.max() <= 3 and difference.mean() < 0.5


def test_folder_without_discriminator(tmp_path, tiny_config):
    G, _ = reference_gan(tiny_config)
    folder = save_gan(tmp_path / "g_only", tiny_config, G)
    assert not (folder / "discriminator.safetensors").exists()
    gan = load_gan(folder, device="cpu")
    assert gan.D is None
    assert images(gan).shape == (len(SEEDS), 32, 32, 3)


def test_save_gan_overwrites_in_place(tiny_gan_folder, tiny_config):
    before = images(load_gan(tiny_gan_folder, device="cpu"))
    torch.manual_seed(123)
    save_gan(tiny_gan_folder, tiny_config, Generator(tiny_config))
    after = images(load_gan(tiny_gan_folder, device="cpu"))
    assert not np.array_equal(before, after)
    assert not [p.name for p in tiny_gan_folder.iterdir() if p.name.endswith(".tmp")]


# --------------------------------------------------------------------------------------------
# pickle is refused, and no code in it runs


@pytest.mark.parametrize("name", ["model.pt", "model.pth", "generator.pkl", "last.ckpt", "pytorch_model.bin"])
def test_pickle_file_refused_without_running_it(tmp_path, name):
    marker = tmp_path / "pwned"
    bomb = write_pickle_bomb(tmp_path / "release" / name, marker)
    with pytest.raises(CheckpointError, match="pickle") as info:
        load_gan(bomb, device="cpu")
    assert name in str(info.value) and "safetensors" in str(info.value)
    with pytest.raises(CheckpointError, match="pickle"):
        load_tensors(bomb)
    assert not marker.exists()


def test_missing_pickle_path_refused_too(tmp_path):
    with pytest.raises(CheckpointError, match="pickle"):
        load_gan(tmp_path / "not-there.pt", device="cpu")


def test_pickle_disguised_as_safetensors(tiny_gan_folder, tmp_path):
    marker = tmp_path / "pwned"
    write_pickle_bomb(tiny_gan_folder / "model.safetensors", marker)
    with pytest.raises(CheckpointError, match="not a valid safetensors file") as info:
        load_gan(tiny_gan_folder, device="cpu")
    assert "model.safetensors" in str(info.value)
    assert not marker.exists()


def test_pickle_disguised_as_discriminator(tiny_gan_folder, tmp_path):
    marker = tmp_path / "pwned"
    write_pickle_bomb(tiny_gan_folder / "discriminator.safetensors", marker)
    with pytest.raises(CheckpointError, match="discriminator.safetensors"):
        load_gan(tiny_gan_folder, device="cpu")
    assert not marker.exists()


def test_folder_with_only_a_pickle_generator(tiny_gan_folder, tmp_path):
    marker = tmp_path / "pwned"
    (tiny_gan_folder / "model.safetensors").unlink()
    write_pickle_bomb(tiny_gan_folder / "model.pt", marker)
    with pytest.raises(CheckpointError, match="no model.safetensors"):
        load_gan(tiny_gan_folder, device="cpu")
    assert not marker.exists()


# --------------------------------------------------------------------------------------------
# broken folders


def test_truncated_safetensors(tiny_gan_folder):
    path = tiny_gan_folder / "model.safetensors"
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match="not a valid safetensors file") as info:
        load_gan(tiny_gan_folder, device="cpu")
    assert str(path) in str(info.value)


def test_empty_safetensors(tiny_gan_folder):
    (tiny_gan_folder / "model.safetensors").write_bytes(b"")
    with pytest.raises(CheckpointError, match="model.safetensors"):
        load_gan(tiny_gan_folder, device="cpu")


@pytest.mark.parametrize("text", ['{"image_size": 32, "nz": ', "", "[1, 2, 3]", "null", '"a string"'])
def test_corrupt_config(tiny_gan_folder, text):
    path = tiny_gan_folder / "config.json"
    path.write_text(text)
    with pytest.raises(CheckpointError, match="not a valid model config") as info:
        load_gan(tiny_gan_folder, device="cpu")
    assert str(path) in str(info.value)


def test_config_with_unknown_key(tiny_gan_folder):
    path = tiny_gan_folder / "config.json"
    path.write_text(json.dumps({**json.loads(path.read_text()), "ngf": 64}))
    with pytest.raises(CheckpointError, match="unknown config keys") as info:
        load_gan(tiny_gan_folder, device="cpu")
    assert "ngf" in str(info.value)


@pytest.mark.parametrize("change", [{"image_size": 48}, {"channels": 4}, {"nz": 0}])
def test_config_with_invalid_value(tiny_gan_folder, change):
    path = tiny_gan_folder / "config.json"
    path.write_text(json.dumps({**json.loads(path.read_text()), **change}))
    with pytest.raises(CheckpointError, match=next(iter(change))):
        load_gan(tiny_gan_folder, device="cpu")


@pytest.mark.parametrize("change", [{"nz": 16.0}, {"nz": "16"}, {"image_size": 32.0}, {"g_width": 8.0}],
                         ids=["nz-float", "nz-str", "size-float", "width-float"])
def test_config_with_non_integer_sizes(tiny_gan_folder, change):
    path = tiny_gan_folder / "config.json"
    path.write_text(json.dumps({**json.loads(path.read_text()), **change}))
    with pytest.raises(CheckpointError):
        load_gan(tiny_gan_folder, device="cpu")


def test_missing_config(tiny_gan_folder):
    (tiny_gan_folder / "config.json").unlink()
    with pytest.raises(CheckpointError, match="no config.json"):
        load_gan(tiny_gan_folder, device="cpu")


def test_weights_of_another_width(tiny_gan_folder, tiny_config, tmp_path):
    wider = GANConfig(**{**tiny_config.to_dict(), "g_width": 16, "d_width": 16})
    torch.manual_seed(0)
    other = save_gan(tmp_path / "wide", wider, Generator(wider), Discriminator(wider))
    shutil.copy(other / "model.safetensors", tiny_gan_folder / "model.safetensors")
    with pytest.raises(CheckpointError, match="shape") as info:
        load_gan(tiny_gan_folder, device="cpu")
    message = str(info.value)
    assert "model.safetensors" in message and "do not match the config" in message
    assert "(16, 64, 4, 4)" in message and "(16, 32, 4, 4)" in message  # file vs model shapes


def test_weights_with_missing_and_unexpected_keys(tiny_gan_folder):
    path = tiny_gan_folder / "model.safetensors"
    tensors, meta = load_tensors(path)
    tensors["main.99.weight"] = tensors.pop("main.0.weight")
    save_tensors(path, tensors, meta)
    with pytest.raises(CheckpointError, match=r"missing \['main.0.weight'\].*unexpected \['main.99.weight'\]"):
        load_gan(tiny_gan_folder, device="cpu")


@pytest.mark.parametrize("source", ["", "   ", "does/not/exist/here", "./missing", "missing_folder",
                                    "~/surely-not-a-model-folder-xyz", "/abs/missing"])
def test_missing_folder_not_a_repo_id(tmp_path, monkeypatch, source):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(CheckpointError) as info:
        load_gan(source, device="cpu")
    message = str(info.value)
    assert "no checkpoint given" in message if not source.strip() else "not a Hub repo id" in message


# --------------------------------------------------------------------------------------------
# the Hub, offline, through a private cache


COMMIT = "0123456789abcdef0123456789abcdef01234567"


@pytest.fixture
def hf_cache(tmp_path, monkeypatch) -> Path:
    """An empty private HF cache, with offline mode on. huggingface_hub reads HF_HUB_CACHE and
    HF_HUB_OFFLINE from the environment once, when it is imported, into `huggingface_hub.constants`,
    and hf_hub_download looks `constants.HF_HUB_CACHE` up at call time: so patch the constants."""
    import huggingface_hub.constants as constants

    cache = tmp_path / "hf-cache"
    cache.mkdir()
    monkeypatch.setenv("HF_HUB_CACHE", str(cache))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(cache))
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    return cache


def populate_cache(cache: Path, repo_id: str, folder: Path, files=None) -> Path:
    """Lay out a repo as huggingface_hub does: blobs/<sha256>, snapshots/<commit>/<file> as
    relative symlinks to the blobs, refs/main holding the commit hash (no trailing newline)."""
    import hashlib

    repo = cache / ("models--" + repo_id.replace("/", "--"))
    snapshot = repo / "snapshots" / COMMIT
    (repo / "blobs").mkdir(parents=True)
    snapshot.mkdir(parents=True)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text(COMMIT)
    for name in files or sorted(p.name for p in folder.iterdir()):
        data = (folder / name).read_bytes()
        blob = repo / "blobs" / hashlib.sha256(data).hexdigest()
        blob.write_bytes(data)
        try:
            (snapshot / name).symlink_to(os.path.relpath(blob, snapshot))
        except OSError:  # no symlinks here: HF falls back to copies too
            shutil.copy(blob, snapshot / name)
    return snapshot


def test_hub_repo_not_cached_offline(hf_cache):
    start = time.monotonic()
    with pytest.raises(CheckpointError, match="not in the local Hugging Face cache") as info:
        load_gan("someone/tiny-dcgan", device="cpu")
    assert "someone/tiny-dcgan" in str(info.value)
    assert time.monotonic() - start < 5  # no retries, no timeouts
    assert not list(hf_cache.rglob("*.safetensors"))


def test_hub_repo_from_cache_offline(hf_cache, tiny_gan_folder):
    snapshot = populate_cache(hf_cache, "owner/name", tiny_gan_folder)
    assert resolve("owner/name").resolve() == snapshot.resolve()
    gan = load_gan("owner/name", device="cpu")
    local = load_gan(tiny_gan_folder, device="cpu")
    assert gan.config == local.config
    assert gan.D is not None
    assert np.array_equal(images(gan), images(local))
    # a pinned commit works too
    assert np.array_equal(images(load_gan("owner/name", device="cpu", revision=COMMIT)), images(local))


def test_hub_repo_cached_without_discriminator(hf_cache, tiny_gan_folder):
    populate_cache(hf_cache, "owner/g-only", tiny_gan_folder, files=["config.json", "model.safetensors"])
    gan = load_gan("owner/g-only", device="cpu")
    assert gan.D is None
    assert np.array_equal(images(gan), images(load_gan(tiny_gan_folder, device="cpu")))


def test_hub_repo_cached_without_weights(hf_cache, tiny_gan_folder):
    populate_cache(hf_cache, "owner/config-only", tiny_gan_folder, files=["config.json"])
    with pytest.raises(CheckpointError, match="owner/config-only"):
        load_gan("owner/config-only", device="cpu")


def test_local_folder_wins_over_repo_id(hf_cache, tiny_gan_folder, tmp_path, monkeypatch):
    """A relative path that looks like owner/name but exists locally is a folder, not a repo."""
    monkeypatch.chdir(tiny_gan_folder.parent)
    gan = load_gan(tiny_gan_folder.name, device="cpu")
    (tmp_path / "owner").mkdir()
    shutil.copytree(tiny_gan_folder, tmp_path / "owner" / "local")
    monkeypatch.chdir(tmp_path)
    assert np.array_equal(images(load_gan("owner/local", device="cpu")), images(gan))


# --------------------------------------------------------------------------------------------
# save_tensors / load_tensors


def test_tensors_round_trip_with_metadata(tmp_path):
    tensors = {
        "w": torch.randn(3, 4, generator=torch.Generator().manual_seed(0)),
        "half": torch.arange(6, dtype=torch.float16).reshape(2, 3),
        "steps": torch.tensor(12345, dtype=torch.int64),
        "view": torch.arange(20.0).reshape(4, 5)[:, 1:3],  # not contiguous: made so on save
        "flags": torch.tensor([True, False]),
    }
    meta = {"step": 12345, "lr": 2e-4, "betas": [0.5, 0.999], "config": {"nz": 16, "name": "ünïcode"}}
    path = tmp_path / "state" / "train_state.safetensors"  # parent folder created
    save_tensors(path, tensors, meta)
    loaded, loaded_meta = load_tensors(path)
    assert loaded_meta == meta
    assert set(loaded) == set(tensors)
    for key, value in tensors.items():
        assert loaded[key].dtype == value.dtype and torch.equal(loaded[key], value), key
    assert load_tensors(path)[1] == meta
    save_tensors(tmp_path / "no_meta.safetensors", {"x": torch.zeros(1)})
    assert load_tensors(tmp_path / "no_meta.safetensors")[1] == {}


def test_load_tensors_of_foreign_safetensors(tmp_path):
    from safetensors.torch import save_file

    save_file({"x": torch.ones(2)}, str(tmp_path / "foreign.safetensors"), metadata={"format": "pt"})
    tensors, meta = load_tensors(tmp_path / "foreign.safetensors")
    assert torch.equal(tensors["x"], torch.ones(2)) and meta == {}


def test_load_tensors_missing(tmp_path):
    with pytest.raises(CheckpointError, match="no such file"):
        load_tensors(tmp_path / "absent.safetensors")


def test_save_tensors_is_atomic(tmp_path):
    path = tmp_path / "state.safetensors"
    save_tensors(path, {"a": torch.ones(3)}, {"step": 1})
    save_tensors(path, {"a": torch.full((3,), 2.0)}, {"step": 2})  # replaces
    assert sorted(p.name for p in tmp_path.iterdir()) == ["state.safetensors"]  # no temp files left
    assert load_tensors(path)[1] == {"step": 2}
    # a write that fails half way leaves the previous file intact and no temp file behind
    shared = torch.zeros(4)
    with pytest.raises(Exception):
        save_tensors(path, {"a": shared, "b": shared}, {"step": 3})  # safetensors refuses shared memory
    assert sorted(p.name for p in tmp_path.iterdir()) == ["state.safetensors"]
    tensors, meta = load_tensors(path)
    assert meta == {"step": 2} and torch.equal(tensors["a"], torch.full((3,), 2.0))


def test_hub_repo_brings_its_directions(hf_cache, tiny_gan_folder):
    from gan_core.directions import Direction, save_directions
    from gan_core.registry import ModelStore

    save_directions(tiny_gan_folder, [Direction("Age", torch.ones(16), "interfacegan", "younger", "older")],
                    {"sliders": ["Age"]})
    populate_cache(hf_cache, "owner/with-directions", tiny_gan_folder)
    store = ModelStore({}, device="cpu")
    assert store.sliders("owner/with-directions") == ["Age"]
    assert "Age" in store.directions("owner/with-directions")
