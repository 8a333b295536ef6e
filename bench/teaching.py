"""Teaching you can see: do three clicks of the Ask D tab's default steps change the picture visibly
while D's verdict rises? Measured on seeds 0-9 of each model at the studio's opening truncation.

    $ python bench/teaching.py --record                       # both bundled models, cards written
    $ python bench/teaching.py --checkpoint checkpoints/mnist32 --out /tmp/teaching

Each model steps with its own settings (config.json extra.teaching, read by
gan_core.analysis.teacher.teaching_defaults): per click `count` steps through G's input z (the
default), through a copy of G's weights, or on the pixels. For every seed and kind: the RMS change
from the starting picture after 1, 2 and 3 clicks, in uint8 grey levels over all pixels and
channels, and D's probability before and after (of the uint8 picture shown, as the tab scores it;
step 0 of a walk through G must equal ask()'s number exactly, and is checked). The target: three
clicks of the default kind change every seed by at least 8 grey levels while D rises; pixel steps
raise D with a change too small to see (an adversarial example). --record writes a
"## Teaching: D's steps through G" section into each model card; --out saves a strip per kind
(rows: seeds; columns: start, click 1, 2, 3).
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from gan_core.analysis import teacher  # noqa: E402
from gan_core.data.media import save_image, upscale  # noqa: E402
from gan_core.model.checkpoints import load_gan  # noqa: E402
from gan_core.model.latent import truncate, z_from_seed  # noqa: E402
from gan_core.training.model_card import write_sections  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
MODELS = (ROOT / "checkpoints" / "celeba64", ROOT / "checkpoints" / "mnist32")
STUDIO_PSI = 0.8   # studio.state.CONFIG.default_psi: the truncation a model opens at unless its extra.psi says
VISIBLE = 8.0      # grey levels RMS that three clicks must reach
HEADING = "Teaching: D's steps through G"
WHAT = {"z": "through G's input z (Adam on -log D(G(z)))", "weights": "on a copy of G's weights (Adam)",
        "pixels": "on the pixels (grey levels RMS per step)"}


def rms(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.sqrt(np.mean((a.astype(np.float32) - b.astype(np.float32)) ** 2)))


def one_seed(gan, seed: int, psi: float, kind: str, settings: dict, clicks: int) -> dict:
    """A seed's path: the starting picture, then the picture after each click."""
    z = truncate(z_from_seed(seed, gan.config.nz), psi)
    start = gan.generate(z[None])[0]
    p0 = teacher.ask(gan, start).probability  # the verdict's number
    pictures, probs, same_start = [start], [p0], True
    walk = teacher.Walk(gan, z, kind, settings[kind]) if kind != "pixels" else None
    for click in range(clicks):
        if walk is None:
            steps = teacher.pixel_steps(gan, pictures[-1], settings["count"], settings["pixels"])
        else:
            steps = walk.take(settings["count"])
            if click == 0:
                same_start = steps.probabilities[0] == p0 and np.array_equal(steps.images[0], start)
        pictures.append(steps.images[-1])
        probs.append(steps.probabilities[-1])
    return {"seed": seed, "pictures": pictures, "probs": probs, "same_start": same_start,
            "rms": [rms(p, start) for p in pictures[1:]]}


def measure(folder: Path, seeds: range, clicks: int, out: Path | None) -> tuple[str, dict]:
    gan = load_gan(folder, "cpu")
    settings = teacher.teaching_defaults(gan.config)
    psi = gan.config.extra.get("psi", STUDIO_PSI)
    kinds = [settings["how"], *[k for k in teacher.KINDS if k != settings["how"]]]
    results, seconds = {}, {}
    for kind in kinds:
        t0 = time.perf_counter()
        results[kind] = [one_seed(gan, s, psi, kind, settings, clicks) for s in seeds]
        seconds[kind] = time.perf_counter() - t0
        if out:
            rows = [np.concatenate(r["pictures"], axis=1) for r in results[kind]]
            sheet = np.concatenate(rows, axis=0)
            save_image(upscale(sheet, 2 * max(sheet.shape[:2])), out / f"{folder.name}_{kind}.png")
    default = results[settings["how"]]
    passed = sum(r["rms"][-1] >= VISIBLE and r["probs"][-1] > r["probs"][0] for r in default)
    summary = {"model": folder.name, "passed": passed, "seeds": len(default),
               "min_rms": min(r["rms"][-1] for r in default),
               "same_start": sum(r["same_start"] for r in default)}
    return card_section(gan.config.name or folder.name, settings, psi, seeds, clicks, results, seconds), summary


def card_section(name: str, settings: dict, psi: float, seeds: range, clicks: int, results: dict,
                 seconds: dict) -> str:
    how = settings["how"]
    default = results[how]
    passed = sum(r["rms"][-1] >= VISIBLE and r["probs"][-1] > r["probs"][0] for r in default)
    lines = [
        f"What the Ask D tab's steps do to a picture of {name}: seeds {seeds.start}-{seeds.stop - 1} at truncation "
        f"{psi:g}, {clicks} clicks of {settings['count']} steps each, with this model's settings "
        f"(config.json `extra.teaching`). RMS: the change from the starting picture in uint8 grey levels; "
        f"D: its probability of \"real\" for the uint8 picture shown. Measured by `python bench/teaching.py "
        f"--record` on the CPU.",
        "",
        f"**Default: steps {WHAT[how]}, step size {settings[how]:g}.** Three clicks change {passed} of "
        f"{len(default)} seeds by at least {VISIBLE:g} grey levels RMS while D's verdict rises. Step 0 is "
        f"exactly the verdict's number for {sum(r['same_start'] for r in default)} of {len(default)} seeds.",
        "",
        "| steps | size | RMS after 1 / 2 / 3 clicks (median) | RMS after 3 (min) | D before → after (median) "
        "| D rose | seconds |",
        "|---|---|---|---|---|---|---|",
    ]
    for kind, rows in results.items():
        after = [np.median([r["rms"][c] for r in rows]) for c in range(clicks)]
        lines.append(
            f"| {WHAT[kind]}{' (default)' if kind == how else ''} | {settings[kind]:g} | "
            f"{' / '.join(f'{a:.1f}' for a in after)} | {min(r['rms'][-1] for r in rows):.1f} | "
            f"{np.median([r['probs'][0] for r in rows]):.3f} → {np.median([r['probs'][-1] for r in rows]):.3f} | "
            f"{sum(r['probs'][-1] > r['probs'][0] for r in rows)} of {len(rows)} | {seconds[kind]:.0f} |")
    lines += ["", f"Each seed, default steps ({WHAT[how]}):", "",
              "| seed | RMS after 1 / 2 / 3 clicks | D before → after |", "|---|---|---|"]
    lines += [f"| {r['seed']} | {' / '.join(f'{x:.1f}' for x in r['rms'])} | "
              f"{r['probs'][0]:.3f} → {r['probs'][-1]:.3f} |" for r in default]
    lines += ["", "Steps on the pixels raise D with a change too small to see: an adversarial example, "
              "which is why G learns through its weights and not by painting pixels. Steps on a copy of "
              "G's weights make D sure at once (near 1.00) with a smaller change than steps on z, so the "
              "tab steps on z by default."]
    return "\n".join(lines)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--checkpoint", type=Path, action="append", help="a model folder (default: both bundled)")
    parser.add_argument("--seeds", type=int, default=10, help="seeds 0 to N-1")
    parser.add_argument("--clicks", type=int, default=3, help="clicks per seed")
    parser.add_argument("--out", type=Path, help="save a strip per model and kind here")
    parser.add_argument("--record", action="store_true", help="write the model cards' section")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    if args.out:
        args.out.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    for folder in args.checkpoint or MODELS:
        section, summary = measure(folder, range(args.seeds), args.clicks, args.out)
        print(section, "\n")
        print(f"{summary['model']}: {summary['passed']} of {summary['seeds']} seeds pass (min RMS after "
              f"{args.clicks} clicks {summary['min_rms']:.1f}); same start {summary['same_start']} of "
              f"{summary['seeds']}", flush=True)
        if args.record:
            write_sections(folder, {HEADING: section})
    print(f"{time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
