"""How well do a model's named directions work? Measured with its attribute classifier.

    $ python bench/directions.py --checkpoint checkpoints/celeba64 --record

Over --faces random faces (z seeded apart from the faces the boundaries were fitted on):
* flip rate: the share of faces whose predicted attribute flips when moved by 3 along the
  direction, towards the other class (and "both ends": the predictions at -3 and +3 differ the
  right way round);
* entanglement: the mean change in every attribute's probability from -3 to +3;
* the best raw dimension for each attribute (the one z coordinate that moves it most, screened
  on --screen faces), and its flip rate, for comparison;
* what each label-free component changes most;
* a strip per direction (rows: faces; columns: -3 ... +3) in --out.
--record writes the figures into directions.json and a "## Directions" section of the model card.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from gan_core.analysis.attributes import load_classifier  # noqa: E402
from gan_core.model.checkpoints import load_gan  # noqa: E402
from gan_core.editing.directions import DIRECTIONS_INFO, LABEL_FREE, load_directions, read_info, save_directions, walk  # noqa: E402
from gan_core.data.media import make_grid, save_image, upscale  # noqa: E402
from gan_core.training.model_card import write_sections  # noqa: E402

SPAN = 3.0
STRIP_VALUES = (-3, -2, -1, 0, 1, 2, 3)
SHORT = {"Male": "Male", "Young": "Young", "Eyeglasses": "Glasses", "Smiling": "Smile", "Blond_Hair": "Blond",
         "Black_Hair": "Black", "Bald": "Bald", "Mustache": "Moust.", "Wearing_Hat": "Hat", "Bangs": "Bangs",
         "Heavy_Makeup": "Makeup", "No_Beard": "NoBeard", "Pale_Skin": "Pale", "Mouth_Slightly_Open": "Mouth"}


def classify(gan, classifier, z: torch.Tensor) -> torch.Tensor:
    return classifier.predict(gan.generate(z))


def ends(gan, classifier, z, vector) -> tuple[torch.Tensor, torch.Tensor]:
    """Attribute probabilities at z - SPAN * v and z + SPAN * v."""
    v = vector.to(z.dtype)
    both = classify(gan, classifier, torch.cat([z - SPAN * v, z + SPAN * v]))
    return both[:len(z)], both[len(z):]


def flip_rates(p0, p_minus, p_plus, k: int) -> dict:
    """Flip rates for attribute k, whichever way the direction points."""
    up = float((p_plus[:, k] - p_minus[:, k]).mean()) >= 0
    hi, lo = (p_plus, p_minus) if up else (p_minus, p_plus)  # the ends with more / less of it
    has = p0[:, k] > 0.5
    towards_other = torch.where(has, lo[:, k] < 0.5, hi[:, k] > 0.5)
    both = (hi[:, k] > 0.5) & (lo[:, k] < 0.5)
    return {"flip": round(float(towards_other.float().mean()), 4), "both_ends": round(float(both.float().mean()), 4),
            "gain_per_unit": round(float((p_plus[:, k] - p_minus[:, k]).mean()) / (2 * SPAN), 4)}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--checkpoint", default="checkpoints/celeba64")
    p.add_argument("--faces", type=int, default=500)
    p.add_argument("--screen", type=int, default=100, help="faces for screening the raw dimensions")
    p.add_argument("--seed", type=int, default=1000, help="seed of the measured faces' z")
    p.add_argument("--out", default="bench/results/directions")
    p.add_argument("--record", action="store_true", help="write the figures into directions.json and the card")
    args = p.parse_args(argv)

    folder, out = Path(args.checkpoint), Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    gan = load_gan(folder)
    classifier = load_classifier(folder, gan.device)
    if classifier is None:
        print(f"{folder} has no attribute classifier: run find_directions.py --data ... first")
        return 2
    names, nz = classifier.names, gan.config.nz
    directions = load_directions(folder, nz)
    named = [d for d in directions if d.method in ("interfacegan", "conditional")]
    free = [d for d in directions if d.method in LABEL_FREE]
    z = torch.randn(args.faces, nz, generator=torch.Generator().manual_seed(args.seed))
    t0 = time.perf_counter()
    p0 = classify(gan, classifier, z)

    results: dict = {"faces": args.faces, "seed": args.seed, "span": SPAN, "named": {}, "raw": {}, "label_free": {}}
    print(f"{'direction':32s} {'attribute':12s} {'flip':>6s} {'both ends':>9s}")
    for d in named:
        k = names.index(d.quality["attribute"])
        p_minus, p_plus = ends(gan, classifier, z, d.vector)
        row = flip_rates(p0, p_minus, p_plus, k)
        row["attribute"] = d.quality["attribute"]
        row["changes"] = {n: round(float((p_plus[:, j] - p_minus[:, j]).mean()), 3) for j, n in enumerate(names)}
        results["named"][d.name] = row
        print(f"{d.name:32s} {row['attribute']:12s} {row['flip']:6.1%} {row['both_ends']:9.1%}")
        seeds_z = torch.randn(6, nz, generator=torch.Generator().manual_seed(7))
        strip = torch.cat([walk(zi, d, STRIP_VALUES) for zi in seeds_z])
        images = [upscale(im, 96, smooth=True) for im in gan.generate(strip)]
        save_image(make_grid(images, nrow=len(STRIP_VALUES)), out / f"{d.name.split(',')[0].lower().replace(' ', '_')}"
                   f"{'_kept' if d.method == 'conditional' else ''}.jpg")

    # the best single raw dimension per attribute, screened on a few faces, then measured on all
    zs = z[:args.screen]
    ps = classify(gan, classifier, zs)
    gains = torch.zeros(nz, len(names))
    for j in range(nz):
        e = torch.zeros(nz)
        e[j] = 1
        lo, hi = ends(gan, classifier, zs, e)
        gains[j] = (hi - lo).mean(0)
    for d in named:
        attribute = d.quality["attribute"]
        if d.method != "interfacegan" or attribute in results["raw"]:
            continue
        k = names.index(attribute)
        j = int(gains[:, k].abs().argmax())
        e = torch.zeros(nz)
        e[j] = 1
        row = flip_rates(p0, *ends(gan, classifier, z, e), k)
        results["raw"][attribute] = {"dimension": j, **row}
    for d in free:
        lo, hi = ends(gan, classifier, zs, d.vector)
        change = (hi - lo).mean(0)
        top = change.abs().argsort(descending=True)[:3].tolist()
        results["label_free"][d.name] = {names[k]: round(float(change[k]), 3) for k in top}
    del ps
    results["seconds"] = round(time.perf_counter() - t0, 1)

    # tables
    lines = ["| direction | attribute | flip rate (move 3 towards the other class) | both ends differ | "
             "best raw dimension: flip rate |", "|---|---|---|---|---|"]
    for name, row in results["named"].items():
        raw = results["raw"].get(row["attribute"])
        raw_text = f"dim {raw['dimension']}: {raw['flip']:.1%}" if raw else ""
        lines.append(f"| {name} | {row['attribute']} | **{row['flip']:.1%}** | {row['both_ends']:.1%} | {raw_text} |")
    flips = "\n".join(lines)
    head = "| direction | " + " | ".join(SHORT.get(n, n) for n in names) + " |"
    lines = [head, "|---|" + "---|" * len(names)]
    for name, row in results["named"].items():
        lines.append(f"| {name} | " + " | ".join(f"{row['changes'][n]:+.2f}" for n in names) + " |")
    entanglement = "\n".join(lines)
    free_text = "\n".join(f"- {name}: " + ", ".join(f"{k} {v:+.2f}" for k, v in row.items())
                          for name, row in results["label_free"].items())
    print("\n" + flips + "\n\nEntanglement (mean change of each attribute's probability from -3 to +3):\n\n"
          + entanglement + "\n\nLabel-free components, what they change most:\n" + free_text)
    (out / "results.json").write_text(json.dumps(results, indent=1) + "\n")
    print(f"\n{args.faces} faces, {results['seconds']:.0f} s; strips and results.json in {out}")

    if args.record:
        info = read_info(folder)
        for d in directions:
            if d.name in results["named"]:
                d.quality.update({k: v for k, v in results["named"][d.name].items() if k != "changes"})
            if d.name in results["label_free"]:
                d.quality["changes"] = results["label_free"][d.name]
        extra = {k: v for k, v in info.items() if k != "directions"}
        extra["measured"] = {"faces": args.faces, "seed": args.seed, "span": SPAN, "raw": results["raw"]}
        save_directions(folder, directions, extra)
        accuracy = info.get("classifier_test_accuracy", {})
        acc_text = ", ".join(f"{n} {a['accuracy']:.1%} (balanced {a['balanced_accuracy']:.1%})"
                             for n, a in accuracy.items())
        section = f"""`directions.safetensors` + `{DIRECTIONS_INFO}` hold directions in z for the studio's sliders
(`python find_directions.py`): SeFa and GANSpace-style PCA (label-free), and named ones fitted
InterFaceGAN-style on {info.get('fit', {}).get('samples', '?')} generated faces labelled by
`attributes.safetensors`, a small classifier trained on the real `train` faces and their CelebA
attribute labels (derived data too: the CelebA terms above apply to it and to the directions). Its accuracy on the
labelled `test` faces: {acc_text}.

Measured by `python bench/directions.py` on {args.faces} other random faces (z seed {args.seed}),
moving each face by {SPAN:g} along the direction:

{flips}

Entanglement: the mean change of each attribute's predicted probability from -{SPAN:g} to +{SPAN:g}:

{entanglement}
"""
        card = write_sections(folder, {"Directions": section})
        print(f"recorded in {folder / DIRECTIONS_INFO} and {card}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
