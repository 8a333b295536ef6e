"""Train the digit classifier that labels a digits model's samples, and ship it beside the model.

    $ python train_digit_classifier.py --data ../shared/data/mnist28.zip --out checkpoints/mnist32

`mnist28.zip` holds MNIST's 10,000 test digits: the first 8,000 train the classifier and the last
2,000 are held out (for its accuracy here, and for every other evaluation of the digits model).
Writes OUT/digits.safetensors (its held-out accuracy in the metadata) and a "Digit classifier"
section in OUT/README.md. About 2.5 minutes on one CPU thread.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from gan_core.data.images import DataError, load_images
import torch

from gan_core.analysis.digits import (CONFIDENT, DIGITS_NAME, TRAIN_DIGITS, accuracy, digit_report, not_digits, split_digits,
                             train_digit_classifier)
from gan_core.model.checkpoints import load_gan
from gan_core.model.latent import z_from_seeds
from gan_core.model.networks import to_uint8
from gan_core.analysis.real_or_fake import DETECTOR_NAME, accuracy as accuracy_of_detector, train_detector
from gan_core.training.model_card import CARD_NAME, write_sections


def card_section(result: dict, epochs: int, outliers: float) -> str:
    per_digit = ", ".join(f"{d}: {v:.1%}" for d, v in result["per_digit"].items())
    return (f"`{DIGITS_NAME}`: four strided convolutions (the attribute classifier's network, one channel in, "
            f"ten classes out), trained {epochs} epochs on the first {TRAIN_DIGITS:,} of MNIST's 10,000 test "
            f"digits (`python train_digit_classifier.py`). On the {result['count']:,} held out: "
            f"**{result['accuracy']:.2%}** right ({per_digit}), and {result['confident']:.1%} of them read with "
            f"confidence >= {CONFIDENT}. It labels generated digits for the quality figures, the digit directions "
            f"and the live run's grid; the held-out digits are never trained on.\n\n"
            f"Outlier exposure: each batch also holds {outliers:g} non-digits per digit (an untrained generator's "
            f"output, random blobs, speckle, two digits drawn over each other, a faint digit under heavy noise), "
            f"trained towards no digit in particular. Without them the classifier read an untrained generator's "
            f"noise as \"8\" with confidence 1.0 (64 of 64), and so did a collapsed run's noisy blobs; with "
            f"them, {result['noise_confident']:.1%} of 1,000 fresh non-digits get a confidence >= {CONFIDENT}.\n\n"
            f"MNIST (LeCun, Cortes and Burges) is available under CC BY-SA 3.0.")


def ship_detector(out: Path, train_x: torch.Tensor, held_x: torch.Tensor, seed: int) -> int:
    """The game's detector: real training digits against the model's samples (seeds from 3e6), scored
    on the held-out digits against fresh samples; written with a card section."""
    gan = load_gan(out, device="cpu")
    pick = torch.randperm(len(train_x), generator=torch.Generator().manual_seed(seed))[:4000]
    real = train_x[pick].permute(0, 2, 3, 1).numpy()
    fake = gan.generate(z_from_seeds(range(3 * 10**6, 3 * 10**6 + 4000), gan.config.nz))
    detector = train_detector(real, fake, seed=seed)
    fresh = gan.generate(z_from_seeds(range(4 * 10**6, 4 * 10**6 + len(held_x)), gan.config.nz))
    score = accuracy_of_detector(detector, held_x.permute(0, 2, 3, 1).numpy(), fresh)
    detector.save(out, {"trained_on": "4,000 training digits vs 4,000 samples", "held_out_accuracy": round(score, 4)})
    print(f"detector: {score:.1%} right on the 2,000 held-out digits against 2,000 fresh samples")
    if (out / CARD_NAME).is_file():
        write_sections(out, {"Real-or-fake detector": (
            f"`{DETECTOR_NAME}`: the \"Real or fake?\" game's detector, a small CNN (the attribute classifier's "
            f"network, width 16, one logit) trained only to tell this model's samples from real digits: 4,000 "
            f"training digits against 4,000 samples, 15 epochs, no augmentation (`python train_digit_classifier.py "
            f"--detector`). On the 2,000 held-out digits against 2,000 fresh samples it is right **{score:.1%}** of "
            f"the time (50% would be a coin toss).")})
    return 0


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter,
                                epilog=__doc__.split("\n", 1)[1])
    p.add_argument("--data", required=True, help="labelled digits (imagefolder zip with a 'label' column)")
    p.add_argument("--out", required=True, help="the digits model's release folder")
    p.add_argument("--epochs", type=int, default=25)
    p.add_argument("--outliers", type=float, default=0.05,
                   help="non-digits per real digit in each batch, trained towards 'no digit in particular' (default 0.05)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--detector", action="store_true",
                   help="instead: train the real-or-fake detector of the \"Real or fake?\" game on 4,000 training "
                        "digits and 4,000 of the folder's model's samples (real_or_fake.safetensors)")
    args = p.parse_args(argv)
    out = Path(args.out)
    if not (out / "config.json").is_file():
        p.error(f"{out} is not a model's release folder (no config.json)")
    try:
        data = load_images(args.data, 32, 1)
        (train_x, train_y), (held_x, held_y) = split_digits(data.images, data.metadata.get("label", []))
    except (DataError, ValueError) as err:
        p.error(str(err))
    if args.detector:
        return ship_detector(out, train_x, held_x, args.seed)
    classifier = train_digit_classifier(train_x, train_y, epochs=args.epochs, seed=args.seed, outliers=args.outliers)
    result = accuracy(classifier, held_x, held_y)
    result["confident"] = digit_report(classifier, held_x.permute(0, 2, 3, 1))["confident"]
    noise = not_digits(train_x, train_y, 1000, torch.Generator().manual_seed(args.seed + 1))
    result["noise_confident"] = digit_report(classifier, to_uint8(noise))["confident"]
    print(f"held-out accuracy {result['accuracy']:.2%} on {result['count']} digits")
    print(f"held-out digits read with confidence >= {CONFIDENT}: {result['confident']:.1%}; "
          f"non-digits: {result['noise_confident']:.1%}")
    classifier.save(out, {"held_out_accuracy": result["accuracy"], "trained_on": f"first {TRAIN_DIGITS} digits",
                          "outliers": args.outliers, "epochs": args.epochs})
    if (out / CARD_NAME).is_file():
        write_sections(out, {"Digit classifier": card_section(result, args.epochs, args.outliers)})
    print(f"wrote {out / DIGITS_NAME}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
