"""Is a photo found in the model still the same person? Likeness, PSNR, edits and time on the held-out
`test` faces (already aligned), one photo at a time as the studio finds them.

    $ python bench/inversion.py                                   # 500 test faces, about 40 min on 1 core
    $ python bench/inversion.py --faces 48 --threads 2            # a quick look
    $ python bench/inversion.py --record                          # the figures into the model card

Two ways to find a face, each on the same photos:
* z alone: the encoder's guess refined by Adam on z (pixels + D's features + a prior), as before;
* z, then G tuned to the photo (pivotal tuning, gan_core.photos.tuning): what the studio does.
Figures:
* same person: dlib's ResNet face descriptor (gan_core.photos.likeness) on the crop and its
  reconstruction, upscaled alike; distance under 0.6 is the same person. Beside it the
  different-people baseline at the same resolution (disjoint pairs of test faces);
* PSNR of the reconstruction;
* edits: each named slider's flip rate on the reconstructions (a move of 3 towards the other class,
  read by the attribute classifier), against its rate on random faces (directions.json); and whether
  Smile +2 and Age +2 keep the same person (descriptor distance to the unedited reconstruction);
* time: seconds to find one photo (encoder, steps on z, tuning) on this CPU.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from gan_core.analysis.attributes import load_classifier  # noqa: E402
from gan_core.data.images import load_images  # noqa: E402
from gan_core.editing.directions import load_directions  # noqa: E402
from gan_core.editing.face import Face  # noqa: E402
from gan_core.model.checkpoints import load_gan  # noqa: E402
from gan_core.photos.encoder import load_encoder  # noqa: E402
from gan_core.photos.inversion import Settings, invert  # noqa: E402
from gan_core.photos.likeness import SAME_PERSON, descriptors, distance  # noqa: E402
from gan_core.photos.tuning import generate  # noqa: E402
from gan_core.training.model_card import write_sections  # noqa: E402

SPAN = 3.0               # a move towards the other class, as bench/directions.py measures flips
EDIT = 2.0               # Smile +2 and Age +2 must keep the same person
DEFAULT_SLIDERS = ("Age, gender kept", "Gender, glasses kept", "Glasses, gender kept", "Smile, gender kept")  # the Explore tab's
KEPT_EDITS = ("Smile", "Age")
METHODS = {"z alone (encoder + 60 steps on z)": Settings(steps=60, tune=None), "z + tuned G (the studio)": Settings()}


def psnr_all(a, b) -> np.ndarray:
    mse = ((a.astype(np.float64) - b.astype(np.float64)) ** 2).mean(axis=(1, 2, 3))
    return 10 * np.log10(255.0 ** 2 / np.maximum(mse, 1e-10))


def find_each(gan, faces, encoder, settings) -> dict:
    """Each face found alone (as a user's photo is), timed."""
    z, tuned, images, seconds = [], [], [], []
    for i in range(len(faces)):
        r = invert(gan, faces[i:i + 1], encoder, settings)
        z.append(r.z[0]), images.append(r.reconstructions[0]), seconds.append(r.seconds)
        tuned.append(r.tuned[0] if r.tuned else None)
        if (i + 1) % 50 == 0:
            print(f"  {i + 1}/{len(faces)} ({np.mean(seconds):.2f} s a photo)", flush=True)
    return {"z": torch.stack(z), "tuned": tuned, "images": np.stack(images), "seconds": np.array(seconds)}


@torch.inference_mode()
def flip_rate(gan, classifier, run, vector, k: int) -> float:
    """Share of faces whose attribute k flips when moved by SPAN towards the other class."""
    def probs(z):
        return classifier.predict(generate(gan, z, run["tuned"]))[:, k]
    z = run["z"]
    p0, lo, hi = probs(z), probs(z - SPAN * vector), probs(z + SPAN * vector)
    if float((hi - lo).mean()) < 0:
        lo, hi = hi, lo
    return float(torch.where(p0 > 0.5, lo < 0.5, hi > 0.5).float().mean())


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--checkpoint", default=str(ROOT / "checkpoints" / "celeba64"))
    p.add_argument("--data", default=str(ROOT.parent / "shared" / "data" / "celeba64.zip"))
    p.add_argument("--faces", type=int, default=500, help="held-out test faces (default 500)")
    p.add_argument("--baseline-faces", type=int, default=100, help="faces for z alone (slower: 60 steps of all of G)")
    p.add_argument("--threads", type=int, default=1, help="torch threads (the studio's photo finding uses 1)")
    p.add_argument("--json", default=str(ROOT / "bench" / "results" / "inversion" / "results.json"))
    p.add_argument("--record", action="store_true", help="write the figures into the model card (README.md)")
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)

    gan = load_gan(args.checkpoint, "cpu")
    encoder = load_encoder(args.checkpoint, gan.config)
    classifier = load_classifier(args.checkpoint)
    if encoder is None or classifier is None:
        raise SystemExit("need encoder.safetensors and attributes.safetensors")
    directions = {d.name: d for d in load_directions(args.checkpoint, gan.config.nz)}
    faces = load_images(args.data, gan.config.image_size, gan.config.channels, "test",
                        limit=args.faces).images.permute(0, 2, 3, 1).numpy()
    n = len(faces)
    print(f"{n} test faces, {args.threads} thread(s)", flush=True)
    invert(gan, faces[:1], encoder, Settings())  # warm-up: the first call pays for allocation

    real = descriptors(faces)
    half = n // 2
    strangers = distance(real[:half], real[half:2 * half])
    results = {"faces": n, "threads": args.threads,
               "different people": {"pairs": int(half), "median": round(float(np.median(strangers)), 3),
                                    "p5": round(float(np.percentile(strangers, 5)), 3),
                                    "under_0.6": round(float((strangers < SAME_PERSON).mean()), 4)}}
    print("different people:", results["different people"], flush=True)
    runs = {}
    for (name, settings), count in zip(METHODS.items(), (args.baseline_faces, n)):
        t0 = time.perf_counter()
        run = runs[name] = find_each(gan, faces[:count], encoder, settings)
        d = distance(real[:count], descriptors(run["images"]))
        psnr = psnr_all(run["images"], faces[:count])
        run["distance"] = d
        results[name] = {"faces": len(d), "same_person": round(float((d < SAME_PERSON).mean()), 4),
                         "median_distance": round(float(np.median(d)), 3),
                         "p90_distance": round(float(np.percentile(d, 90)), 3),
                         "psnr_db": round(float(psnr.mean()), 2), "psnr_p10_db": round(float(np.percentile(psnr, 10)), 2),
                         "seconds_p50": round(float(np.median(run["seconds"])), 3),
                         "seconds_p90": round(float(np.percentile(run["seconds"], 90)), 3)}
        print(f"{name}: {results[name]} ({time.perf_counter() - t0:.0f} s)", flush=True)

    # edits on the studio's reconstructions: flip rates of the named sliders, and same person after +2
    studio = runs["z + tuned G (the studio)"]
    plain = runs[next(iter(METHODS))]
    first = {k: v[:len(plain["z"])] for k, v in studio.items()}  # the studio's on the baseline's faces
    edits = {}
    for d in directions.values():
        attribute = d.quality.get("attribute")
        if attribute not in classifier.names or d.quality.get("flip") is None:
            continue
        k = classifier.names.index(attribute)
        edits[d.name] = {"random_faces": d.quality["flip"],
                         "z alone": round(flip_rate(gan, classifier, plain, d.vector, k), 4),
                         "studio": round(flip_rate(gan, classifier, studio, d.vector, k), 4),
                         "studio, same faces as z alone": round(flip_rate(gan, classifier, first, d.vector, k), 4)}
        print(f"{d.name:28s} flips: random {edits[d.name]['random_faces']:.3f}, z alone "
              f"{edits[d.name]['z alone']:.3f}, studio {edits[d.name]['studio']:.3f}", flush=True)
    results["flip rates"] = edits
    kept = {}
    for name in KEPT_EDITS:
        edited = np.stack([Face(z=z.tolist(), tuned=t, moves={name: EDIT}).render(gan, directions)
                           for z, t in zip(studio["z"], studio["tuned"])])
        d = distance(descriptors(studio["images"]), descriptors(edited))
        kept[name] = {"same_person": round(float((d < SAME_PERSON).mean()), 4), "median_distance": round(float(np.median(d)), 3)}
        print(f"{name} +{EDIT:g}: {kept[name]}", flush=True)
    results[f"same person after +{EDIT:g}"] = kept

    Path(args.json).parent.mkdir(parents=True, exist_ok=True)
    Path(args.json).write_text(json.dumps(results, indent=1) + "\n")
    print(f"wrote {args.json}")
    if args.record:
        card = write_sections(args.checkpoint, {"Photos: finding a face and keeping its likeness": card_section(results)})
        print(f"recorded in {card}")
    return 0


def card_section(r: dict) -> str:
    rows = "\n".join(f"| {m} | {r[m]['faces']} | {r[m]['same_person']:.1%} | {r[m]['median_distance']:.2f} | {r[m]['psnr_db']:.1f} | "
                     f"{r[m]['seconds_p50']:.2f} |" for m in METHODS)
    flips = "\n".join(f"| {name}{' (default slider)' if name in DEFAULT_SLIDERS else ''} | {row['random_faces']:.1%} | "
                      f"{row['z alone']:.1%} | {row['studio']:.1%} | {100 * (row['studio'] - row['random_faces']):+.1f} |"
                      for name, row in r["flip rates"].items())
    kept = "; ".join(f"{name} +{EDIT:g}: {row['same_person']:.1%} (median distance {row['median_distance']:.2f})"
                     for name, row in r[f"same person after +{EDIT:g}"].items())
    s = r["different people"]
    return f"""
A photo's face is found in two stages (`gan_core/photos/`): z, the encoder's guess (steps on z
add nothing once G is tuned, and cost time); then the last three layers of G are tuned to the
photo around that z for 40 Adam steps (pivotal tuning, Roich et al. 2021: pixels + D's first two
feature maps), with a locality term that keeps the tuned G drawing what the shipped G draws for
other faces. The tuned offsets (1.3 MB, in half precision) live in the session's memory only. The "z alone"
column is the studio before tuning (the encoder's guess refined by 60 steps on z), on the first
faces only.

Measured by `bench/inversion.py` on {r['faces']} held-out `test` faces (already aligned), each found
alone as a photo is, {r['threads']} CPU thread. "Same person": dlib's ResNet face descriptor puts the
crop and its reconstruction (both upscaled alike) under 0.6 apart. Different people at this
resolution: median {s['median']:.2f}, 5th percentile {s['p5']:.2f}, {s['under_0.6']:.1%} of {s['pairs']} pairs under 0.6.

| method | faces | same person | median distance | PSNR dB | s a photo (p50) |
|---|---|---|---|---|---|
{rows}

Named sliders on the reconstructions (share of faces whose attribute flips on a move of 3
towards the other class, read by the attribute classifier). Tuning keeps the photo's skin and
hair in G's last layers, so the sliders that change texture (beard, pale skin, moustache, hat)
flip fewer faces than on random faces:

| slider | random faces | z alone | studio | studio - random (points) |
|---|---|---|---|---|
{flips}

Edits keep the person: {kept}.
"""


if __name__ == "__main__":
    sys.exit(main())
