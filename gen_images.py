"""Faces (or digits) from seeds, as a grid or one image per seed.

    $ python gen_images.py --checkpoint checkpoints/celeba64 --seeds 0-63 --out grid.png
    $ python gen_images.py --checkpoint owner/repo --seeds 1,5,42 --out faces/ --size 256 --smooth
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from gan_core.model.checkpoints import load_gan
from gan_core.errors import UserError
from gan_core.model.latent import parse_seeds, z_from_seeds
from gan_core.data.media import make_grid, save_image, upscale


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter,
                                epilog=__doc__.split("\n", 1)[1])
    p.add_argument("--checkpoint", required=True, help="model folder or Hugging Face repo id")
    p.add_argument("--seeds", default="0-63", help="e.g. 0-63 or 1,5,42 (default 0-63)")
    p.add_argument("--out", default="samples.png", help="a .png/.jpg for one grid, or a folder for one image per seed")
    p.add_argument("--nrow", type=int, help="images per grid row (default: near-square)")
    p.add_argument("--size", type=int, help="upscale each image to this side (display only)")
    p.add_argument("--smooth", action="store_true", help="Lanczos instead of nearest-neighbour upscaling")
    p.add_argument("--device", default="auto", help="auto (default), cpu, cuda, mps")
    args = p.parse_args(argv)
    try:
        seeds = parse_seeds(args.seeds)
        gan = load_gan(args.checkpoint, args.device)
    except (UserError, RuntimeError) as err:  # a user's mistake, or a device this machine lacks
        print(f"gen_images.py: {err}", file=sys.stderr)
        return 2
    images = gan.generate(z_from_seeds(seeds, gan.config.nz))
    if args.size:
        images = [upscale(image, args.size, args.smooth) for image in images]
    out = Path(args.out)
    if out.suffix.lower() in (".png", ".jpg", ".jpeg", ".webp"):
        save_image(make_grid(images, nrow=args.nrow), out)
        print(f"{len(seeds)} samples -> {out}")
    else:
        for seed, image in zip(seeds, images):
            save_image(image, out / f"seed{seed:010d}.png")
        print(f"{len(seeds)} images -> {out}/")
    return 0


if __name__ == "__main__":
    sys.exit(main())
