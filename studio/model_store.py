"""The models the studio serves, shared read-only by every session.

Only what the server lists can be opened: the release folders under checkpoints/ and runs/
(train.py --export), chosen by name, and Hugging Face Hub repos, chosen by repo id and fetched
through huggingface_hub (never a path a user typed). Each model is loaded once (bounded,
thread-safe), with its directions, classifier and face-math presets.
"""
from __future__ import annotations

import threading
from collections import OrderedDict
from pathlib import Path

import numpy as np

from gan_core.align import Aligner
from gan_core.attributes import AttributeClassifier, load_classifier
from gan_core.digits import DigitClassifier, load_digit_classifier
from gan_core.checkpoints import CONFIG_NAME, GENERATOR_NAME, CheckpointError, load_gan, load_hub_gan
from gan_core.directions import DIRECTIONS_INFO, Direction, directions_for, read_info
from gan_core.encoder import Encoder, load_encoder
from gan_core.latent import z_from_seeds
from gan_core.models import GAN

HUB = "hub:"  # the key of a Hub model is HUB + its repo id


def release_folders(root: Path, depth: int = 3, limit: int = 50) -> list[Path]:
    """Release folders (config.json + model.safetensors) at most `depth` levels under `root`,
    sorted by path; symbolic links are not followed out of `root`."""
    root = Path(root)
    if not root.is_dir():
        return []
    found, level = [], [root]
    for _ in range(depth):
        level = sorted(p for folder in level for p in folder.iterdir()
                       if p.is_dir() and not p.is_symlink() and not p.name.startswith("."))
        found += [p for p in level if (p / CONFIG_NAME).is_file() and (p / GENERATOR_NAME).is_file()]
    return sorted(found)[:limit]


class ModelStore:
    def __init__(self, bundled: dict[str, Path], roots: tuple[Path, ...] = (), device: str = "auto",
                 max_loaded: int = 6):
        """`bundled`: named release folders, always listed first; `roots`: folders whose release
        folders are listed too, by their path under the root's parent ("runs/anime/export")."""
        self.bundled = {name: Path(path) for name, path in bundled.items() if (Path(path) / CONFIG_NAME).is_file()}
        self.roots, self.device, self.max_loaded = tuple(Path(r) for r in roots), device, max_loaded
        self._loaded: OrderedDict[str, GAN] = OrderedDict()
        self._extras: dict[str, tuple] = {}  # key -> (directions, directions.json, classifier, encoder)
        self._aligners: dict[str, Aligner] = {}
        self._digits: dict[str, DigitClassifier | None] = {}
        self._lock = threading.Lock()

    def folders(self) -> dict[str, Path]:
        """Every model the server lists, by name: the bundled ones, then those under the roots."""
        listed = dict(self.bundled)
        known = {p.resolve() for p in listed.values()}
        for root in self.roots:
            for folder in release_folders(root):
                if folder.resolve() not in known:
                    listed[folder.relative_to(root.parent).as_posix()] = folder
        return listed

    @property
    def names(self) -> list[str]:
        return list(self.folders())

    def get(self, key: str) -> GAN:
        """A listed model by name, or a Hub model by HUB + repo id."""
        key = key if isinstance(key, str) else ""
        with self._lock:
            if key in self._loaded:
                self._loaded.move_to_end(key)
                return self._loaded[key]
        if key.startswith(HUB):
            gan = load_hub_gan(key[len(HUB):], self.device)
        else:
            folder = self.bundled.get(key) or self.folders().get(key)
            if folder is None:
                raise CheckpointError("model_not_listed" if key else "no_model_chosen")
            gan = load_gan(folder, self.device)
        with self._lock:
            self._loaded[key] = gan
            while len(self._loaded) > self.max_loaded:
                oldest = next(k for k in self._loaded if k not in self.bundled)
                del self._loaded[oldest]
                self._extras.pop(oldest, None)
                self._digits.pop(oldest, None)
                self._aligners.pop(oldest, None)
        return gan

    def _extras_of(self, key: str) -> tuple:
        gan = self.get(key)
        if key not in self._extras:
            folder = gan.folder
            try:
                directions = directions_for(gan, folder)
                info = read_info(folder) if folder and (folder / DIRECTIONS_INFO).is_file() else {}
                classifier = load_classifier(folder, gan.device) if folder else None
                encoder = load_encoder(folder, gan.config, gan.device) if folder else None
            except CheckpointError as err:
                if not key.startswith(HUB):
                    raise
                # a Hub repo's files sit in the server's cache: name the repo, not the folder
                raise CheckpointError("repo_extras", err.reason, repo=key[len(HUB):]) from None
            with self._lock:
                self._extras[key] = (directions, info, classifier, encoder)
        return self._extras[key]

    def directions(self, key: str) -> dict[str, Direction]:
        """The model's directions by name: shipped ones, or label-free ones computed once."""
        return self._extras_of(key)[0]

    def sliders(self, key: str) -> list[str]:
        """The directions the model suggests putting on the named sliders first."""
        directions, info, *_ = self._extras_of(key)
        return [name for name in info.get("sliders", []) if name in directions]

    def presets(self, key: str) -> list[list[str]]:
        """Face-math presets [label, A, B, C] whose exemplars the model's classifier picked."""
        presets = self._extras_of(key)[1].get("face_math_presets", [])
        return [p for p in presets if isinstance(p, list) and len(p) == 4 and all(isinstance(t, str) for t in p)]

    def classifier(self, key: str) -> AttributeClassifier | None:
        return self._extras_of(key)[2]

    def digits(self, key: str) -> DigitClassifier | None:
        """The model's digit classifier (a digits model's readout), or None."""
        gan = self.get(key)
        if key not in self._digits:
            reader = load_digit_classifier(gan.folder, gan.device) if gan.folder else None
            with self._lock:
                self._digits[key] = reader
        return self._digits[key]

    def has_readout(self, key: str) -> bool:
        """Whether the model comes with a classifier that reads its images (attributes or digits)."""
        return self.classifier(key) is not None or self.digits(key) is not None

    def encoder(self, key: str) -> Encoder | None:
        """The model's encoder (image -> z), for finding photos in it; None if it ships none."""
        return self._extras_of(key)[3]

    def aligner(self, key: str) -> Aligner:
        """Puts a photo's face on the model's training crop; refined against its mean face."""
        if key not in self._aligners:
            gan = self.get(key)
            mean = gan.generate(z_from_seeds(range(256), gan.config.nz)).astype(np.float32).mean(0)
            with self._lock:
                self._aligners[key] = Aligner(mean.round().astype(np.uint8))
        return self._aligners[key]

    def warm_up(self) -> None:
        """Load every bundled model and run each once, so the first user waits for nothing."""
        for name in self.bundled:
            gan = self.get(name)
            self.directions(name)
            gan.generate(z_from_seeds(range(16), gan.config.nz))
