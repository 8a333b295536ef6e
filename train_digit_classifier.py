"""Train the digit classifier that labels a digits model's samples, and ship it beside the model.

    $ python train_digit_classifier.py --data ../shared/data/mnist28.zip --out checkpoints/mnist32

`mnist28.zip` holds MNIST's 10,000 test digits: the first 8,000 train the classifier and the last
2,000 are held out (for its accuracy here, and for every other evaluation of the digits model).
Writes OUT/digits.safetensors (its held-out accuracy in the metadata) and a "Digit classifier"
section in OUT/README.md. About 40 s on a 2-core CPU.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from gan_core.data import DataError, load_images
from gan_core.digits import DIGITS_NAME, TRAIN_DIGITS, accuracy, split_digits, train_digit_classifier
from gan_core.model_card import set_section


def card_section(result: dict, epochs: int) -> str:
    per_digit = ", ".join(f"{d}: {v:.1%}" for d, v in result["per_digit"].items())
    return (f"`{DIGITS_NAME}`: four strided convolutions (the attribute classifier's network, one channel in, "
            f"ten classes out), trained {epochs} epochs on the first {TRAIN_DIGITS:,} of MNIST's 10,000 test "
            f"digits (`python train_digit_classifier.py`). On the {result['count']:,} held out: "
            f"**{result['accuracy']:.2%}** right ({per_digit}). It labels generated digits for the quality "
            f"figures and the digit directions; the held-out digits are never trained on.\n\n"
            f"MNIST (LeCun, Cortes and Burges) is available under CC BY-SA 3.0.")


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter,
                                epilog=__doc__.split("\n", 1)[1])
    p.add_argument("--data", required=True, help="labelled digits (imagefolder zip with a 'label' column)")
    p.add_argument("--out", required=True, help="the digits model's release folder")
    p.add_argument("--epochs", type=int, default=15)
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    out = Path(args.out)
    if not (out / "config.json").is_file():
        p.error(f"{out} is not a model's release folder (no config.json)")
    try:
        data = load_images(args.data, 32, 1)
        (train_x, train_y), (held_x, held_y) = split_digits(data.images, data.metadata.get("label", []))
    except (DataError, ValueError) as err:
        p.error(str(err))
    classifier = train_digit_classifier(train_x, train_y, epochs=args.epochs, seed=args.seed)
    result = accuracy(classifier, held_x, held_y)
    print(f"held-out accuracy {result['accuracy']:.2%} on {result['count']} digits")
    classifier.save(out, {"held_out_accuracy": result["accuracy"], "trained_on": f"first {TRAIN_DIGITS} digits"})
    card = out / "README.md"
    if card.is_file():
        card.write_text(set_section(card.read_text(), "Digit classifier", card_section(result, args.epochs)))
    print(f"wrote {out / DIGITS_NAME}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
