"""The models the studio serves, shared read-only by every session.

Only what the server lists can be opened: the release folders under checkpoints/ and runs/
(train.py --export), chosen by name, and Hugging Face Hub repos, chosen by repo id and fetched
through huggingface_hub (never a path a user typed). Each model is loaded once (bounded,
thread-safe); what it ships beside its weights (directions, classifier, encoder, ...) is loaded
part by part, each when first asked for (`ModelParts`).
"""
from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cached_property
from pathlib import Path

import numpy as np
import torch

from gan_core.photos.align import Aligner
from gan_core.analysis.attributes import AttributeClassifier, load_classifier
from gan_core.analysis.digits import DigitClassifier, load_digit_classifier
from gan_core.analysis.verdicts import Readings, load_readings
from gan_core.model.checkpoints import CONFIG_NAME, GENERATOR_NAME, CheckpointError, load_gan, load_hub_gan
from gan_core.editing.directions import DIRECTIONS_INFO, Direction, directions_for, read_info
from gan_core.photos.encoder import Encoder, load_encoder
from gan_core.errors import Phrase
from gan_core.model.latent import z_from_seeds
from gan_core.model.networks import GAN

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


class ModelParts:
    """A loaded model and what it ships beside its weights, one loader a file, each run when its
    part is first asked for: asking for the directions never opens the encoder, and a broken
    file fails only its own part (asked again, it is read again)."""

    def __init__(self, gan: GAN, hub_repo: str | None = None):
        self.gan, self.folder, self.hub_repo = gan, gan.folder, hub_repo

    @contextmanager
    def _reading(self, part: str) -> Iterator[None]:
        """Loading one part (`part`: the message key naming it)."""
        try:
            yield
        except CheckpointError as err:
            if self.hub_repo is None:
                raise
            # a Hub repo's files sit in the server's cache: name the repo, not the folder
            raise CheckpointError("repo_part", err.reason, repo=self.hub_repo, part=Phrase(part)) from None

    @cached_property
    def directions(self) -> dict[str, Direction]:
        """The model's directions by name: shipped ones, or label-free ones computed once."""
        with self._reading("part_directions"):
            return directions_for(self.gan, self.folder)

    @cached_property
    def info(self) -> dict:
        """directions.json beside the directions: suggested sliders, face-math presets, measurements."""
        with self._reading("part_directions_info"):
            return read_info(self.folder) if self.folder and (self.folder / DIRECTIONS_INFO).is_file() else {}

    @cached_property
    def classifier(self) -> AttributeClassifier | None:
        with self._reading("part_classifier"):
            return load_classifier(self.folder, self.gan.device) if self.folder else None

    @cached_property
    def encoder(self) -> Encoder | None:
        with self._reading("part_encoder"):
            return load_encoder(self.folder, self.gan.config, self.gan.device) if self.folder else None

    @cached_property
    def digits(self) -> DigitClassifier | None:
        with self._reading("part_digits"):
            return load_digit_classifier(self.folder, self.gan.device) if self.folder else None

    @cached_property
    def readings(self) -> Readings | None:
        """D's scores on held-out real images and fresh fakes (d_readings.json), or None (a Hub model)."""
        with self._reading("verdict_part_readings"):
            return load_readings(self.folder) if self.folder else None

    @cached_property
    def aligner(self) -> Aligner:
        """Puts a photo's face on the model's training crop (dlib: detector, 5 landmarks)."""
        mean = self.gan.generate(z_from_seeds(range(256), self.gan.config.nz)).astype(np.float32).mean(0)
        return Aligner(mean.round().astype(np.uint8))


class ModelStore:
    def __init__(self, bundled: dict[str, Path], roots: tuple[Path, ...] = (), device: str = "auto",
                 max_loaded: int = 6):
        """`bundled`: named release folders, always listed first; `roots`: folders whose release
        folders are listed too, by their path under the root's parent ("runs/anime/export")."""
        self.bundled = {name: Path(path) for name, path in bundled.items() if (Path(path) / CONFIG_NAME).is_file()}
        self.roots, self.device, self.max_loaded = tuple(Path(r) for r in roots), device, max_loaded
        self._loaded: OrderedDict[str, ModelParts] = OrderedDict()
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
        return self.parts(key).gan

    def parts(self, key: str) -> ModelParts:
        """A listed model (by name) or a Hub model (by HUB + repo id), with its parts."""
        key = key if isinstance(key, str) else ""
        with self._lock:
            if key in self._loaded:
                self._loaded.move_to_end(key)
                return self._loaded[key]
        if key.startswith(HUB):
            parts = ModelParts(load_hub_gan(key[len(HUB):], self.device), hub_repo=key[len(HUB):])
        else:
            folder = self.bundled.get(key) or self.folders().get(key)
            if folder is None:
                raise CheckpointError("model_not_listed" if key else "no_model_chosen")
            parts = ModelParts(load_gan(folder, self.device))
        with self._lock:
            parts = self._loaded.setdefault(key, parts)
            while len(self._loaded) > self.max_loaded:
                oldest = next(k for k in self._loaded if k not in self.bundled)
                del self._loaded[oldest]
        return parts

    def directions(self, key: str) -> dict[str, Direction]:
        """The model's directions by name: shipped ones, or label-free ones computed once."""
        return self.parts(key).directions

    def sliders(self, key: str) -> list[str]:
        """The directions the model suggests putting on the named sliders first."""
        parts = self.parts(key)
        return [name for name in parts.info.get("sliders", []) if name in parts.directions]

    def presets(self, key: str) -> list[list[str]]:
        """Face-math presets [label, A, B, C] whose exemplars the model's classifier picked."""
        presets = self.parts(key).info.get("face_math_presets", [])
        return [p for p in presets if isinstance(p, list) and len(p) == 4 and all(isinstance(t, str) for t in p)]

    def classifier(self, key: str) -> AttributeClassifier | None:
        return self.parts(key).classifier

    def digits(self, key: str) -> DigitClassifier | None:
        """The model's digit classifier (a digits model's readout), or None."""
        return self.parts(key).digits

    def has_readout(self, key: str) -> bool:
        """Whether the model comes with a classifier that reads its images (attributes or digits)."""
        return self.classifier(key) is not None or self.digits(key) is not None

    def encoder(self, key: str) -> Encoder | None:
        """The model's encoder (image -> z), for finding photos in it; None if it ships none."""
        return self.parts(key).encoder

    def readings(self, key: str) -> Readings | None:
        """What D's number means for the model: its measured scores, or None if it ships none."""
        return self.parts(key).readings

    def aligner(self, key: str) -> Aligner:
        """Puts a photo's face on the model's training crop (dlib: detector, 5 landmarks)."""
        return self.parts(key).aligner

    def warm_up(self) -> None:
        """Load every bundled model and run each once, so the first user waits for nothing; take one
        optimizer step too, whose first use imports 900 of torch's modules (1.5 s and 166 MB, once a
        process), which the first photo found would wait for."""
        for name in self.bundled:
            gan = self.get(name)
            self.directions(name)
            gan.generate(z_from_seeds(range(16), gan.config.nz))
        weight = torch.zeros(1, requires_grad=True)
        optimizer = torch.optim.Adam([weight])
        weight.sum().backward()
        optimizer.step()
