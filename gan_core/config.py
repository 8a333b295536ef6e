"""The one description of a DCGAN: what rebuilds the networks, saved beside their weights."""
from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field

SUPPORTED_SIZES = (32, 64, 128)


@dataclass(frozen=True)
class GANConfig:
    image_size: int = 64        # output side in pixels: 32, 64 or 128
    channels: int = 3           # 3 for RGB, 1 for greyscale
    nz: int = 100               # length of the latent vector z
    g_width: int = 64           # G's base width (the paper's ngf): channels of its last hidden layer
    d_width: int = 64           # D's base width (ndf): channels of its first layer
    d_spectral_norm: bool = False  # spectral norm on D's convolutions instead of BatchNorm
    name: str = ""              # a short label shown in the app ("CelebA faces 64x64")
    extra: dict = field(default_factory=dict, compare=False)  # free-form notes (data, recipe)

    def __post_init__(self):
        for key in ("image_size", "channels", "nz", "g_width", "d_width"):
            value = getattr(self, key)
            if isinstance(value, bool) or not isinstance(value, int):
                raise ValueError(f"{key} must be a whole number, got {value!r}")
        if self.image_size not in SUPPORTED_SIZES:
            raise ValueError(f"image_size must be one of {SUPPORTED_SIZES}, got {self.image_size}")
        if self.channels not in (1, 3):
            raise ValueError(f"channels must be 1 or 3, got {self.channels}")
        for key in ("nz", "g_width", "d_width"):
            if getattr(self, key) < 1:
                raise ValueError(f"{key} must be a positive integer, got {getattr(self, key)}")

    @property
    def n_upsamples(self) -> int:
        """Number of stride-2 layers between the 4x4 map and the image."""
        return self.image_size.bit_length() - 3  # 32 -> 3, 64 -> 4, 128 -> 5

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "GANConfig":
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"unknown config keys {unknown}; expected some of {sorted(known)}")
        return cls(**data)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=True)
