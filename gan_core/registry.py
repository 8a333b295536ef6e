"""Loaded models, shared read-only by every session of the app: bundled folders by name, Hub
repos by id, each loaded once (bounded, thread-safe)."""
from __future__ import annotations

import threading
from collections import OrderedDict
from pathlib import Path

import torch

from .attributes import AttributeClassifier, load_classifier
from .checkpoints import CONFIG_NAME, CheckpointError, load_gan
from .directions import DIRECTIONS_INFO, Direction, directions_for, read_info
from .latent import z_from_seeds
from .models import GAN


class ModelStore:
    def __init__(self, bundled: dict[str, Path], device: str = "auto", max_loaded: int = 6):
        self.bundled = {name: Path(path) for name, path in bundled.items() if (Path(path) / CONFIG_NAME).is_file()}
        self.device, self.max_loaded = device, max_loaded
        self._loaded: OrderedDict[str, GAN] = OrderedDict()
        self._extras: dict[str, tuple] = {}  # key -> (directions, directions.json, classifier)
        self._lock = threading.Lock()

    @property
    def names(self) -> list[str]:
        return list(self.bundled)

    def get(self, key: str) -> GAN:
        """A bundled model by name, or any folder / Hub repo id the core's loader takes."""
        key = (key or "").strip()
        if not key:
            raise CheckpointError("no model chosen")
        with self._lock:
            if key in self._loaded:
                self._loaded.move_to_end(key)
                return self._loaded[key]
        gan = load_gan(self.bundled.get(key, key), self.device)
        with self._lock:
            self._loaded[key] = gan
            while len(self._loaded) > self.max_loaded:
                oldest = next(k for k in self._loaded if k not in self.bundled)
                del self._loaded[oldest]
                self._extras.pop(oldest, None)
        return gan

    def _extras_of(self, key: str) -> tuple:
        gan, key = self.get(key), (key or "").strip()
        if key not in self._extras:
            folder = gan.folder
            directions = directions_for(gan, folder)
            info = read_info(folder) if folder and (folder / DIRECTIONS_INFO).is_file() else {}
            classifier = load_classifier(folder, gan.device) if folder else None
            with self._lock:
                self._extras[key] = (directions, info, classifier)
        return self._extras[key]

    def directions(self, key: str) -> dict[str, Direction]:
        """The model's directions by name: shipped ones, or label-free ones computed once."""
        return self._extras_of(key)[0]

    def sliders(self, key: str) -> list[str]:
        """The directions the model suggests putting on the named sliders first."""
        directions, info, _ = self._extras_of(key)
        return [name for name in info.get("sliders", []) if name in directions]

    def presets(self, key: str) -> list[list[str]]:
        """Face-math presets [label, A, B, C] whose exemplars the model's classifier picked."""
        presets = self._extras_of(key)[1].get("face_math_presets", [])
        return [p for p in presets if isinstance(p, list) and len(p) == 4 and all(isinstance(t, str) for t in p)]

    def classifier(self, key: str) -> AttributeClassifier | None:
        return self._extras_of(key)[2]

    def warm_up(self) -> None:
        """Load every bundled model and run each once, so the first user waits for nothing."""
        for name in self.bundled:
            gan = self.get(name)
            self.directions(name)
            with torch.inference_mode():
                gan.generate(z_from_seeds(range(16), gan.config.nz))
