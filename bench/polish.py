"""Does D polish faces? FID, precision and recall with and without gan_core.editing.polish.

    $ python bench/polish.py --samples 500 --settings 10:0.3:0,20:0.3:0     # tune on a small sample
    $ python bench/polish.py --samples 2000 --settings 10:0.3:0 --record    # the card's figures
    $ python bench/polish.py --grid-only --settings 10:0.3:0                # just the seeds 0-15 pictures

Seeds 0..N-1 truncated to --psi (the studio's default, 0.8, through gan_core.model.latent.truncate),
drawn plain and polished with each --settings STEPS:STEP_SIZE:NOISE (gan_core.editing.polish.polish,
the same seeds and truncation), measured the way bench/quality.py --truncation measures (its Inception
network, input and statistics): FID against the `train` statistics of ../shared/data/celeba64-inception.npz,
and the improved precision and recall of Kynkaanniemi et al. 2019 (gan_core.analysis.metrics.precision_recall,
k=3) against the Inception features of --real random `train` faces (default: as many as --samples).
D's mean logit before and after, and the polished z's norms against the plain ones, are reported too.

Inception costs 0.1-0.4 s per image on a CPU, so the features of the real faces and of the plain
and polished ones are cached under --cache (a random permutation of `train` fixed by --seed, and
seeds 0..N-1: a later, larger run reuses the first N and computes only the rest).

Pictures (to --out, default bench/results/polish/): polish_pairs.png, seeds 0-15 at the studio's
defaults as pairs (plain | polished, the first --settings), and plain.png / polished.png, the same
faces as two 4x4 grids, for counting clearly acceptable faces by eye. Those counts are not measured
by a script: they live in by_eye.json (one verdict per seed, written by the person who looked),
and --record puts them with the figures into the model card's section "D polishes faces".
Results: polish.json (every figure, counts, timings).
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import numpy as np  # noqa: E402
import torch  # noqa: E402

import quality  # noqa: E402  (bench/quality.py: Inception, statistics, data)
from gan_core.analysis import metrics  # noqa: E402
from gan_core.data.media import make_grid, save_image, upscale  # noqa: E402
from gan_core.editing.polish import polish, polished_latents  # noqa: E402
from gan_core.model.checkpoints import load_gan, resolve  # noqa: E402
from gan_core.model.latent import truncate, z_from_seeds  # noqa: E402
from gan_core.training.model_card import write_sections  # noqa: E402

OUT = ROOT / "bench" / "results" / "polish"
CACHE = ROOT / "runs" / "polish-cache"   # runs/ is ignored by git
STUDIO_PSI = 0.8                          # the studio's opening truncation: studio/state.py CONFIG.default_psi
GRID_SEEDS = range(16)                    # the opening gallery
SECTION = "D polishes faces"


def parse_settings(text: str) -> list[tuple[int, float, float]]:
    out = []
    for part in text.split(","):
        steps, size, noise = part.split(":")
        out.append((int(steps), float(size), float(noise)))
    return out


def label(setting) -> str:
    steps, size, noise = setting
    return f"{steps} steps of {size:g}, noise {noise:g}"


def latents(nz: int, count: int, psi: float) -> torch.Tensor:
    return truncate(z_from_seeds(range(count), nz), psi)


def cached_features(cache: Path, name: str, count: int, images_of, model, device, batch: int) -> np.ndarray:
    """Inception features of the first `count` images of a fixed sequence, from `cache`/`name`.npy,
    computing only the ones it lacks (images_of(lo, hi) gives images lo..hi-1)."""
    path = cache / f"{name}.npy"
    have = np.load(path) if path.is_file() else np.zeros((0, 2048), np.float32)
    if len(have) < count:
        feats, speed = quality.features_of(model, images_of(len(have), count), device, batch,
                                           f"{name} {len(have)}-{count - 1}")
        print(f"  {name}: {count - len(have)} images through Inception at {speed:.2f} images/s", flush=True)
        have = np.concatenate([have, feats])
        cache.mkdir(parents=True, exist_ok=True)
        np.save(path, have)
    return have[:count]


def pictures(gan, setting, psi: float, out: Path) -> dict:
    """Seeds 0-15 plain and polished: pairs side by side, and two 4x4 grids for counting by eye."""
    steps, size, noise = setting
    z = latents(gan.config.nz, len(GRID_SEEDS), psi)
    start = time.perf_counter()
    plain = gan.generate(z)
    plain_s = time.perf_counter() - start
    start = time.perf_counter()
    result = polish(gan, z, steps, size, noise)
    polished = gan.generate(result.z)
    polished_s = time.perf_counter() - start
    start = time.perf_counter()
    gan.generate(polish(gan, z[:1], steps, size, noise).z)
    one_s = time.perf_counter() - start
    big = lambda images: np.stack([upscale(im, 128, smooth=True) for im in images])  # noqa: E731
    pairs = np.stack([make_grid(np.stack([a, b]), nrow=2, padding=2, pad_value=255)
                      for a, b in zip(big(plain), big(polished))])
    save_image(make_grid(pairs, nrow=4, padding=8, pad_value=255), out / "polish_pairs.png")
    save_image(make_grid(big(plain), nrow=4, padding=4, pad_value=255), out / "plain.png")
    save_image(make_grid(big(polished), nrow=4, padding=4, pad_value=255), out / "polished.png")
    return {"seeds": f"{GRID_SEEDS.start}-{GRID_SEEDS.stop - 1}", "psi": psi, "setting": label(setting),
            "d_probability_plain": [round(float(v), 3) for v in torch.sigmoid(result.logits_before)],
            "d_probability_polished": [round(float(v), 3) for v in torch.sigmoid(result.logits_after)],
            "images": ["polish_pairs.png", "plain.png", "polished.png"],
            "seconds": {"gallery_plain": plain_s, "gallery_polished": polished_s, "one_face_polished": one_s,
                        "note": "16 faces (the gallery) and one face, drawn on the CPU with one thread, "
                                "while the machine was shared"}}


def measure(args, gan, model, stats, device, train: np.ndarray) -> dict:
    n, n_real = args.samples, args.real or args.samples
    order = np.random.default_rng(args.seed).permutation(len(train))
    nz = gan.config.nz
    real = cached_features(args.cache, f"real-train-seed{args.seed}", n_real,
                           lambda lo, hi: train[order[lo:hi]], model, device, args.batch)
    plain = cached_features(args.cache, f"plain-psi{args.psi:g}", n,
                            lambda lo, hi: gan.generate(latents(nz, hi, args.psi)[lo:]), model, device, args.batch)

    def row(name, feats, extra=None):
        pr = metrics.precision_recall(real, feats, k=args.k)
        r = {"what": name, "fid_train": quality.fid_against(feats, stats, "train"), "precision": pr["precision"],
             "recall": pr["recall"], **(extra or {})}
        print(f"  {name:34s} FID {r['fid_train']:7.2f}  precision {r['precision']:.3f}  recall {r['recall']:.3f}",
              flush=True)
        return r

    rows = [row("plain", plain)]
    z = latents(nz, n, args.psi)
    for setting in args.settings:
        steps, size, noise = setting
        start = time.perf_counter()
        zp = polished_latents(gan, z, steps, size, noise, seed=args.seed)
        polish_s = time.perf_counter() - start
        feats = cached_features(args.cache, f"polished-psi{args.psi:g}-{steps}-{size:g}-{noise:g}-seed{args.seed}", n,
                                lambda lo, hi: gan.generate(zp[lo:hi]), model, device, args.batch)
        logits = lambda zz: torch.cat([gan.D(gan.G(c.to(gan.device))).flatten().cpu()  # noqa: E731
                                       for c in zz.split(256)])
        with torch.inference_mode():
            before, after = logits(z), logits(zp)
        norms = zp.norm(dim=1) / z.norm(dim=1).clamp_min(1e-12)
        rows.append(row(label(setting), feats, {
            "steps": steps, "step_size": size, "noise": noise, "polish_seconds": polish_s,
            "polish_ms_per_face_step": 1000 * polish_s / max(1, n * steps),
            "d_logit_mean_plain": float(before.mean()), "d_logit_mean_polished": float(after.mean()),
            "z_norm_ratio_min": float(norms.min()), "z_norm_ratio_max": float(norms.max()),
            "z_moved_mean": float((zp - z).norm(dim=1).mean())}))
        write_json(args.out / "polish.json", {"partial": True, "rows": rows})
    return {"samples": n, "real": f"{n_real} random train faces (permutation seed {args.seed})",
            "seeds": f"0-{n - 1}", "psi": args.psi, "k": args.k, "rows": rows}


def write_json(path: Path, payload: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(payload, indent=2) + "\n")


def section(result: dict, by_eye: dict | None) -> str:
    """The model card's "D polishes faces": the table, the counts by eye, and the studio's choice."""
    m = result["measured"]
    plain = m["rows"][0]
    settings = ",".join(f"{r['steps']}:{r['step_size']:g}:{r['noise']:g}" for r in m["rows"][1:])
    lines = [
        "Measured by `python bench/polish.py --samples "
        f"{m['samples']} --settings {settings} "
        f"--record`: seeds {m['seeds']} truncated to psi {m['psi']:g} (the studio's default), drawn plain and "
        "polished by `gan_core.editing.polish` (Discriminator Driven Latent Sampling, Che et al. 2020, on the "
        "sphere of each z's own norm: z's prior is the same all over it, so only D's pull acts, and the "
        "truncation is kept). Each step moves z by the step size, in z units, up D's logit. FID against the "
        f"`train` statistics at {m['samples']} samples (biased upwards at this count: compare the rows, not other "
        f"tables); precision and recall (k={m['k']}) against {m['real']}. On the CPU, one thread.", "",
        "| faces | FID | precision | recall | D's mean logit | polishing, ms per face and step |",
        "|---|---|---|---|---|---|",
        f"| plain | {plain['fid_train']:.2f} | {plain['precision']:.3f} | {plain['recall']:.3f} | "
        f"{m['rows'][1]['d_logit_mean_plain']:.2f} | |" if len(m["rows"]) > 1 else
        f"| plain | {plain['fid_train']:.2f} | {plain['precision']:.3f} | {plain['recall']:.3f} | | |"]
    for r in m["rows"][1:]:
        lines.append(f"| polished: {r['what']} | {r['fid_train']:.2f} | {r['precision']:.3f} | {r['recall']:.3f} | "
                     f"{r['d_logit_mean_polished']:.2f} | {r['polish_ms_per_face_step']:.0f} |")
    g = result["pictures"]
    lines += ["", f"Seeds {g['seeds']} at psi {g['psi']:g}, plain and polished ({g['setting']}): "
                  "`bench/results/polish/polish_pairs.png` (pairs), `plain.png` and `polished.png` (4x4 grids)."]
    if by_eye:
        lines += ["", f"**By eye** ({by_eye['rule']}): {by_eye['plain_ok']} of 16 plain faces are clearly acceptable, "
                      f"{by_eye['polished_ok']} of 16 polished ones. {by_eye['notes']}"]
    t = g.get("seconds")
    if t:
        lines += ["", f"Time on this CPU (one thread, a shared machine): the gallery's 16 faces {t['gallery_plain']:.2f} s "
                      f"plain, {t['gallery_polished']:.1f} s polished; one face polished {t['one_face_polished']:.1f} s."]
    if result.get("decision"):
        lines += ["", result["decision"]]
    return "\n".join(lines)


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--checkpoint", default="checkpoints/celeba64", help="model folder (needs its discriminator)")
    p.add_argument("--samples", type=int, default=500, help="generated faces (seeds 0..N-1)")
    p.add_argument("--real", type=int, default=None, help="real train faces for precision/recall (default --samples)")
    p.add_argument("--psi", type=float, default=STUDIO_PSI, help="truncation of every seed")
    p.add_argument("--settings", type=parse_settings, default=parse_settings("10:0.3:0"),
                   help="comma-separated STEPS:STEP_SIZE:NOISE; the first is drawn in the pictures")
    p.add_argument("--grid-only", action="store_true", help="only the pictures of seeds 0-15")
    p.add_argument("--record", action="store_true", help="write the section into the model card")
    p.add_argument("--decision", default="", help="--record: a paragraph on the studio's default, for the card")
    p.add_argument("--card-only", action="store_true",
                   help="write the card's section from --out's polish.json (and by_eye.json) without measuring")
    p.add_argument("--k", type=int, default=3)
    p.add_argument("--stats", type=Path, default=quality.DEFAULT_STATS)
    p.add_argument("--data", type=Path, default=quality.DEFAULT_DATA)
    p.add_argument("--inception", default=None)
    p.add_argument("--batch", type=int, default=50)
    p.add_argument("--seed", type=int, default=0, help="the permutation of the train faces, and polishing's noise")
    p.add_argument("--cache", type=Path, default=CACHE, help="cached Inception features (see above)")
    p.add_argument("--out", type=Path, default=OUT)
    return p.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    torch.set_num_threads(1)
    if args.card_only:
        return record(args, json.loads((args.out / "polish.json").read_text()))
    device = torch.device("cpu")
    gan = load_gan(args.checkpoint, device)
    started = time.perf_counter()
    result = {"checkpoint": args.checkpoint, "pictures": pictures(gan, args.settings[0], args.psi, args.out)}
    print(f"pictures: {args.out / 'polish_pairs.png'}; D's probability plain "
          f"{result['pictures']['d_probability_plain']}\n  polished {result['pictures']['d_probability_polished']}")
    if args.grid_only:
        return 0
    stats = quality.load_stats(args.stats)
    model, sha1 = quality.load_inception(quality.find_inception(args.inception), device)
    train = quality.split_nhwc(quality.check_data(args.data), "train")
    result["measured"] = measure(args, gan, model, stats, device, train)
    result.update({"inception_sha1": sha1, "torch": torch.__version__, "device": "cpu, 1 thread",
                   "seconds": time.perf_counter() - started, "decision": args.decision})
    write_json(args.out / "polish.json", result)
    print(f"wrote {args.out / 'polish.json'} ({result['seconds']:.0f} s)")
    return record(args, result) if args.record else 0


def record(args, result: dict) -> int:
    """The section "D polishes faces" of the model card, from `result` and --out's by_eye.json."""
    if args.decision:
        result["decision"] = args.decision
        write_json(args.out / "polish.json", result)
    eye_file = args.out / "by_eye.json"
    by_eye = json.loads(eye_file.read_text()) if eye_file.is_file() else None
    print(f"recorded in {write_sections(resolve(result['checkpoint']), {SECTION: section(result, by_eye)})}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
