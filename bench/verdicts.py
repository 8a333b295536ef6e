"""What D's number means, per shipped model: D's scores on held-out real images and on fresh fakes
(checkpoints/<model>/d_readings.json, read by the Ask D tab), and no number for a picture without a face.

    $ python bench/verdicts.py                       # both models: d_readings.json, the card sections
    $ python bench/verdicts.py --non-faces           # ... and the faces model's refusal of non-faces
    $ python bench/verdicts.py --model faces --non-faces --skip-readings   # the refusal alone

Readings (gan_core.analysis.verdicts.measure): D's logit on every held-out real image (faces:
celeba64.zip's `test` split, 1,572; digits: the 2,000 MNIST digits in checkpoints/mnist32/
heldout_digits.npz that the model never saw) and on FAKES fresh fakes, seeds 6,000,000 onwards, at
the truncation the studio opens the model at (faces: psi 0.8, the gallery's; digits: its config's
psi 1) and, for the faces, at psi 1 as well (card only). Kept as 1,001 sorted quantiles each;
the balanced accuracy of D at the threshold that best tells the two sets apart.

--non-faces (the faces model): the Ask D tab's own path for an upload, gan_core.analysis.verdicts.
judge(gan, load_photo(file), aligner, readings), over bench/face_finder.py's non-face pictures
(skimage pictures five ways, procedural pictures, MNIST digits upscaled; each sent as a PNG
file's bytes, as an upload is) and tests/data's coffee.jpg and chelsea.jpg: how many get a number
(target 0). Then PASTED held-out real faces pasted into 512 px photos (align.paste: 1.5-4x, turned
up to 30 degrees, on those pictures): how many get a number, and D's reading of their aligned crops
beside its reading of the same faces as CelebA cropped them.

Results: bench/results/verdicts.json; the card section "What D's number means" of each model.
"""
from __future__ import annotations

import argparse
import io
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from gan_core.model.checkpoints import load_tensors, tensors_digest  # noqa: E402
from gan_core.analysis.verdicts import (READINGS_NAME, Readings, judge, load_readings, logits,  # noqa: E402
                                        measure, save_readings)
from gan_core.data.images import load_images  # noqa: E402
from gan_core.data.uploads import load_photo  # noqa: E402
from gan_core.model.checkpoints import load_gan  # noqa: E402
from gan_core.photos.align import Aligner, paste  # noqa: E402
from gan_core.training.live import load_live_digits  # noqa: E402
from gan_core.training.model_card import write_sections  # noqa: E402

MODELS = {"faces": ROOT / "checkpoints" / "celeba64", "digits": ROOT / "checkpoints" / "mnist32"}
STUDIO_PSI = 0.8        # studio.state.CONFIG.default_psi: the truncation a model opens at unless its config says
KEPT_SIDE = 800         # studio.photos.KEPT_SIDE: an upload is shrunk to this before the face finder looks
RESULTS = ROOT / "bench" / "results" / "verdicts.json"
HEADING = "What D's number means"
LEVELS_SHOWN = (0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99)


def sigmoid(x: float) -> float:
    return float(1 / (1 + np.exp(-x)))


def digest(path: Path) -> str:
    """The digest of the weights in `path` (its tensors, whatever its metadata says)."""
    return tensors_digest(load_tensors(path)[0])


def studio_psi(gan) -> float:
    return float(gan.config.extra.get("psi", STUDIO_PSI))


def real_images(kind: str, folder: Path, data: str) -> tuple[np.ndarray, str]:
    if kind == "digits":
        return load_live_digits(folder / "heldout_digits.npz").permute(0, 2, 3, 1).numpy(), \
            "heldout_digits.npz (MNIST test digits the model never saw)"
    faces = load_images(data, 64, 3, split="test")
    return faces.images.permute(0, 2, 3, 1).numpy(), "celeba64.zip test split"


def readings_of(kind: str, folder: Path, data: str, fakes: int) -> Readings:
    gan = load_gan(folder, device="cpu")
    real, what = real_images(kind, folder, data)
    psi = studio_psi(gan)
    others = (1.0,) if psi != 1.0 else ()
    t = time.perf_counter()
    readings = measure(gan, real, psi, fakes, others, what,
                       {"name": gan.config.name, "discriminator_sha256": digest(folder / "discriminator.safetensors")})
    print(f"{kind}: {readings.real.count} real, {readings.fake.count} fakes at psi {psi:g}"
          f"{' and psi 1' if others else ''}: balanced accuracy {readings.balanced_accuracy:.4f} at "
          f"P(real) > {sigmoid(readings.threshold):.3f} ({time.perf_counter() - t:.0f} s)", flush=True)
    return readings


def as_upload(picture: np.ndarray) -> np.ndarray:
    """A picture as the tab reads an uploaded file of it: PNG bytes through load_photo."""
    buffer = io.BytesIO()
    Image.fromarray(picture).save(buffer, format="PNG")
    return load_photo(buffer.getvalue(), max_side=KEPT_SIDE)


def non_faces_run(data: str, digits_zip: str, pasted: int) -> dict:
    from face_finder import celeba_test, non_faces

    folder = MODELS["faces"]
    gan, readings = load_gan(folder, device="cpu"), load_readings(folder)
    aligner = Aligner(np.zeros((gan.config.image_size,) * 2 + (3,), np.uint8))
    pictures = non_faces(digits_zip if Path(digits_zip).exists() else None)
    t = time.perf_counter()
    numbered = []
    for name, picture in pictures:
        if judge(gan, as_upload(picture), aligner, readings).found:
            numbered.append(name)
    for name in ("coffee.jpg", "chelsea.jpg"):  # the files themselves, as uploaded
        pictures.append((name, None))
        if judge(gan, load_photo(ROOT / "tests" / "data" / name, max_side=KEPT_SIDE), aligner, readings).found:
            numbered.append(name)
    seconds = time.perf_counter() - t
    print(f"non-faces: {len(numbered)} of {len(pictures)} got a number {numbered} ({seconds:.0f} s)", flush=True)

    rng = np.random.default_rng(1)
    backgrounds = [x for _, x in pictures if x is not None]
    faces = celeba_test(data, pasted)
    crops, direct = [], logits(gan, faces)
    for face in faces:
        photo, _ = paste(face, rng, canvas=512, scales=(1.5, 4.0), degrees=30,
                         background=backgrounds[rng.integers(len(backgrounds))])
        judged = judge(gan, as_upload(photo), aligner, readings)
        crops.append(judged.reading if judged.found else None)
    found = [r for r in crops if r is not None]
    same = [d for d, r in zip(direct, crops) if r is not None]
    out = {"non_faces": len(pictures), "non_faces_numbered": len(numbered), "which": numbered,
           "seconds": round(seconds), "real_faces": len(faces), "real_faces_numbered": len(found),
           "crop_p_median": round(float(np.median([r.probability for r in found])), 4),
           "crop_below_real_median": round(float(np.median([r.below_real for r in found])), 4),
           "crop_fake_share": round(float(np.mean([r.below_real < 0.05 for r in found])), 4),
           "celeba_p_median": round(float(np.median([sigmoid(d) for d in same])), 4),
           "celeba_below_real_median": round(float(np.median([readings.real.share_below(d) for d in same])), 4)}
    print(f"pasted real faces: {len(found)} of {len(faces)} got a number; D's P(real) median "
          f"{out['crop_p_median']:.3f} on their aligned crops, {out['celeba_p_median']:.3f} on CelebA's crops", flush=True)
    return out


def card_section(kind: str, readings: Readings, refusal: dict | None) -> str:
    things = "digits" if kind == "digits" else "faces"
    sets = [("held-out real " + things, readings.real), (f"fresh fakes, psi {readings.fake.psi:g}", readings.fake),
            *[(f"fresh fakes, psi {o.psi:g}", o) for o in readings.others]]
    rows = "\n".join(f"| {name} ({s.count:,}) | " + " | ".join(f"{sigmoid(s.quantile(q)):.3f}" for q in LEVELS_SHOWN)
                     + " |" for name, s in sets)
    text = f"""Measured by `python bench/verdicts.py{' --non-faces' if refusal else ''}`; shipped as `{READINGS_NAME}` (D's logit at 1,001 quantiles of each set), read by the Ask D tab (`gan_core.analysis.verdicts`).
D is the police of the training game: trained to tell this model's fakes from its training {things}, not a judge of {'handwriting' if kind == 'digits' else 'photographs'}. Its P(real) is not a calibrated probability, so the studio reads it against D's own scores on {things} it never trained on: {readings.real.what}, and fresh fakes ({readings.fake.what}, as the studio draws them).

D's P(real) at these quantiles of each set:

| set | 1% | 5% | 25% | 50% | 75% | 95% | 99% |
|---|---|---|---|---|---|---|---|
{rows}

D's balanced accuracy at its best threshold (P(real) > {sigmoid(readings.threshold):.3f}): **{readings.balanced_accuracy:.1%}** (real and fake at psi {readings.fake.psi:g}, measured on the very sets the threshold was chosen on, so it flatters D a little).
A reading says which share of each set D scores lower, and concludes: over 95% of the real {things}: D is surer than usual; 25-95% of them: like a typical real one; 5-25%: low for a real one, D leans towards fake; under 5%: D takes it for a fake (under 5% of the fakes too: less real to D than nearly all its own fakes)."""
    if refusal:
        text += f"""

**No number without a face.** The tab's own path (`judge`: the face finder, then D on the aligned crop) over {refusal['non_faces']} non-face pictures (bench/face_finder.py's set, each sent as an uploaded PNG, and tests/data's coffee.jpg and chelsea.jpg): **{refusal['non_faces_numbered']} of {refusal['non_faces']}** got a number. Over {refusal['real_faces']} held-out real faces pasted into photos: **{refusal['real_faces_numbered']} of {refusal['real_faces']}** got one. On their aligned crops D's median P(real) is {refusal['crop_p_median']:.3f} (the median crop scores above {refusal['crop_below_real_median']:.0%} of held-out real faces; {refusal['crop_fake_share']:.0%} fall under 5% of them), against {refusal['celeba_p_median']:.3f} (above {refusal['celeba_below_real_median']:.0%}) on the same faces as CelebA cropped them."""
    return text


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--model", choices=["faces", "digits", "both"], default="both")
    p.add_argument("--data", default=str(ROOT.parent / "shared" / "data" / "celeba64.zip"))
    p.add_argument("--digits", default=str(ROOT.parent / "shared" / "data" / "mnist28.zip"),
                   help="MNIST digits upscaled among the non-faces")
    p.add_argument("--fakes", type=int, default=5000, help="fresh fakes per truncation")
    p.add_argument("--non-faces", action="store_true", help="measure the faces model's refusal of non-faces")
    p.add_argument("--pasted", type=int, default=100, help="held-out real faces pasted into photos")
    p.add_argument("--skip-readings", action="store_true", help="keep the shipped d_readings.json")
    args = p.parse_args(argv)
    torch.set_num_threads(1)
    results = json.loads(RESULTS.read_text()) if RESULTS.is_file() else {}
    kinds = ["faces", "digits"] if args.model == "both" else [args.model]
    for kind in kinds:  # not under torch.inference_mode: judge() takes D's gradient, as the tab does
        if not args.skip_readings:
            readings = readings_of(kind, MODELS[kind], args.data, args.fakes)
            save_readings(MODELS[kind], readings)
            results[kind] = {k: v for k, v in readings.to_json().items() if k not in ("real", "fake", "others")}
        if kind == "faces" and args.non_faces:
            results["refusal"] = non_faces_run(args.data, args.digits, args.pasted)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=1) + "\n")
    for kind in kinds:
        readings = load_readings(MODELS[kind])
        write_sections(MODELS[kind], {HEADING: card_section(kind, readings, results.get("refusal") if kind == "faces"
                                                            else None)})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
