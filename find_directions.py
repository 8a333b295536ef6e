"""Find the directions in z that a model's sliders offer, and ship them beside its weights.

    $ python find_directions.py --checkpoint checkpoints/mnist32          # label-free + "Towards 0".."Towards 9"
    $ python find_directions.py --checkpoint checkpoints/celeba64 --data ../shared/data/celeba64.zip

Label-free: SeFa (eigenvectors of the first layer's weight) and GANSpace-style PCA of the first
layer's activations. With --data (CelebA-style labels in metadata.csv), also named directions,
InterFaceGAN-style: train a small attribute classifier on the real `train` faces, measure it on
the labelled `test` faces, label many generated faces with it, and fit one linear boundary in z
per attribute; its unit normal is the direction. "Age", "Gender", "Glasses" and "Smile" are
also offered conditioned (the other attributes' normals projected out). The classifier also
picks exemplar seeds for the face-math presets. A digits model with its digit classifier
(digits.safetensors, train_digit_classifier.py) gets "Towards 0" to "Towards 9" the same way: the
boundary between generated digits the classifier reads as that digit and the rest.
Then `python bench/directions.py --checkpoint ...` measures them and records the figures.
"""
from __future__ import annotations

import argparse
import sys
import time

import torch

from gan_core.analysis.attributes import ATTRIBUTES, evaluate, labels_from_metadata, load_classifier, train_classifier
from gan_core.model.checkpoints import CheckpointError, load_gan
from gan_core.data.images import DataError, load_images
from gan_core.analysis.digits import load_digit_classifier
from gan_core.editing.directions import Direction, condition, fit_direction, label_free, save_directions
from gan_core.editing.face_math import classifier_presets

# slider name: (attribute, sign, what -3 looks like, what +3 looks like)
NAMED = {
    "Age": ("Young", -1, "younger", "older"),
    "Gender": ("Male", 1, "female", "male"),
    "Glasses": ("Eyeglasses", 1, "no glasses", "glasses"),
    "Smile": ("Smiling", 1, "serious", "smiling"),
    "Blond hair": ("Blond_Hair", 1, "darker", "blond"),
    "Black hair": ("Black_Hair", 1, "lighter", "black"),
    "Bald": ("Bald", 1, "hair", "bald"),
    "Moustache": ("Mustache", 1, "none", "moustache"),
    "Hat": ("Wearing_Hat", 1, "none", "hat"),
    "Bangs": ("Bangs", 1, "none", "bangs"),
    "Make-up": ("Heavy_Makeup", 1, "none", "heavy"),
    "Beard": ("No_Beard", -1, "shaven", "beard"),
    "Pale skin": ("Pale_Skin", 1, "darker", "paler"),
    "Mouth open": ("Mouth_Slightly_Open", 1, "closed", "open"),
}
# conditioned versions: (name, its base, the names whose normals are projected out)
# (chosen by flip rate and entanglement on the faces model: see its card's "Directions")
CONDITIONED = (
    ("Age, gender kept", "Age", ("Gender",)),
    ("Gender, glasses kept", "Gender", ("Glasses",)),
    ("Glasses, gender kept", "Glasses", ("Gender",)),
    ("Smile, gender kept", "Smile", ("Gender",)),
)
SLIDERS = tuple(name for name, _, _ in CONDITIONED)
MIN_BALANCED_ACCURACY = 0.7  # attributes the classifier cannot tell apart get no direction


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter,
                                epilog=__doc__.split("\n", 1)[1])
    p.add_argument("--checkpoint", required=True, help="model folder; the directions are written into it")
    p.add_argument("--data", help="labelled faces (metadata.csv with CelebA attribute columns and a split column)")
    p.add_argument("--components", type=int, default=10, help="label-free directions of each kind (default 10)")
    p.add_argument("--samples", type=int, default=20_000, help="generated faces to fit boundaries on (default 20000)")
    p.add_argument("--epochs", type=int, default=20, help="attribute classifier epochs (default 20)")
    p.add_argument("--reuse-classifier", action="store_true", help="use the folder's attributes.safetensors as is")
    p.add_argument("--seed", type=int, default=1, help="seed of the fitting faces' z (the benchmark uses others)")
    return p.parse_args(argv)


def named_directions(gan, classifier, usable: set, samples: int, seed: int) -> tuple[list[Direction], dict]:
    """One boundary per usable classifier attribute, fitted on `samples` generated faces."""
    z = torch.randn(samples, gan.config.nz, generator=torch.Generator().manual_seed(seed))
    t = time.perf_counter()
    probs = classifier.predict(gan.generate(z))
    print(f"labelled {samples} generated faces in {time.perf_counter() - t:.0f} s")
    out, rates = {}, {}
    for name, (attribute, sign, negative, positive) in NAMED.items():
        if attribute not in usable:
            print(f"skip {name}: the classifier cannot tell {attribute} well enough on real test faces")
            continue
        p = probs[:, classifier.names.index(attribute)]
        rates[attribute] = round(float((p > 0.5).float().mean()), 4)
        if not 0.005 < rates[attribute] < 0.995:
            print(f"skip {name}: {rates[attribute]:.1%} of generated faces have {attribute}")
            continue
        normal, offset, accuracy = fit_direction(z, p)
        out[name] = Direction(name, sign * normal, "interfacegan", negative, positive,
                              {"attribute": attribute, "boundary_accuracy": round(accuracy, 4),
                               "boundary_offset": round(sign * offset, 3)})
    for name, base, others in CONDITIONED:
        if base in out and all(o in out for o in others):
            d = out[base]
            try:
                vector = condition(d.vector, *(out[o].vector for o in others))
            except ValueError as err:
                print(f"skip {name}: {err}")
                continue
            out[name] = Direction(name, vector, "conditional", d.negative, d.positive,
                                  {"attribute": d.quality["attribute"], "kept": list(others)})
    return list(out.values()), {"generated_rates": rates, "samples": samples, "seed": seed}


DIGIT_SLIDERS = ("Towards 3", "Towards 8", "Towards 1", "Towards 7")  # a 3 turns into an 8 on the first two


def digit_directions(gan, classifier, samples: int, seed: int) -> tuple[list[Direction], dict]:
    """One boundary per digit, fitted on `samples` generated digits labelled by the digit classifier."""
    z = torch.randn(samples, gan.config.nz, generator=torch.Generator().manual_seed(seed))
    probs = classifier.predict(gan.generate(z))
    out, rates = [], {}
    for digit in range(10):
        p = probs[:, digit]
        rates[str(digit)] = round(float((probs.argmax(1) == digit).float().mean()), 4)
        if not 0.005 < float((p > 0.5).float().mean()) < 0.995:
            print(f"skip Towards {digit}: {rates[str(digit)]:.1%} of generated digits read as {digit}")
            continue
        normal, offset, accuracy = fit_direction(z, p)
        out.append(Direction(f"Towards {digit}", normal, "interfacegan", "other digits", str(digit),
                             {"attribute": f"digit {digit}", "boundary_accuracy": round(accuracy, 4),
                              "boundary_offset": round(offset, 3)}))
        print(f"  Towards {digit}: {rates[str(digit)]:.1%} of samples, boundary accuracy {accuracy:.3f}")
    return out, {"generated_rates": rates, "samples": samples, "seed": seed}


def main(argv=None) -> int:
    args = parse_args(argv)
    try:
        gan = load_gan(args.checkpoint)
        found = label_free(gan.G, args.components)
        extra: dict = {}
        if args.data:
            classifier = load_classifier(args.checkpoint) if args.reuse_classifier else None
            test = load_images(args.data, 64, 3, split="test")
            test_labels, test_known = labels_from_metadata(test.metadata, ATTRIBUTES)
            if classifier is None:
                train = load_images(args.data, 64, 3, split="train")
                labels, known = labels_from_metadata(train.metadata, ATTRIBUTES)
                print(f"training the attribute classifier on {int(known.any(1).sum())} labelled train faces")
                classifier = train_classifier(train.images, labels, known, ATTRIBUTES, epochs=args.epochs)
            rows = test_known.any(1)
            accuracy = evaluate(classifier, test.images[rows], test_labels[rows], test_known[rows])
            for name, figures in accuracy.items():
                print(f"  {name:20s} test accuracy {figures['accuracy']:.3f}, balanced {figures['balanced_accuracy']:.3f}")
            classifier.save(args.checkpoint, {"test": accuracy, "data": args.data, "split": "train"})
            usable = {n for n in classifier.names if accuracy[n]["balanced_accuracy"] >= MIN_BALANCED_ACCURACY}
            named, fit = named_directions(gan, classifier, usable, args.samples, args.seed)
            found = named + found
            extra = {"sliders": [s for s in SLIDERS if any(d.name == s for d in named)],
                     "face_math_presets": classifier_presets(gan, classifier),
                     "classifier_test_accuracy": accuracy, "fit": fit}
        elif (digits := load_digit_classifier(args.checkpoint)) is not None:
            named, fit = digit_directions(gan, digits, args.samples, args.seed)
            found = named + found
            extra = {"sliders": [s for s in DIGIT_SLIDERS if any(d.name == s for d in named)], "fit": fit}
        path = save_directions(args.checkpoint, found, extra)
    except (CheckpointError, DataError, ValueError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(f"wrote {len(found)} directions to {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
