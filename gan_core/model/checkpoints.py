"""Checkpoints without pickle.

    gan = load_gan("checkpoints/celeba64")            # a local folder, or a Hub repo id (CLI, library)
    gan = load_hub_gan("owner/name", device="cpu")    # a Hub repo id only (what the app takes from people)
    save_tensors(path, tensors, {"step": 10})         # atomic, with a digest of the tensors
    tensors, meta = load_tensors(path)                # CheckpointError if missing, corrupt or pickle

Release folder (what the app loads, locally or from the Hugging Face Hub):
    config.json                 GANConfig
    model.safetensors           the (EMA) generator
    discriminator.safetensors   the discriminator (optional)
    directions.*, attributes.*  named directions in z and an attribute classifier (optional)
    README.md                   model card
Training state (what `train.py --resume` reads): one safetensors file holding every tensor,
with the rest (step, optimizer settings, configs) as JSON in its metadata.

Every file save_tensors writes carries the sha256 of its tensors and its JSON metadata ("sha256");
load_tensors checks it, so a flipped byte or an edited step is an error, not a strange model. Files
of earlier versions carry the digest of their tensors alone ("tensors_sha256"), checked the same way;
files without either (third-party files) load as before.
"""
from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import tempfile
from pathlib import Path

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import save_file

from .config import ConfigError, GANConfig
from .device import pick_device
from ..errors import Phrase, UserError, phrase_of
from .networks import GAN, Discriminator, Generator

CONFIG_NAME = "config.json"
GENERATOR_NAME = "model.safetensors"
DISCRIMINATOR_NAME = "discriminator.safetensors"
# optional extras a release folder may carry (see gan_core.editing.directions and gan_core.analysis.attributes)
OPTIONAL_FILES = (DISCRIMINATOR_NAME, "directions.safetensors", "directions.json", "attributes.safetensors",
                  "encoder.safetensors", "digits.safetensors", "real_or_fake.safetensors")
PICKLE_SUFFIXES = (".pt", ".pth", ".pkl", ".pickle", ".ckpt", ".bin")
DIGEST_KEY = "sha256"  # safetensors metadata key of the digest of the tensors and the JSON metadata
TENSORS_DIGEST_KEY = "tensors_sha256"  # earlier versions' digest: the tensors alone
# "owner/name": letters, digits, '-', '_', '.'; each part starts and ends with a letter or digit
REPO_ID_PATTERN = re.compile(r"(?:[A-Za-z0-9](?:[A-Za-z0-9._-]{0,94}[A-Za-z0-9])?)"
                             r"/[A-Za-z0-9](?:[A-Za-z0-9._-]{0,94}[A-Za-z0-9])?")
REVISION_PATTERN = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9._/-]{0,126}[A-Za-z0-9])?")  # a branch, tag or commit
TEMP_PATTERN = re.compile(r"\..+\.[a-z0-9_]{8}\.tmp")  # what atomic_write's mkstemp names look like


class CheckpointError(UserError):
    """A checkpoint that cannot be loaded: missing, corrupt, mismatched or in a refused format.
    `reason` (a Phrase, also the parameter {reason}) says what is wrong without naming a path or a
    value ("is not a valid safetensors file")."""

    def __init__(self, key: str, /, reason: Phrase | None = None, **params):
        self.reason = reason or Phrase("reason_cannot_load")
        super().__init__(key, reason=self.reason, **params)


def atomic_write(path: Path, write) -> None:
    """write(tmp_path) then rename over `path`, so a crash never leaves half a file (a kill can
    leave an empty `.NAME.XXXXXXXX.tmp` beside it: see remove_partial_writes)."""
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


def remove_partial_writes(folder: str | os.PathLike) -> list[Path]:
    """Delete the temporary files that atomic_write left in `folder` when it was killed mid-write
    (call it when a run starts, before anything writes there); returns what was removed."""
    folder, removed = Path(folder), []
    if not folder.is_dir():
        return removed
    for path in folder.iterdir():
        if TEMP_PATTERN.fullmatch(path.name) and path.is_file() and not path.is_symlink():
            path.unlink(missing_ok=True)
            removed.append(path)
    return removed


def tensors_digest(tensors: dict[str, torch.Tensor], meta_json: str | None = None) -> str:
    """sha256 over every tensor's name, dtype, shape and bytes, in name order, then over
    `meta_json` (the metadata's JSON text) when given (hex)."""
    digest = hashlib.sha256()
    for key in sorted(tensors):
        value = tensors[key].detach().cpu().contiguous()
        digest.update(f"{key}\0{value.dtype}\0{tuple(value.shape)}\0".encode())
        digest.update(value.reshape(-1).view(torch.uint8).numpy())  # the bytes, not a copy
    if meta_json is not None:
        digest.update(b"\0json\0" + meta_json.encode())
    return digest.hexdigest()


def save_tensors(path: str | os.PathLike, tensors: dict[str, torch.Tensor], meta: dict | None = None) -> None:
    """Atomically write tensors (made contiguous, on the CPU), a JSON-able `meta` and the digest of
    both to safetensors. A failed write (a full disk) is a CheckpointError and leaves the file
    that was there before unchanged."""
    tensors = {k: v.detach().cpu().contiguous() for k, v in tensors.items()}
    text = json.dumps(meta or {})
    metadata = {"json": text, DIGEST_KEY: tensors_digest(tensors, text)}
    path = Path(path)
    try:
        atomic_write(path, lambda tmp: save_file(tensors, tmp, metadata=metadata))
    except (OSError, SafetensorError) as err:
        raise CheckpointError("cannot_write", Phrase("reason_cannot_write"), name=path.name,
                              error=_first_line(err)) from None


def _first_line(err: BaseException) -> str:
    """An error's first line, without the paths it names ("No space left on device")."""
    if isinstance(err, OSError) and err.strerror:
        return err.strerror
    return (str(err).strip().splitlines() or [type(err).__name__])[0][:200]


def _refuse_pickle(path: Path) -> None:
    if path.suffix.lower() in PICKLE_SUFFIXES:
        raise CheckpointError("pickle_refused", Phrase("reason_pickle"), path=str(path), suffix=path.suffix)


def load_tensors(path: str | os.PathLike) -> tuple[dict[str, torch.Tensor], dict]:
    """Read a safetensors file written by `save_tensors` (or any safetensors file); no pickle.
    Checks the tensors against their digest where the file has one."""
    path = Path(path)
    _refuse_pickle(path)
    if not path.is_file():
        raise CheckpointError("no_such_file", Phrase("reason_missing"), path=str(path))
    invalid = Phrase("reason_not_safetensors")
    try:
        with safe_open(str(path), framework="pt") as f:  # one read for tensors and metadata
            tensors = {key: f.get_tensor(key) for key in f.keys()}
            metadata = f.metadata() or {}
        meta = json.loads(metadata.get("json", "{}"))
    except (SafetensorError, json.JSONDecodeError, OSError, ValueError, RuntimeError) as err:
        raise CheckpointError("not_safetensors", invalid, path=str(path), error=str(err)) from None
    if not isinstance(meta, dict):
        raise CheckpointError("safetensors_metadata", invalid, path=str(path))
    if DIGEST_KEY in metadata:
        matches = metadata[DIGEST_KEY] == tensors_digest(tensors, metadata.get("json", "{}"))
    else:
        matches = metadata.get(TENSORS_DIGEST_KEY) in (None, tensors_digest(tensors))
    if not matches:
        raise CheckpointError("corrupt", Phrase("reason_corrupt"), path=str(path))
    return tensors, meta


def read_config(folder: str | os.PathLike) -> GANConfig:
    """The GANConfig of a model folder, or a CheckpointError that says what is wrong."""
    path = Path(folder) / CONFIG_NAME
    try:
        return GANConfig.from_dict(json.loads(path.read_text()))
    except (FileNotFoundError, NotADirectoryError):
        raise CheckpointError("no_config", Phrase("reason_missing"), folder=str(path.parent),
                              name=CONFIG_NAME) from None
    except ConfigError as err:
        raise CheckpointError("bad_config", Phrase("reason_bad_config", brief=err.brief), path=str(path),
                              error=phrase_of(err)) from None
    except (json.JSONDecodeError, UnicodeDecodeError, TypeError, ValueError, OSError) as err:
        raise CheckpointError("bad_config", Phrase("reason_bad_config", brief=Phrase("brief_not_json")),
                              path=str(path), error=str(err)) from None


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
        raise CheckpointError("weights_mismatch", Phrase("reason_mismatch"), path=str(path), details=details)
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


def is_repo_id(text: str) -> bool:
    """Whether `text` is a Hub repo id "owner/name" and nothing else: no path, no '..', no '--'."""
    from huggingface_hub.utils import HFValidationError, validate_repo_id

    if not isinstance(text, str) or not REPO_ID_PATTERN.fullmatch(text) or ".." in text or "--" in text \
            or text.endswith(".git"):
        return False
    try:
        validate_repo_id(text)
    except HFValidationError:
        return False
    return True


def _check_revision(repo_id: str, revision: str | None) -> None:
    if revision is not None and (not isinstance(revision, str) or not REVISION_PATTERN.fullmatch(revision)
                                 or ".." in revision or "//" in revision):
        raise CheckpointError("bad_revision", Phrase("reason_revision"), repo=repo_id)


def resolve(source: str | os.PathLike, revision: str | None = None) -> Path:
    """A local model folder as is; a Hub repo id ("owner/name") downloaded (or taken from the
    local cache, e.g. with HF_HUB_OFFLINE=1) into a folder. Clear errors otherwise."""
    text = str(source).strip()
    if not text:
        raise CheckpointError("no_checkpoint")
    path = Path(text).expanduser()
    _refuse_pickle(path)
    if path.is_file():
        path = path.parent
    if path.is_dir():
        return path
    if not is_repo_id(text):
        raise CheckpointError("no_model_folder", text=text)
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
    """The repo's release files (config, generator, OPTIONAL_FILES, nothing else) in a local
    folder: from the Hub, or only from the local cache when offline. Messages name the repo only."""
    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import (HfHubHTTPError, LocalEntryNotFoundError, RepositoryNotFoundError,
                                        RevisionNotFoundError)

    _check_revision(repo_id, revision)
    try:
        folder = Path(snapshot_download(repo_id, revision=revision, local_files_only=not hub_reachable(),
                                        allow_patterns=[CONFIG_NAME, GENERATOR_NAME, *OPTIONAL_FILES]))
    except LocalEntryNotFoundError:
        raise CheckpointError("hub_offline", Phrase("reason_offline"), repo=repo_id) from None
    except RevisionNotFoundError:
        raise CheckpointError("hub_no_revision", Phrase("reason_no_revision"), repo=repo_id) from None
    except RepositoryNotFoundError:
        raise CheckpointError("hub_no_repo", Phrase("reason_not_on_hub"), repo=repo_id) from None
    except HfHubHTTPError as err:
        status = getattr(getattr(err, "response", None), "status_code", None)
        raise CheckpointError("hub_refused_status" if status else "hub_refused", Phrase("reason_no_download"),
                              repo=repo_id, status=status) from None
    except (OSError, ValueError):
        logging.getLogger(__name__).warning("downloading %s failed", repo_id, exc_info=True)
        raise CheckpointError("hub_download", Phrase("reason_no_download"), repo=repo_id) from None
    missing = [name for name in (CONFIG_NAME, GENERATOR_NAME) if not (folder / name).is_file()]
    if missing:
        raise CheckpointError("hub_no_files", Phrase("reason_no_files"), repo=repo_id, config=CONFIG_NAME,
                              generator=GENERATOR_NAME, missing=" and ".join(missing))
    return folder


def _load_folder(folder: Path, device: str | torch.device, repo_id: str | None = None) -> GAN:
    """The GAN in a release folder; with `repo_id`, errors name the repo and the file, not the folder."""
    def step(name: str, load):
        try:
            return load()
        except CheckpointError as err:
            if repo_id is None:
                raise
            raise CheckpointError("repo_file", err.reason, repo=repo_id, name=name) from None

    config = step(CONFIG_NAME, lambda: read_config(folder))  # within the bounds before any network is built
    device = pick_device(device) if isinstance(device, str) else device
    if not (folder / GENERATOR_NAME).is_file():
        raise CheckpointError("no_generator", Phrase("reason_missing"), where=repo_id or str(folder),
                              name=GENERATOR_NAME)
    G = Generator(config)
    step(GENERATOR_NAME, lambda: load_weights(G, folder / GENERATOR_NAME))
    D = None
    if (folder / DISCRIMINATOR_NAME).is_file():
        D = Discriminator(config)
        step(DISCRIMINATOR_NAME, lambda: load_weights(D, folder / DISCRIMINATOR_NAME))
        D = D.to(device).eval()
    return GAN(config, G.to(device).eval(), D, device, folder)


def load_gan(source: str | os.PathLike, device: str | torch.device = "auto", revision: str | None = None) -> GAN:
    """Load a release folder or Hub repo id into a GAN (eval mode), on `device` (auto: GPU if any).
    For the CLI and the library; text typed by people goes to load_hub_gan instead."""
    return _load_folder(resolve(source, revision), device)


def load_hub_gan(repo_id: str, device: str | torch.device = "auto", revision: str | None = None) -> GAN:
    """Load a Hugging Face Hub repo "owner/name" into a GAN (eval mode), never a local path.

        gan = load_hub_gan("owner/name")        # offline (HF_HUB_OFFLINE=1): from the local cache only

    Fetches config.json, model.safetensors and OPTIONAL_FILES, nothing else. Errors are
    CheckpointErrors whose message names the repo and what is wrong with it, never a path on
    this machine or a value from the files."""
    text = repo_id.strip() if isinstance(repo_id, str) else ""
    if not is_repo_id(text):
        raise CheckpointError("repo_id", Phrase("reason_not_repo_id"))
    return _load_folder(_download(text, revision), device, repo_id=text)
