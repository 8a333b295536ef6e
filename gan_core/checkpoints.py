"""Checkpoints without pickle.

Release folder (what the app loads, locally or from the Hugging Face Hub):
    config.json                 GANConfig
    model.safetensors           the (EMA) generator
    discriminator.safetensors   the discriminator (optional)
    directions.*, attributes.*  named directions in z and an attribute classifier (optional)
    README.md                   model card
Training state (what `train.py --resume` reads): one safetensors file holding every tensor,
with the rest (step, optimizer settings, configs) as JSON in its metadata.
"""
from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import save_file

from .config import GANConfig
from .device import pick_device
from .models import GAN, Discriminator, Generator

CONFIG_NAME = "config.json"
GENERATOR_NAME = "model.safetensors"
DISCRIMINATOR_NAME = "discriminator.safetensors"
# optional extras a release folder may carry (see gan_core.directions and gan_core.attributes)
OPTIONAL_FILES = (DISCRIMINATOR_NAME, "directions.safetensors", "directions.json", "attributes.safetensors")
PICKLE_SUFFIXES = (".pt", ".pth", ".pkl", ".pickle", ".ckpt", ".bin")


class CheckpointError(ValueError):
    """A checkpoint that cannot be loaded: missing, corrupt, mismatched or in a refused format."""


def atomic_write(path: Path, write) -> None:
    """write(tmp_path) then rename over `path`, so a crash never leaves half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        write(tmp)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # as a plain open() would have made it, not mkstemp's 0600
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def save_tensors(path: str | os.PathLike, tensors: dict[str, torch.Tensor], meta: dict | None = None) -> None:
    """Atomically write tensors (made contiguous, on the CPU) and a JSON-able `meta` to safetensors."""
    tensors = {k: v.detach().cpu().contiguous() for k, v in tensors.items()}
    metadata = {"json": json.dumps(meta or {})}
    atomic_write(Path(path), lambda tmp: save_file(tensors, tmp, metadata=metadata))


def load_tensors(path: str | os.PathLike) -> tuple[dict[str, torch.Tensor], dict]:
    """Read a safetensors file written by `save_tensors` (or any safetensors file); no pickle."""
    path = Path(path)
    if path.suffix.lower() in PICKLE_SUFFIXES:
        raise CheckpointError(f"{path}: pickle-based checkpoints ({path.suffix}) are refused, since "
                              f"loading one can run arbitrary code; use safetensors")
    if not path.is_file():
        raise CheckpointError(f"{path}: no such file")
    try:
        with safe_open(str(path), framework="pt") as f:  # one read for tensors and metadata
            tensors = {key: f.get_tensor(key) for key in f.keys()}
            raw = (f.metadata() or {}).get("json", "{}")
        return tensors, json.loads(raw)
    except (SafetensorError, json.JSONDecodeError, OSError, ValueError) as err:
        raise CheckpointError(f"{path}: not a valid safetensors file ({err})") from None


def read_config(folder: str | os.PathLike) -> GANConfig:
    """The GANConfig of a model folder, or a CheckpointError that says what is wrong."""
    path = Path(folder) / CONFIG_NAME
    try:
        return GANConfig.from_dict(json.loads(path.read_text()))
    except FileNotFoundError:
        raise CheckpointError(f"{path.parent}: no {CONFIG_NAME}, so this is not a model folder") from None
    except (json.JSONDecodeError, TypeError, ValueError) as err:
        raise CheckpointError(f"{path}: not a valid model config ({err})") from None


def load_weights(module: torch.nn.Module, path: Path) -> None:
    """Strictly load a safetensors state dict into `module`, with a clear message on mismatch."""
    state, _ = load_tensors(path)
    expected = module.state_dict()
    missing = sorted(set(expected) - set(state))
    unexpected = sorted(set(state) - set(expected))
    wrong = [f"{k}: file {tuple(state[k].shape)} vs model {tuple(v.shape)}"
             for k, v in expected.items() if k in state and state[k].shape != v.shape]
    if missing or unexpected or wrong:
        details = "; ".join(filter(None, [
            f"missing {missing[:3]}{'...' if len(missing) > 3 else ''}" if missing else "",
            f"unexpected {unexpected[:3]}{'...' if len(unexpected) > 3 else ''}" if unexpected else "",
            f"shape {wrong[:3]}" if wrong else ""]))
        raise CheckpointError(f"{path}: weights do not match the config ({details})")
    module.load_state_dict({k: v.to(expected[k].dtype) for k, v in state.items()})


def save_gan(folder: str | os.PathLike, config: GANConfig, G: Generator, D: Discriminator | None = None,
             half: bool = False) -> Path:
    """Write config.json + model.safetensors (+ discriminator.safetensors); fp16 with `half`."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)

    def state(module):
        return {k: (v.half() if half and v.is_floating_point() else v) for k, v in module.state_dict().items()}

    atomic_write(folder / CONFIG_NAME, lambda tmp: Path(tmp).write_text(config.to_json() + "\n"))
    save_tensors(folder / GENERATOR_NAME, state(G), {"format": "gan_core generator"})
    if D is not None:
        save_tensors(folder / DISCRIMINATOR_NAME, state(D), {"format": "gan_core discriminator"})
    return folder


def _looks_like_repo_id(source: str) -> bool:
    parts = source.split("/")
    return len(parts) == 2 and all(parts) and not source.startswith((".", "/", "~"))


def resolve(source: str | os.PathLike, revision: str | None = None) -> Path:
    """A local model folder as is; a Hub repo id ("owner/name") downloaded (or taken from the
    local cache, e.g. with HF_HUB_OFFLINE=1) into a folder. Clear errors otherwise."""
    text = str(source).strip()
    if not text:
        raise CheckpointError("no checkpoint given: name a model folder or a Hub repo id (owner/name)")
    path = Path(text).expanduser()
    if path.suffix.lower() in PICKLE_SUFFIXES:
        raise CheckpointError(f"{path}: pickle-based checkpoints ({path.suffix}) are refused, since "
                              f"loading one can run arbitrary code; use a folder with safetensors")
    if path.is_file():
        path = path.parent
    if path.is_dir():
        return path
    if not _looks_like_repo_id(text):
        raise CheckpointError(f"{text}: no such model folder, and not a Hub repo id of the form owner/name")
    return _download(text, revision)


def hub_reachable(timeout: float = 3.0) -> bool:
    """Whether the Hub answers at all (so an offline machine fails fast instead of retrying)."""
    import socket
    from urllib.parse import urlparse

    from huggingface_hub import constants

    if constants.HF_HUB_OFFLINE:
        return False
    host = urlparse(constants.ENDPOINT).hostname or "huggingface.co"
    try:
        socket.create_connection((host, 443), timeout=timeout).close()
        return True
    except OSError:
        return False


def _download(repo_id: str, revision: str | None) -> Path:
    from huggingface_hub import hf_hub_download
    from huggingface_hub.errors import EntryNotFoundError, HfHubHTTPError, LocalEntryNotFoundError

    local_only = not hub_reachable()  # then only the local cache is read
    try:
        config_path = Path(hf_hub_download(repo_id, CONFIG_NAME, revision=revision, local_files_only=local_only))
        hf_hub_download(repo_id, GENERATOR_NAME, revision=revision, local_files_only=local_only)
    except LocalEntryNotFoundError:
        raise CheckpointError(f"{repo_id}: not in the local Hugging Face cache and the Hub cannot be "
                              f"reached (offline?)") from None
    except EntryNotFoundError:
        raise CheckpointError(f"{repo_id}: the repo has no model files ({CONFIG_NAME} and "
                              f"{GENERATOR_NAME} are needed)") from None
    except (HfHubHTTPError, OSError, ValueError) as err:
        raise CheckpointError(f"{repo_id}: cannot download from the Hugging Face Hub ({str(err).splitlines()[0]})") from None
    for name in OPTIONAL_FILES:
        try:
            hf_hub_download(repo_id, name, revision=revision, local_files_only=local_only)
        except Exception:  # optional: the model works without it
            pass
    return config_path.parent


def load_gan(source: str | os.PathLike, device: str | torch.device = "auto", revision: str | None = None) -> GAN:
    """Load a release folder or Hub repo id into a GAN (eval mode), on `device` (auto: GPU if any)."""
    folder = resolve(source, revision)
    config = read_config(folder)
    device = pick_device(device) if isinstance(device, str) else device
    G = Generator(config)
    if not (folder / GENERATOR_NAME).is_file():
        raise CheckpointError(f"{folder}: no {GENERATOR_NAME}")
    load_weights(G, folder / GENERATOR_NAME)
    D = None
    if (folder / DISCRIMINATOR_NAME).is_file():
        D = Discriminator(config)
        load_weights(D, folder / DISCRIMINATOR_NAME)
        D = D.to(device).eval()
    return GAN(config, G.to(device).eval(), D, device, folder)
