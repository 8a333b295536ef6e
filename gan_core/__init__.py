"""DCGAN Studio's core: models, data, training, latents, media and checkpoints (no UI code)."""
from .checkpoints import CheckpointError, load_gan, save_gan
from .config import GANConfig
from .device import pick_device
from .latent import interpolation_path, lerp, parse_seeds, slerp, z_from_seed, z_from_seeds
from .models import GAN, Discriminator, Generator

__all__ = ["CheckpointError", "Discriminator", "GAN", "GANConfig", "Generator", "interpolation_path",
           "lerp", "load_gan", "parse_seeds", "pick_device", "save_gan", "slerp", "z_from_seed", "z_from_seeds"]
