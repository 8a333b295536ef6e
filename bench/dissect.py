"""Network dissection of the faces model's discriminator: which units are eye, mouth, hair... units.

    $ python bench/dissect.py --data ../shared/data/celeba64.zip
    $ python bench/dissect.py --data ../shared/data/celeba64.zip --agreed 17/24   # after looking

On the zip's held-out `test` split (gan_core.analysis.dissection): writes the unit table
(checkpoints/celeba64/units.json), a montage per feature of the named units' top faces with the
unit's map over them (--out, for the check by eye; real CelebA pixels, so kept out of git), the
part masks over 16 faces (masks.png), and the "## D's neurons, named" section of the model card,
whose by-eye line comes from --agreed (how many of the sampled named units you agreed with).
"""
from __future__ import annotations

import argparse
import re
import sys
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageDraw

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from gan_core.analysis.dissection import (FEATURES, LABELS, PARTS, UnitTable, activations,  # noqa: E402
                                          display_scale, dissect, label_matrix, part_masks,
                                          unit_overlay)
from gan_core.data.images import load_images  # noqa: E402
from gan_core.data.media import save_image  # noqa: E402
from gan_core.model.checkpoints import load_gan  # noqa: E402
from gan_core.training.model_card import write_sections  # noqa: E402

HEADING = "D's neurons, named"
TILE = 80                      # pixels per face in the montages
ROWS = 16                      # named units per montage
MASK_COLOURS = np.array([[255, 0, 0], [0, 255, 0], [0, 0, 255], [255, 255, 0], [255, 0, 255], [0, 255, 255]],
                        np.float32)  # PARTS' order: eyes red, nose green, mouth blue, hair yellow, skin magenta, bg cyan


def masks_picture(images: np.ndarray) -> np.ndarray:
    """Each face beside its part masks (PARTS' colours, half over the face), 4 pairs a row, at 2x."""
    masks = part_masks(images)
    tiles = []
    for image, mask in zip(images, masks):
        over = image.astype(np.float32)
        for p in range(len(PARTS)):
            over = np.where(mask[p][..., None], 0.5 * over + 0.5 * MASK_COLOURS[p], over)
        tiles.append(np.concatenate([image, over.astype(np.uint8)], 1))
    rows = [np.concatenate(tiles[r:r + 4], 1) for r in range(0, len(tiles), 4)]
    return np.concatenate(rows, 0).repeat(2, 0).repeat(2, 1)


def montage(table: UnitTable, units: list, images: np.ndarray, index: dict, maps: list[torch.Tensor]) -> Image.Image:
    """One row per unit: its name and score, then its top faces with its map over them."""
    label_w = 170
    sheet = Image.new("RGB", (label_w + 8 * TILE, TILE * len(units)), "white")
    draw = ImageDraw.Draw(sheet)
    for row, u in enumerate(units):
        what = f"iou {u.iou:.2f}" if u.kind == "part" else f"auc {u.auc:.2f}"
        draw.text((4, row * TILE + 8), f"L{u.layer} unit {u.unit}\n{u.name}\n{what}", fill="black")
        faces = [index[celeba_id] for celeba_id in u.top]
        unit_maps = maps[u.layer - 1][faces, u.unit].float().numpy()
        scale = display_scale(u, unit_maps)
        for col, i in enumerate(faces):
            tile = unit_overlay(images[i], unit_maps[col], scale, TILE)
            sheet.paste(Image.fromarray(tile), (label_w + col * TILE, row * TILE))
    return sheet


def sample_units(table: UnitTable, feature: str, count: int = ROWS) -> list:
    """The named units of a feature (or of "other": the rest), strongest first, spread over the layers."""
    picks = [u for layer in range(1, len(table.layers) + 1) for u in table.named(layer)
             if (u.feature if u.feature in FEATURES + ("nose", "skin", "background") else "other") == feature]
    by_layer: dict[int, list] = {}
    for u in picks:
        by_layer.setdefault(u.layer, []).append(u)
    out = []
    while len(out) < count and any(by_layer.values()):  # round robin over the layers
        for layer in sorted(by_layer):
            if by_layer[layer] and len(out) < count:
                out.append(by_layer[layer].pop(0))
    return out


def card_section(table: UnitTable, seconds: float, agreed: str | None) -> str:
    s = table.settings
    q = s["quantiles"]
    lines = [
        f"Network dissection (Bau et al. 2017) of D on the {s['faces']:,} held-out `test` faces of "
        f"{s.get('data', 'celeba64.zip')} ({s['labelled']:,} with CelebA labels), by `bench/dissect.py` "
        f"in {seconds:.0f} s on one CPU thread; the table is `units.json`.",
        "",
        "- Parts: eyes, nose and mouth are fixed ellipses at CelebA's landmark places; skin (pixels of the face oval "
        "and neck coloured like the cheeks), hair (pixels above or beside the face closer in colour to the top of "
        "the head than to the top corners) and background (the rest) are read from each face.",
        f"- A unit's map is upsampled (bilinear) to 64x64 and cut, for each part, at the top quantile of its "
        f"activations equal to that part's share of the pixels: eyes {q['eyes']:.1%}, nose {q['nose']:.1%}, mouth "
        f"{q['mouth']:.1%}, hair {q['hair']:.1%}, skin {q['skin']:.1%}, background {q['background']:.1%} "
        f"(Bau's fixed 0.5% would cap an eye unit's IoU at 0.12). IoU summed over {s['iou_faces']} evenly spaced faces.",
        f"- Named by its best part when IoU >= {s['min_iou']} and at least twice the IoU of a map of the same size "
        f"dropped at random (background {s['chance_iou']['background']:.2f}, skin {s['chance_iou']['skin']:.2f}, "
        f"hair {s['chance_iou']['hair']:.2f}, eyes {s['chance_iou']['eyes']:.2f}); else by its best label when the AUC "
        f"of its mean activation is >= {s['min_auc']} (\"not X\" when it fires less on faces with X).",
        "- Eye units include eyeglasses units; mouth units include smiling and mouth-open units; hair units include "
        "hair-colour and bangs units (shown as part / label). A \"not X\" unit counts for no feature.",
        "",
        "| layer | units | named | eyes | mouth | hair | nose | skin | background | other labels |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    totals = {f: [0, 0] for f in FEATURES}
    for number, units in enumerate(table.layers, start=1):
        named = [u for u in units if u.name]
        cell = {}
        for f in (*FEATURES, "nose", "skin", "background"):
            part = sum(u.kind == "part" and u.feature == f for u in named)
            label = sum(u.kind == "label" and u.feature == f for u in named)
            cell[f] = f"{part} / {label}" if f in FEATURES else str(part)
            if f in totals:
                totals[f][0] += part
                totals[f][1] += label
        other = sum(not u.feature for u in named)
        lines.append(f"| {number} | {len(units)} | {len(named)} | {cell['eyes']} | {cell['mouth']} | {cell['hair']} | "
                     f"{cell['nose']} | {cell['skin']} | {cell['background']} | {other} |")
    labels = {}
    for units in table.layers:
        for u in units:
            if u.kind == "label":
                labels[u.name] = labels.get(u.name, 0) + 1
    over = []
    for j, name in enumerate(LABELS):
        high = sum(int((a[:, j] >= table.settings["min_auc"]).sum()) for a in table.matrices.get("auc", []))
        low = sum(int((a[:, j] <= 1 - table.settings["min_auc"]).sum()) for a in table.matrices.get("auc", []))
        best = max((float(np.nanmax(np.abs(a[:, j] - 0.5))) for a in table.matrices.get("auc", [])), default=0) + 0.5
        over.append(f"{name} {high} + {low} not (best {best:.2f})")
    met = all(sum(totals[f]) >= 3 for f in FEATURES)
    lines += ["", "Label units by label: " + (", ".join(f"{k} {v}" for k, v in sorted(labels.items(), key=lambda kv: -kv[1]))
                                           or "none") + ".",
              "", "Best IoU of any unit with each part (layer): " + "; ".join(
                  f"{part} {max(float(a[:, k].max()) for a in table.matrices['iou']):.3f} "
                  f"(layer {1 + int(np.argmax([a[:, k].max() for a in table.matrices['iou']]))})"
                  for k, part in enumerate(PARTS)) + ".",
              "", "Units whose AUC passes for a label, whatever their name (a unit is named by its best label): " +
              "; ".join(over) + ".",
              "", "Target (at least 3 units each for eyes, mouth and hair): " +
              ", ".join(f"{f} {sum(totals[f])} ({totals[f][0]} by part, {totals[f][1]} by label)" for f in FEATURES) +
              (": met." if met else ": **not met**."),
              "", f"By eye: {agreed_line(agreed)}"]
    return "\n".join(lines)


def agreed_line(agreed: str | None) -> str:
    if not agreed:
        return "not judged yet (run `bench/dissect.py --agreed N/M` after looking at the montages)."
    n, m = (int(v) for v in agreed.split("/"))
    return (f"of {m} named units in the montages (their top 8 faces with the map over them), {n} looked right: "
            f"for a part unit, its map sits on that part; for a label unit, at least 6 of its 8 top faces show "
            f"the label (hair colour judged by lightness, the montages being grey).")


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", required=True, help="celeba64.zip (its `test` split is dissected)")
    p.add_argument("--checkpoint", default="checkpoints/celeba64")
    p.add_argument("--out", default="bench/results/units", help="montages (real faces: not for git)")
    p.add_argument("--iou-faces", type=int, default=256, help="faces the IoUs are summed over")
    p.add_argument("--agreed", default=None, help="N/M: named units you agreed with by eye, of those sampled")
    args = p.parse_args(argv)
    if args.agreed and not re.fullmatch(r"\d+/\d+", args.agreed):
        p.error("--agreed takes N/M, e.g. 17/24")
    torch.set_num_threads(1)
    folder, out = Path(args.checkpoint), Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    gan = load_gan(folder, device="cpu")
    faces = load_images(args.data, gan.config.image_size, gan.config.channels, split="test")
    images = faces.images.permute(0, 2, 3, 1).numpy()
    ids = faces.metadata["celeba_id"]
    start = time.perf_counter()
    table = dissect(gan.D, images, ids, label_matrix(faces.metadata), iou_faces=args.iou_faces,
                    settings={"data": f"{Path(args.data).name} test split"})
    seconds = time.perf_counter() - start
    table.save(folder)
    save_image(masks_picture(images[np.linspace(0, len(images) - 1, 16).round().astype(int)]), out / "masks.png")
    maps, index = activations(gan.D, images), {celeba_id: i for i, celeba_id in enumerate(ids)}
    for feature in (*FEATURES, "nose", "skin", "background", "other"):
        units = sample_units(table, feature)
        if units:
            montage(table, units, images, index, maps).save(out / f"{feature}.png")
    write_sections(folder, {HEADING: card_section(table, seconds, args.agreed)})
    print(card_section(table, seconds, args.agreed))
    return 0


if __name__ == "__main__":
    sys.exit(main())
