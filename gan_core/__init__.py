"""DCGAN Studio's core (no UI code), by what each part is about:

    model/      the DCGAN: config, networks, losses, latent space, device, checkpoints
    data/       images in and out: training sources, checked uploads, grids and video
    training/   the loop, its options, batches, resume, export, model cards, torchrun, live runs
    editing/    the current face, directions, galleries, morphs, face math
    photos/     a photo's face: found, aligned, and its z (encoder, inversion)
    analysis/   D as teacher, classifiers, metrics, the training dashboard, the game
    errors.py   UserError: a user's mistake as a key and its parameters (English in messages.py)
"""
from .errors import UserError
from .model.checkpoints import CheckpointError, load_gan, save_gan
from .model.config import GANConfig
from .model.device import pick_device
from .model.latent import interpolation_path, lerp, parse_seeds, slerp, z_from_seed, z_from_seeds
from .model.networks import GAN, Discriminator, Generator

__all__ = ["CheckpointError", "Discriminator", "GAN", "GANConfig", "Generator", "interpolation_path",
           "lerp", "load_gan", "parse_seeds", "pick_device", "save_gan", "slerp", "UserError", "z_from_seed", "z_from_seeds"]
