"""The DCGAN itself: its config, networks, losses, latent space, device and checkpoints."""
