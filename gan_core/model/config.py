"""The one description of a DCGAN: what rebuilds the networks, saved beside their weights.

    config = GANConfig(image_size=64, nz=100, g_width=64, d_width=64)
    GANConfig.from_dict(json.loads(text))   # ValueError (ConfigError) for unknown keys or values out of range

Every size is checked against the bounds below before any network is built, so a config.json
from anywhere cannot ask for a model that does not fit in memory.
"""
from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field

from ..errors import Phrase, UserError

SUPPORTED_SIZES = (32, 64, 128)  # image sides the networks are built for
MAX_NZ = 1024                    # longest latent vector z
MAX_WIDTH = 512                  # largest g_width and d_width
MAX_CHANNELS = 2048              # widest layer of G or D: width * 2 ** (n_upsamples - 1), e.g. 8 * width at 64x64
MAX_NAME = 200                   # longest name, in characters


class ConfigError(UserError):
    """A config that cannot describe a DCGAN. `brief` (a Phrase) names the setting and the problem
    but no value (for messages that must not echo a file's contents), e.g. "g_width is out of range"."""

    def __init__(self, key: str, /, brief: Phrase, **params):
        super().__init__(key, **params)
        self.brief = brief


def _shown(value) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


@dataclass(frozen=True)
class GANConfig:
    image_size: int = 64        # output side in pixels: 32, 64 or 128
    channels: int = 3           # 3 for RGB, 1 for greyscale
    nz: int = 100               # length of the latent vector z (1 to MAX_NZ)
    g_width: int = 64           # G's base width (the paper's ngf): channels of its last hidden layer (1 to MAX_WIDTH)
    d_width: int = 64           # D's base width (ndf): channels of its first layer (1 to MAX_WIDTH)
    d_spectral_norm: bool = False  # spectral norm on D's convolutions instead of BatchNorm
    name: str = ""              # a short label shown in the app ("CelebA faces 64x64")
    extra: dict = field(default_factory=dict, compare=False)  # free-form notes (data, recipe)

    def __post_init__(self):
        for key in ("image_size", "channels", "nz", "g_width", "d_width"):
            value = getattr(self, key)
            if isinstance(value, bool) or not isinstance(value, int):
                raise ConfigError("config_whole", Phrase("brief_not_whole", key=key), key=key, got=_shown(value))
        if self.image_size not in SUPPORTED_SIZES:
            raise ConfigError("config_size", Phrase("brief_size"), sizes=str(SUPPORTED_SIZES), got=self.image_size)
        if self.channels not in (1, 3):
            raise ConfigError("config_channels", Phrase("brief_channels"), got=self.channels)
        for key, high in (("nz", MAX_NZ), ("g_width", MAX_WIDTH), ("d_width", MAX_WIDTH)):
            if not 1 <= getattr(self, key) <= high:
                raise ConfigError("config_range", Phrase("brief_range", key=key), key=key, max=high,
                                  got=getattr(self, key))
        for key in ("g_width", "d_width"):
            widest = getattr(self, key) * 2 ** (self.n_upsamples - 1)
            if widest > MAX_CHANNELS:
                raise ConfigError("config_widest", Phrase("brief_range", key=key), key=key, width=getattr(self, key),
                                  size=self.image_size, widest=widest, max=MAX_CHANNELS)
        if not isinstance(self.d_spectral_norm, bool):
            raise ConfigError("config_spectral", Phrase("brief_spectral"), got=_shown(self.d_spectral_norm))
        if not isinstance(self.name, str) or len(self.name) > MAX_NAME:
            raise ConfigError("config_name", Phrase("brief_name"), max=MAX_NAME)
        if not isinstance(self.extra, dict):
            raise ConfigError("config_extra", Phrase("brief_extra"))

    @property
    def n_upsamples(self) -> int:
        """Number of stride-2 layers between the 4x4 map and the image."""
        return self.image_size.bit_length() - 3  # 32 -> 3, 64 -> 4, 128 -> 5

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "GANConfig":
        if not isinstance(data, dict):
            raise ConfigError("config_object", Phrase("brief_object"), type=type(data).__name__)
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ConfigError("config_unknown", Phrase("brief_unknown"),
                              keys=f"{unknown[:5]}{'...' if len(unknown) > 5 else ''}", known=str(sorted(known)))
        return cls(**data)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=True)
