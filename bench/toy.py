"""The toy 1-D GAN (gan_core/training/toy.py) against its target, on one CPU thread.

    $ OMP_NUM_THREADS=1 python bench/toy.py                       # 10 seeds of "balanced", then the other two
    $ OMP_NUM_THREADS=1 python bench/toy.py --seeds 2 --seconds 10 --json bench/results/toy.json

Target: "balanced" reaches D within 1/2 +- 0.05 over the data's support within 30 s of training in
at least 9 of 10 seeds. Each seed trains until --seconds of training time (a snapshot every
--every rounds; its time is not counted: the page draws its frames between training slices),
or until it has reached the ideal and kept training --keep rounds past the end of the learning-rate
decay. Per seed: when D first came into the band with G's density matching the data's
(Snapshot.ideal: the band, and an overlap of at least 0.9), the training seconds (CPU, this process)
and wall seconds it took, whether D stayed in the band at every later snapshot, and whether it was
in the band at every snapshot once the learning rates had eased (the end of the preset's decay).

Then "d_strong" (G's gradient, next to balanced's over the same rounds; where G's samples are) and
"g_strong" (the share of G's samples near each mode over time: collapse, and hops between modes).
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import torch  # noqa: E402

from gan_core.training.toy import PRESETS, ToyGAN  # noqa: E402


def run_balanced(seed: int, seconds: float, every: int, keep: int) -> dict:
    toy = ToyGAN("balanced", seed)
    trained = 0.0                     # CPU seconds in train()
    wall0 = time.perf_counter()
    reached = None                    # (step, training s, wall s, overlap) when first ideal
    worst_after = 0.0                 # the largest D gap at any snapshot after that
    settled = 0.0                     # ... and at any snapshot after the decay's end (learning rates eased)
    grads = []                        # G's gradient (median of 50) at the snapshots of the first 500 rounds
    eased = eased_at()
    end = eased + keep
    while trained < seconds and not (reached and toy.step >= end):
        c = time.process_time()
        toy.train(every)
        trained += time.process_time() - c
        snap = toy.snapshot()
        if toy.step <= 500:
            grads.append(snap.g_grad)
        if reached is None and snap.ideal:
            reached = (toy.step, trained, time.perf_counter() - wall0, snap.overlap)
        elif reached is not None:
            worst_after = max(worst_after, snap.d_gap)
        if toy.step >= eased:
            settled = max(settled, snap.d_gap)
    return dict(seed=seed, reached=reached is not None, step=reached and reached[0],
                seconds=reached and round(reached[1], 1), wall=reached and round(reached[2], 1),
                overlap=reached and round(reached[3], 3), stayed=reached is not None and worst_after <= 0.05,
                worst_after=round(worst_after, 3), settled=round(settled, 3),
                settled_in_band=toy.step > eased and settled <= 0.05, final_gap=round(snap.d_gap, 3), final_overlap=round(snap.overlap, 3),
                final_step=toy.step, trained=round(trained, 1), g_grad_early=statistics.median(grads))


def eased_at() -> int:
    """The round from which balanced's learning rates are at their floor."""
    return PRESETS["balanced"].decay[1]


def snapshots(preset: str, seconds: float, every: int, row) -> list[dict]:
    """Train `preset` (seed 0) for `seconds` of CPU time; every `every` rounds, row(toy, snapshot, seconds)."""
    toy = ToyGAN(preset, 0)
    trained, rows = 0.0, []
    while trained < seconds:
        c = time.process_time()
        toy.train(every)
        trained += time.process_time() - c
        rows.append(row(toy, toy.snapshot(), round(trained, 1)))
    return rows


def run_d_strong(seconds: float, every: int) -> dict:
    def row(toy, snap, trained):
        with torch.no_grad():
            mean = float(toy.fake(4000).mean())
        return dict(step=toy.step, seconds=trained, g_grad=snap.g_grad, d_fake=snap.d_fake, g_mean=round(mean, 3),
                    shares=[round(s, 3) for s in snap.shares], d_gap=round(snap.d_gap, 3))

    rows = snapshots("d_strong", seconds, every, row)
    return dict(rows=rows, g_grad_median=statistics.median(r["g_grad"] for r in rows))


def run_g_strong(seconds: float, every: int) -> dict:
    rows = snapshots("g_strong", seconds, every, lambda toy, snap, trained: dict(
        step=toy.step, seconds=trained, shares=[round(s, 3) for s in snap.shares], overlap=round(snap.overlap, 3),
        d_gap=round(snap.d_gap, 3), g_grad=snap.g_grad))
    dominant = [0 if r["shares"][0] > r["shares"][1] else 1 for r in rows]
    return dict(rows=rows, hops=sum(a != b for a, b in zip(dominant, dominant[1:])),
                collapsed=sum(max(r["shares"]) >= 0.9 for r in rows) / len(rows),
                overlap_max=max(r["overlap"] for r in rows))


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--seeds", type=int, default=10, help="balanced's seeds 0..N-1 (default 10)")
    p.add_argument("--seconds", type=float, default=30.0, help="training seconds per run at most (default 30)")
    p.add_argument("--every", type=int, default=50, help="rounds between snapshots (default 50)")
    p.add_argument("--keep", type=int, default=500, help="rounds past the decay's end to check it stays (default 500)")
    p.add_argument("--others", type=float, default=15.0, help="training seconds for d_strong and g_strong (0: skip)")
    p.add_argument("--json", help="write every figure here too")
    args = p.parse_args(argv)
    torch.set_num_threads(1)

    print(f"balanced, {args.seeds} seeds, at most {args.seconds:g} s of training each (one thread):")
    seeds = []
    for seed in range(args.seeds):
        r = run_balanced(seed, args.seconds, args.every, args.keep)
        seeds.append(r)
        when = (f"ideal at step {r['step']}, {r['seconds']} s training ({r['wall']} s wall), overlap {r['overlap']}"
                if r["reached"] else f"not reached in {r['trained']} s")
        print(f"  seed {seed}: {when}; stayed in the band: {'yes' if r['stayed'] else 'no'} (worst gap after "
              f"{r['worst_after']}); from step {eased_at()} on (learning rates eased): worst gap {r['settled']}; "
              f"at step {r['final_step']}: gap {r['final_gap']}, overlap {r['final_overlap']}", flush=True)
    ok = sum(r["reached"] and r["seconds"] <= 30 for r in seeds)
    stayed = sum(r["reached"] and r["seconds"] <= 30 and r["stayed"] for r in seeds)
    settled = sum(r["settled_in_band"] for r in seeds)
    print(f"  => {ok} of {len(seeds)} seeds reached the band within {args.seconds:g} s (target: 9 of 10 within 30 s); {stayed} of them stayed "
          f"in it at every later snapshot; {settled} of {len(seeds)} were in it at every snapshot from step "
          f"{eased_at()} on")
    out = dict(balanced=seeds, reached=ok, reached_and_stayed=stayed, settled=settled)
    if args.others > 0:
        d = run_d_strong(args.others, args.every)
        balanced_grad = statistics.median(r["g_grad_early"] for r in seeds)
        last = d["rows"][-1]
        print(f"d_strong, {args.others:g} s: G's gradient {d['g_grad_median']:.2g} (median over the run; balanced's "
              f"over its first 500 rounds: {balanced_grad:.2g}, {balanced_grad / d['g_grad_median']:.0f}x larger); "
              f"after {last['step']} rounds D(G(z)) {last['d_fake']:.2g}, G's samples at {last['g_mean']} on average, "
              f"near the modes {last['shares']}")
        g = run_g_strong(args.others, args.every)
        shares = " ".join(f"{r['shares'][0]:.2f}/{r['shares'][1]:.2f}" for r in g["rows"][::max(1, len(g['rows']) // 12)])
        print(f"g_strong, {args.others:g} s: {g['collapsed']:.0%} of snapshots with 90%+ of G's samples near one "
              f"mode, {g['hops']} hops between modes, best overlap {g['overlap_max']}; shares near each mode: {shares}")
        out.update(d_strong=d, g_strong=g, balanced_g_grad_early=balanced_grad)
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
