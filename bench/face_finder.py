"""Does the face finder refuse what is not a face, and find the faces that are? And where does the
face recognition model put likeness on this data?

    $ pip install scikit-image                       # the non-face pictures (bench/requirements.txt)
    $ python bench/face_finder.py --data ../shared/data/celeba64.zip --digits ../shared/data/mnist28.zip
    $ python bench/face_finder.py ... --likeness 0   # skip the (slow) likeness baselines

Non-faces (no person's face in any): skimage.data's pictures that are not of people (chelsea the
cat, coffee, rocket, coins, horse, brick, grass, gravel, moon, text, page, clock, Hubble deep field,
...; public domain or CC0 per skimage's data README), each whole, at 800 px, a crop upscaled 2x,
turned, and in grey; procedural pictures (noise, blurred noise, gradients, shapes, checkerboards);
MNIST test digits upscaled 8-16x. Any face found in them is a false face.

Real faces: held-out CelebA `test` faces (64x64) pasted by align.paste into 512 px photos whose
backgrounds are those non-face pictures, at 1.5-4x, turned in-plane up to +-30 degrees (their
yaw is CelebA's own), by group: any face, glasses (attribute Eyeglasses), hats (Wearing_Hat),
beards (No_Beard = -1), and any face in grey. Eye error: the mean distance, at 64x64, between
where the found crop puts the eyes and CelebA's official eye places (align.EYES_64).
"""
from __future__ import annotations

import argparse
import csv
import io
import json
import sys
import time
import zipfile
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from gan_core.photos.align import Aligner, NoFace, eye_error, paste  # noqa: E402
from gan_core.photos.likeness import CLOSE, SAME_PERSON, descriptors, distance  # noqa: E402

PICTURES = ("chelsea", "coffee", "rocket", "coins", "horse", "brick", "grass", "gravel", "moon", "text", "page",
            "clock", "hubble_deep_field", "immunohistochemistry", "cell", "logo", "retina", "colorwheel",
            "shepp_logan_phantom", "stereo_motorcycle", "binary_blobs", "checkerboard", "microaneurysms")
GROUPS = {"any": lambda r: True, "glasses": lambda r: r["Eyeglasses"] == "1",
          "hats": lambda r: r["Wearing_Hat"] == "1", "beards": lambda r: r["No_Beard"] == "-1", "grey": lambda r: True}


def rgb(x) -> np.ndarray:
    x = x[0] if isinstance(x, tuple) else x
    if x.dtype == bool:
        x = x.astype(np.uint8) * 255
    if x.dtype != np.uint8:
        x = (255 * (x - x.min()) / max(np.ptp(x), 1e-9)).astype(np.uint8)
    x = np.repeat(x[..., None], 3, 2) if x.ndim == 2 else x
    return np.ascontiguousarray(x[..., :3])


def grey(x: np.ndarray) -> np.ndarray:
    return np.repeat(cv2.cvtColor(x, cv2.COLOR_RGB2GRAY)[..., None], 3, 2)


def variants(x: np.ndarray, rng) -> list[tuple[str, np.ndarray]]:
    h, w = x.shape[:2]
    s = 800 / max(h, w)
    c = min(h, w) // 2
    y0, x0 = rng.integers(0, h - c + 1), rng.integers(0, w - c + 1)
    turn = cv2.getRotationMatrix2D((w / 2, h / 2), float(rng.choice([-20, 15, 90])), 1.0)
    return [("whole", x), ("800px", cv2.resize(x, None, fx=s, fy=s, interpolation=cv2.INTER_CUBIC)),
            ("crop x2", cv2.resize(x[y0:y0 + c, x0:x0 + c], (2 * c, 2 * c), interpolation=cv2.INTER_CUBIC)),
            ("turned", cv2.warpAffine(x, turn, (w, h), borderMode=cv2.BORDER_REFLECT)), ("grey", grey(x))]


def procedural(rng) -> list[tuple[str, np.ndarray]]:
    out = []
    yy, xx = np.mgrid[:400, :400]
    for i in range(6):
        out.append((f"noise {i}", rng.integers(0, 256, (300 + 50 * i, 400, 3), dtype=np.uint8)))
        b = cv2.GaussianBlur(rng.integers(0, 256, (400, 400, 3), dtype=np.uint8), (0, 0), 2 + 3 * i)
        out.append((f"blurred noise {i}", cv2.normalize(b, None, 0, 255, cv2.NORM_MINMAX)))
        g = (np.linspace(0, 1, 400)[None, :, None] * rng.uniform(0, 255, 3)
             + np.linspace(0, 1, 300)[:, None, None] * rng.uniform(0, 255, 3))
        out.append((f"gradient {i}", np.clip(g / 2 + rng.uniform(0, 60), 0, 255).astype(np.uint8)))
        c = np.full((400, 400, 3), rng.integers(0, 256, 3), np.uint8)
        for _ in range(8 + 4 * i):
            colour, p = tuple(int(v) for v in rng.integers(0, 256, 3)), tuple(int(v) for v in rng.integers(0, 400, 2))
            if rng.random() < 0.5:
                cv2.circle(c, p, int(rng.integers(5, 80)), colour, -1)
            else:
                cv2.rectangle(c, p, tuple(int(v) for v in rng.integers(0, 400, 2)), colour, -1)
        out.append((f"shapes {i}", c))
        k = 8 + 6 * i
        out.append((f"checkerboard {i}", grey(np.repeat(((yy // k + xx // k) % 2 * 255).astype(np.uint8)[..., None], 3, 2))))
    return out


def digits(path: str, count: int, rng) -> list[tuple[str, np.ndarray]]:
    with zipfile.ZipFile(path) as z:
        names = sorted(f for f in z.namelist() if f.endswith(".png"))[:count]
        out = []
        for name in names:
            x = np.array(Image.open(z.open(name)).convert("L"))
            s = int(rng.choice([8, 12, 16]))
            out.append((f"digit {Path(name).stem}", grey(np.repeat(cv2.resize(x, None, fx=s, fy=s, interpolation=cv2.INTER_CUBIC)[..., None], 3, 2))))
    return out


def non_faces(digit_zip: str | None, seed: int = 0) -> list[tuple[str, np.ndarray]]:
    import skimage.data

    rng = np.random.default_rng(seed)
    out = []
    for name in PICTURES:
        out += [(f"{name} {how}", x) for how, x in variants(rgb(getattr(skimage.data, name)()), rng)]
    out += procedural(rng)
    return out + (digits(digit_zip, 20, rng) if digit_zip else [])


def celeba_test(path: str, limit: int | None = None, keep=lambda r: True) -> np.ndarray:
    with zipfile.ZipFile(path) as z:
        rows = [r for r in csv.DictReader(io.TextIOWrapper(z.open("metadata.csv")))
                if r["split"] == "test" and keep(r)][:limit]
        return np.stack([np.array(Image.open(z.open("images/" + Path(r["file_name"]).name)).convert("RGB")) for r in rows])


def timed_align(aligner, photo):
    t0 = time.perf_counter()
    try:
        found = aligner.align(photo)
    except NoFace:
        found = None
    return found, time.perf_counter() - t0


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--data", default=str(ROOT.parent / "shared" / "data" / "celeba64.zip"))
    p.add_argument("--digits", default=str(ROOT.parent / "shared" / "data" / "mnist28.zip"))
    p.add_argument("--per-group", type=int, default=80, help="pasted faces per group")
    p.add_argument("--likeness", type=int, default=500, help="test faces for the likeness baselines (0: skip)")
    p.add_argument("--json", default=str(ROOT / "bench" / "results" / "face_finder.json"))
    args = p.parse_args(argv)
    aligner, results = Aligner(), {}
    timed_align(aligner, np.zeros((100, 100, 3), np.uint8))  # loads the models

    pictures = non_faces(args.digits if Path(args.digits).exists() else None)
    false, seconds = [], []
    for name, x in pictures:
        found, t = timed_align(aligner, x)
        seconds.append(t)
        if found is not None:
            false.append(name)
    results["non_faces"] = {"pictures": len(pictures), "false_faces": len(false), "which": false,
                            "ms_median": round(1000 * float(np.median(seconds))), "ms_max": round(1000 * max(seconds))}
    print(f"non-faces: {len(false)} false faces of {len(pictures)} {false} "
          f"({results['non_faces']['ms_median']} ms median, {results['non_faces']['ms_max']} ms max)", flush=True)

    rng = np.random.default_rng(1)
    backgrounds = [x for _, x in pictures]
    rows, all_errors, all_found = [], [], 0
    for group, keep in GROUPS.items():
        faces = celeba_test(args.data, args.per_group, keep)
        errors, seconds = [], []
        for face in faces:
            photo, pasted = paste(face, rng, canvas=512, scales=(1.5, 4.0), degrees=30,
                                  background=backgrounds[rng.integers(len(backgrounds))])
            found, t = timed_align(aligner, grey(photo) if group == "grey" else photo)
            seconds.append(t)
            if found is not None:
                errors.append(eye_error(found.matrix, pasted, 64))
        e = np.array(errors)
        row = {"group": group, "faces": len(faces), "found": len(e), "found_rate": round(len(e) / len(faces), 4),
               "eye_error_mean_px": round(float(e.mean()), 3), "eye_error_median_px": round(float(np.median(e)), 3),
               "eye_error_p95_px": round(float(np.percentile(e, 95)), 3), "ms_median": round(1000 * float(np.median(seconds)))}
        rows.append(row)
        all_errors += errors
        all_found += len(e)
    total = sum(r["faces"] for r in rows)
    rows.append({"group": "all", "faces": total, "found": all_found, "found_rate": round(all_found / total, 4),
                 "eye_error_mean_px": round(float(np.mean(all_errors)), 3),
                 "eye_error_median_px": round(float(np.median(all_errors)), 3),
                 "eye_error_p95_px": round(float(np.percentile(all_errors, 95)), 3),
                 "ms_median": round(float(np.median([r["ms_median"] for r in rows])))})
    results["real_faces"] = rows
    print("\n| group | faces | found | eye error mean / median / p95 (px at 64x64) | ms median |\n|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['group']} | {r['faces']} | {r['found']} ({r['found_rate']:.1%}) | {r['eye_error_mean_px']:.2f} / "
              f"{r['eye_error_median_px']:.2f} / {r['eye_error_p95_px']:.2f} | {r['ms_median']} |")

    import skimage.data

    singles = {"astronaut (skimage, NASA, public domain)": skimage.data.astronaut(),
               "camera (skimage, a man side-on)": rgb(skimage.data.camera())}
    try:
        import matplotlib

        hopper = Path(matplotlib.get_data_path()) / "sample_data" / "grace_hopper.jpg"
    except ImportError:
        hopper = None
    if hopper and hopper.exists():
        singles["grace_hopper (matplotlib sample data, public domain)"] = np.array(Image.open(hopper).convert("RGB"))
    results["portraits"] = {}
    for name, x in singles.items():
        s = 800 / max(x.shape[:2])
        x800 = cv2.resize(x, None, fx=s, fy=s, interpolation=cv2.INTER_CUBIC)
        found, _ = timed_align(aligner, x800)
        times = [timed_align(aligner, x800)[1] for _ in range(5)]
        results["portraits"][name] = {"found": found is not None, "box_800px": found and list(found.box),
                                      "ms_800px_median": round(1000 * float(np.median(times)))}
        print(f"{name}: {'found ' + str(found.box) if found else 'no face'}; "
              f"{results['portraits'][name]['ms_800px_median']} ms at 800 px", flush=True)

    if args.likeness:
        faces = celeba_test(args.data, args.likeness)
        t0 = time.perf_counter()
        d = descriptors(faces)
        per_face = (time.perf_counter() - t0) / len(faces)
        n = len(faces) // 2 * 2
        strangers = distance(d[0:n:2], d[1:n:2])
        blurred = distance(d, descriptors(np.stack([cv2.GaussianBlur(f, (0, 0), 0.7) for f in faces])))
        results["likeness"] = {
            "faces": len(faces), "seconds_per_face": round(per_face, 3),
            "different_people_pairs": len(strangers), "different_median": round(float(np.median(strangers)), 3),
            "different_p5": round(float(np.percentile(strangers, 5)), 3),
            "different_under_same_person": round(float((strangers < SAME_PERSON).mean()), 4),
            "different_under_close": round(float((strangers < CLOSE).mean()), 4),
            "blurred_self_median": round(float(np.median(blurred)), 3),
            "blurred_self_p95": round(float(np.percentile(blurred, 95)), 3)}
        print("likeness:", json.dumps(results["likeness"]))
    Path(args.json).parent.mkdir(parents=True, exist_ok=True)
    Path(args.json).write_text(json.dumps(results, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
