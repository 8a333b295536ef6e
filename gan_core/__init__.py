"""DCGAN Studio's core: models, data, training, latents, media and checkpoints (no UI code)."""
from .model.checkpoints import CheckpointError, load_gan, save_gan
from .model.config import GANConfig
from .model.device import pick_device
from .model.latent import interpolation_path, lerp, parse_seeds, slerp, z_from_seed, z_from_seeds
from .model.networks import GAN, Discriminator, Generator

__all__ = ["CheckpointError", "Discriminator", "GAN", "GANConfig", "Generator", "interpolation_path",
           "lerp", "load_gan", "parse_seeds", "pick_device", "save_gan", "slerp", "z_from_seed", "z_from_seeds"]
