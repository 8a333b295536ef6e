"""gan_core.model.checkpoints: release folders, Hub repos from the local cache, and no pickle, ever."""
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

from gan_core.model import checkpoints
from gan_core.model.checkpoints import (DIGEST_KEY, CheckpointError, load_gan, load_hub_gan, load_tensors,
                                  remove_partial_writes, resolve, save_gan, save_tensors)
from gan_core.model.config import MAX_CHANNELS, MAX_NZ, MAX_WIDTH, GANConfig
from gan_core.model.latent import z_from_seeds
from gan_core.model.networks import GAN, Discriminator, Generator

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
    from gan_core.editing.directions import Direction, save_directions
    from studio.model_store import HUB, ModelStore

    save_directions(tiny_gan_folder, [Direction("Age", torch.ones(16), "interfacegan", "younger", "older")],
                    {"sliders": ["Age"]})
    populate_cache(hf_cache, "owner/with-directions", tiny_gan_folder)
    store = ModelStore({}, device="cpu")
    assert store.sliders(HUB + "owner/with-directions") == ["Age"]
    assert "Age" in store.directions(HUB + "owner/with-directions")


# --------------------------------------------------------------------------------------------
# config bounds: checked before any network is built


@pytest.mark.parametrize("change, key", [({"g_width": MAX_WIDTH + 1}, "g_width"), ({"d_width": 2000}, "d_width"),
                                         ({"nz": MAX_NZ + 1}, "nz"), ({"image_size": 128, "g_width": 256}, "g_width"),
                                         ({"name": 5}, "name"), ({"d_spectral_norm": "yes"}, "d_spectral_norm"),
                                         ({"extra": []}, "extra")])
def test_config_bounds(change, key):
    with pytest.raises(ValueError, match=key):
        GANConfig(**change)
    GANConfig(image_size=32, nz=MAX_NZ, g_width=MAX_WIDTH, d_width=MAX_WIDTH)  # the largest allowed
    GANConfig(image_size=128, g_width=MAX_CHANNELS // 16, d_width=MAX_CHANNELS // 16)


def test_oversized_config_refused_before_building(tiny_gan_folder, monkeypatch):
    path = tiny_gan_folder / "config.json"
    path.write_text(json.dumps({**json.loads(path.read_text()), "g_width": 2000, "name": "secret-name"}))

    def no_build(*args):
        raise AssertionError("a network was built from a config out of range")

    monkeypatch.setattr(checkpoints, "Generator", no_build)
    monkeypatch.setattr(checkpoints, "Discriminator", no_build)
    with pytest.raises(CheckpointError, match="g_width") as info:
        load_gan(tiny_gan_folder, device="cpu")
    assert "secret-name" not in str(info.value) and "d_spectral_norm" not in str(info.value)


# --------------------------------------------------------------------------------------------
# load_hub_gan: repo ids only, messages that name nothing on this machine


def test_load_hub_gan_from_cache_offline(hf_cache, tiny_gan_folder):
    populate_cache(hf_cache, "owner/name", tiny_gan_folder)
    gan = load_hub_gan("owner/name", device="cpu")
    local = load_gan(tiny_gan_folder, device="cpu")
    assert gan.config == local.config and gan.D is not None
    assert np.array_equal(images(gan), images(local))
    assert np.array_equal(images(load_hub_gan(" owner/name ", device="cpu", revision=COMMIT)), images(local))


def test_load_hub_gan_fetches_only_the_release_files(hf_cache, tiny_gan_folder, monkeypatch):
    import huggingface_hub

    snapshot = populate_cache(hf_cache, "owner/name", tiny_gan_folder)
    calls = []

    def fake_snapshot_download(repo_id, **kwargs):
        calls.append((repo_id, kwargs))
        return str(snapshot)

    monkeypatch.setattr(huggingface_hub, "snapshot_download", fake_snapshot_download)
    load_hub_gan("owner/name", device="cpu")
    [(repo_id, kwargs)] = calls
    assert repo_id == "owner/name" and kwargs["local_files_only"] is True  # offline: the cache only
    assert sorted(kwargs["allow_patterns"]) == sorted(["config.json", "model.safetensors", "discriminator.safetensors",
                                                       "directions.safetensors", "directions.json",
                                                       "attributes.safetensors", "encoder.safetensors",
                                                       "digits.safetensors", "real_or_fake.safetensors"])


@pytest.mark.parametrize("source", ["/etc", "../checkpoints/celeba64", "~/x", "REAL", "REAL/model.safetensors",
                                    "", "owner", "owner/name/extra", "owner/../name", "owner/na..me", r"owner\name",
                                    "./owner", "owner/.name", "-owner/name", "owner/name.git", "owner/na me",
                                    "owner/n--ame", "ówner/name", "owner/name\nx", "C:/models", None, 42])
def test_load_hub_gan_refuses_anything_but_a_repo_id(hf_cache, tiny_gan_folder, monkeypatch, source):
    shipped = Path(__file__).resolve().parents[1] / "checkpoints"
    monkeypatch.chdir(shipped.parent)  # where "checkpoints/celeba64" is a real folder
    source = source.replace("REAL", str(tiny_gan_folder)) if isinstance(source, str) else source
    with pytest.raises(CheckpointError, match="not a Hugging Face repo id") as info:
        load_hub_gan(source, device="cpu")
    message = str(info.value)
    for secret in (str(tiny_gan_folder), str(tiny_gan_folder.parent), str(shipped), "/etc", "celeba64", "~"):
        assert secret not in message, secret


def test_a_repo_id_that_is_also_a_local_path_is_a_repo_id(hf_cache, monkeypatch):
    """"checkpoints/celeba64" is a folder here but also a valid repo id: looked up on the Hub
    (here: the empty offline cache) and refused, its folder never opened."""
    shipped = Path(__file__).resolve().parents[1] / "checkpoints"
    monkeypatch.chdir(shipped.parent)
    with pytest.raises(CheckpointError) as info:
        load_hub_gan("checkpoints/celeba64", device="cpu")
    assert str(info.value) == ("checkpoints/celeba64: not in the local Hugging Face cache and the Hub cannot be "
                               "reached (offline?)")
    assert str(shipped) not in str(info.value)


def test_load_hub_gan_never_opens_a_local_folder(hf_cache, tiny_gan_folder, tmp_path, monkeypatch):
    shutil.copytree(tiny_gan_folder, tmp_path / "owner" / "local")
    monkeypatch.chdir(tmp_path)
    assert load_gan("owner/local", device="cpu")  # the CLI's loader takes the folder
    with pytest.raises(CheckpointError) as info:
        load_hub_gan("owner/local", device="cpu")  # the app's does not
    assert str(info.value) == ("owner/local: not in the local Hugging Face cache and the Hub cannot be reached "
                               "(offline?)")


def test_load_hub_gan_bad_revision(hf_cache, tiny_gan_folder):
    populate_cache(hf_cache, "owner/name", tiny_gan_folder)
    for revision in ("../../../etc", "/etc/passwd", "main/../x", ""):
        with pytest.raises(CheckpointError, match="not a valid revision") as info:
            load_hub_gan("owner/name", device="cpu", revision=revision)
        assert "etc" not in str(info.value) and str(hf_cache) not in str(info.value)


def _assert_names_nothing_local(message: str, *folders: Path):
    for folder in folders:
        assert str(folder) not in message
    assert "/" not in message.split(":", 1)[1] and "snapshots" not in message and "models--" not in message


def test_load_hub_gan_errors_name_the_repo_only(hf_cache, tiny_gan_folder, tmp_path):
    # not cached
    with pytest.raises(CheckpointError) as info:
        load_hub_gan("owner/absent", device="cpu")
    assert str(info.value).startswith("owner/absent: not in the local Hugging Face cache and the Hub cannot be reached")
    _assert_names_nothing_local(str(info.value), hf_cache)
    # a config out of range: the setting is named, its value is not
    bad = tmp_path / "bad"
    shutil.copytree(tiny_gan_folder, bad)
    (bad / "config.json").write_text(json.dumps({**json.loads((bad / "config.json").read_text()),
                                                 "g_width": 2000, "name": "private label"}))
    populate_cache(hf_cache, "owner/bad", bad)
    with pytest.raises(CheckpointError) as info:
        load_hub_gan("owner/bad", device="cpu")
    assert str(info.value) == "owner/bad: its config.json is not a valid DCGAN config (g_width is out of range)"
    # config.json not JSON, unknown keys
    for name, text in [("notjson", "{"), ("unknown", json.dumps({"image_size": 32, "secret_key": 1}))]:
        folder = tmp_path / name
        shutil.copytree(tiny_gan_folder, folder)
        (folder / "config.json").write_text(text)
        populate_cache(hf_cache, f"owner/{name}", folder)
        with pytest.raises(CheckpointError, match=f"owner/{name}: its config.json is not a valid DCGAN config") as info:
            load_hub_gan(f"owner/{name}", device="cpu")
        assert "secret_key" not in str(info.value)
        _assert_names_nothing_local(str(info.value), hf_cache, folder)
    # weights of another model, a truncated file, flipped bytes, no weights at all
    wrong = tmp_path / "wrong"
    wide = GANConfig(**{**json.loads((tiny_gan_folder / "config.json").read_text()), "g_width": 16})
    save_gan(wrong, wide, Generator(wide), Discriminator(wide))
    shutil.copy(tiny_gan_folder / "config.json", wrong / "config.json")
    truncated = tmp_path / "truncated"
    shutil.copytree(tiny_gan_folder, truncated)
    (truncated / "model.safetensors").write_bytes((truncated / "model.safetensors").read_bytes()[:100])
    flipped = tmp_path / "flipped"
    shutil.copytree(tiny_gan_folder, flipped)
    flip_tensor_bytes(flipped / "discriminator.safetensors")
    cases = {"wrong": "owner/wrong: its model.safetensors does not match its config",
             "truncated": "owner/truncated: its model.safetensors is not a valid safetensors file",
             "flipped": "owner/flipped: its discriminator.safetensors is corrupt: its contents do not match their digest"}
    for name, expected in cases.items():
        populate_cache(hf_cache, f"owner/{name}", tmp_path / name)
        with pytest.raises(CheckpointError) as info:
            load_hub_gan(f"owner/{name}", device="cpu")
        assert str(info.value) == expected
    populate_cache(hf_cache, "owner/config-only", tiny_gan_folder, files=["config.json"])
    with pytest.raises(CheckpointError) as info:
        load_hub_gan("owner/config-only", device="cpu")
    assert str(info.value).startswith("owner/config-only: the repo has no model files")
    _assert_names_nothing_local(str(info.value), hf_cache)


# --------------------------------------------------------------------------------------------
# digests


def flip_tensor_bytes(path: Path, count: int = 4) -> None:
    """Invert `count` bytes in the middle of a safetensors file's tensor data (after its header)."""
    data = bytearray(path.read_bytes())
    start = 8 + int.from_bytes(data[:8], "little")
    middle = (start + len(data)) // 2
    for i in range(middle, middle + count):
        data[i] ^= 0xFF
    path.write_bytes(bytes(data))


def test_saved_files_carry_a_digest_that_is_checked(tmp_path):
    from safetensors import safe_open

    path = tmp_path / "state.safetensors"
    tensors = {"w": torch.randn(64, 8, generator=torch.Generator().manual_seed(0)), "n": torch.tensor(3)}
    save_tensors(path, tensors, {"step": 3})
    with safe_open(str(path), framework="pt") as f:
        assert len(f.metadata()[DIGEST_KEY]) == 64
    assert load_tensors(path)[1] == {"step": 3}
    flip_tensor_bytes(path)
    with pytest.raises(CheckpointError) as info:
        load_tensors(path)
    assert str(info.value) == f"{path} is corrupt: its contents do not match their digest"


def test_flipped_weights_refused_by_load_gan(tiny_gan_folder):
    flip_tensor_bytes(tiny_gan_folder / "model.safetensors")
    with pytest.raises(CheckpointError, match="model.safetensors is corrupt: its contents do not match their digest"):
        load_gan(tiny_gan_folder, device="cpu")


def test_files_without_a_digest_still_load(tiny_gan_folder):
    from safetensors.torch import save_file

    path = tiny_gan_folder / "model.safetensors"
    tensors, meta = load_tensors(path)
    save_file(tensors, str(path), metadata={"json": json.dumps(meta)})  # as older versions wrote it
    assert np.array_equal(images(load_gan(tiny_gan_folder, device="cpu")),
                          images(GAN(*[c for c in reference_gan_eval(tiny_gan_folder)])))


def reference_gan_eval(folder: Path):
    config = GANConfig.from_dict(json.loads((folder / "config.json").read_text()))
    G, D = reference_gan(config)
    return config, G.eval(), D.eval(), torch.device("cpu")


def test_shipped_files_carry_digests():
    from safetensors import safe_open

    shipped = sorted((Path(__file__).resolve().parents[1] / "checkpoints").glob("*/*.safetensors"))
    assert len(shipped) >= 7
    for path in shipped:
        with safe_open(str(path), framework="pt") as f:
            assert DIGEST_KEY in f.metadata(), path
        load_tensors(path)  # and they match


# --------------------------------------------------------------------------------------------
# what a kill during atomic_write leaves behind


def test_remove_partial_writes(tmp_path):
    leftovers = [tmp_path / ".checkpoint.safetensors.a1b2c3d4.tmp", tmp_path / ".config.json.zz_9y8x7.tmp"]
    for path in leftovers:
        path.write_bytes(b"")
    keep = [tmp_path / "checkpoint.safetensors", tmp_path / ".notes.tmp", tmp_path / "x.a1b2c3d4.tmp"]
    for path in keep:
        path.write_bytes(b"keep")
    (tmp_path / ".dir.a1b2c3d4.tmp").mkdir()
    assert sorted(remove_partial_writes(tmp_path)) == sorted(leftovers)
    assert all(p.exists() for p in keep) and not any(p.exists() for p in leftovers)
    assert remove_partial_writes(tmp_path / "absent") == []


def test_earlier_files_with_a_digest_of_their_tensors_alone_are_checked(tmp_path):
    from safetensors.torch import save_file

    from gan_core.model.checkpoints import TENSORS_DIGEST_KEY, tensors_digest

    path = tmp_path / "old.safetensors"
    tensors = {"w": torch.arange(6.0).reshape(2, 3)}
    save_file(tensors, str(path), metadata={"json": '{"step": 3}', TENSORS_DIGEST_KEY: tensors_digest(tensors)})
    assert load_tensors(path)[1] == {"step": 3}
    flip_tensor_bytes(path)
    with pytest.raises(CheckpointError, match="is corrupt"):
        load_tensors(path)
