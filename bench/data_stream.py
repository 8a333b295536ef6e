"""Data bigger than memory: training streamed from tar shards against training from memory.

    $ python bench/data_stream.py                      # 200,000 images, 40 timed steps per path
    $ python bench/data_stream.py --images 2000 --steps 3 --width 8   # a quick look

1. Makes --images synthetic 64x64 RGB images (smooth blobs plus grain, gan_core.data.images's
   synthetic_images), JPEG-encoded, as webdataset-style tar shards of 10,000 (000000.jpg, ...)
   under --work (kept for the next run).
2. Trains the faces model (64x64, G and D --width wide, batch 128) for --warmup + --steps
   steps on each path, each in a fresh process, one after the other:
   * stream: the shards indexed (gan_core.data.images.open_images) and decoded batch by batch by
     --workers DataLoader worker processes (gan_core.training.batches.StreamedBatches);
   * memory: all the images decoded into one uint8 tensor first (gan_core.data.images.load_images;
     the decoding is not timed), as train.py does when they fit.
   Throughput: images / second over the timed steps. Memory: every --watch-every seconds the
   process and its workers are sampled from /proc: the peak of their summed PSS (shared pages split between the
   processes that share them: what the run really holds) and of their summed RSS (shared pages
   counted once per process: an upper bound).
Targets: the stream's peak memory under 2 GB, and its throughput at least 90% of memory's.
Nothing else should run meanwhile (two jobs on two cores halve both).
"""
from __future__ import annotations

import argparse
import io
import json
import os
import subprocess
import sys
import tarfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import torch  # noqa: E402
from PIL import Image  # noqa: E402

from gan_core.model.config import GANConfig  # noqa: E402
from gan_core.data.images import load_images, open_images, synthetic_images  # noqa: E402
from gan_core.training.loop import TrainConfig, Trainer  # noqa: E402

SHARD = 10_000
TARGET_MEMORY_GB = 2.0
TARGET_RATIO = 0.9


def make_shards(folder: Path, count: int, side: int = 64) -> list[Path]:
    """count synthetic JPEGs in tar shards of SHARD images (reused if already there)."""
    shards = [folder / f"shard-{k:05d}.tar" for k in range((count + SHARD - 1) // SHARD)]
    if all(p.is_file() for p in shards) and (folder / "count").is_file() and (folder / "count").read_text() == str(count):
        return shards
    folder.mkdir(parents=True, exist_ok=True)
    t = time.perf_counter()
    for k, path in enumerate(shards):
        first, last = k * SHARD, min(count, (k + 1) * SHARD)
        images = synthetic_images(last - first, side, 3, seed=k)
        grain = torch.randint(-12, 13, images.shape, generator=torch.Generator().manual_seed(k))
        images = (images.int() + grain).clamp(0, 255).to(torch.uint8).permute(0, 2, 3, 1).numpy()
        with tarfile.open(f"{path}.part", "w") as archive:
            for i, image in enumerate(images):
                out = io.BytesIO()
                Image.fromarray(image).save(out, "JPEG", quality=90)
                info = tarfile.TarInfo(f"{first + i:06d}.jpg")
                info.size = out.tell()
                out.seek(0)
                archive.addfile(info, out)
        os.replace(f"{path}.part", path)
    (folder / "count").write_text(str(count))
    size = sum(p.stat().st_size for p in shards)
    print(f"made {count:,} images in {len(shards)} shards ({size / 2**20:.0f} MiB) in {time.perf_counter() - t:.0f} s",
          flush=True)
    return shards


class MemoryWatch:
    """Peak summed PSS and RSS of this process and its descendants, sampled from /proc."""

    def __init__(self, every: float = 0.25):
        self.every, self.pss, self.rss, self._stop = every, 0, 0, threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()

    @staticmethod
    def _tree(pid: int) -> list[int]:
        pids, todo = [], [pid]
        while todo:
            p = todo.pop()
            pids.append(p)
            try:
                for task in Path(f"/proc/{p}/task").iterdir():
                    todo += [int(c) for c in (task / "children").read_text().split()]
            except OSError:
                pass
        return pids

    @staticmethod
    def _kib(pid: int, field: str) -> int:
        try:
            for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
                if line.startswith(field + ":"):
                    return int(line.split()[1])
        except OSError:
            pass
        return 0

    def _run(self):
        while not self._stop.is_set():
            pids = self._tree(os.getpid())
            self.pss = max(self.pss, sum(self._kib(p, "Pss") for p in pids) * 1024)
            self.rss = max(self.rss, sum(self._kib(p, "Rss") for p in pids) * 1024)
            self._stop.wait(self.every)


def run_path(args) -> dict:
    """One path, in this process: set up, warm up, time; with the memory watched throughout."""
    model = GANConfig(image_size=64, channels=3, g_width=args.width, d_width=args.width)
    opts = TrainConfig(batch_size=128, device="cpu", out=str(Path(args.work) / f"run_{args.path}"),
                       workers=args.workers, stream="on" if args.path == "stream" else "off")
    source = f"{args.work}/shards/*.tar"
    with MemoryWatch(args.watch_every) as watch:
        t = time.perf_counter()
        data = open_images(source, 64) if args.path == "stream" else load_images(source, 64).images
        setup = time.perf_counter() - t
        trainer = Trainer(model, opts, data)
        for _ in range(args.warmup):
            trainer.train_step()
        t = time.perf_counter()
        for _ in range(args.steps):
            trainer.train_step()
        seconds = time.perf_counter() - t
    return {"path": args.path, "images": len(trainer.batches), "setup_seconds": round(setup, 1),
            "img_per_s": round(args.steps * 128 / seconds, 1), "peak_pss_gb": round(watch.pss / 1e9, 3),
            "peak_rss_sum_gb": round(watch.rss / 1e9, 3), "workers": args.workers if args.path == "stream" else 0,
            "threads": torch.get_num_threads()}


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter,
                                epilog=__doc__.split("\n", 1)[1])
    p.add_argument("--images", type=int, default=200_000)
    p.add_argument("--steps", type=int, default=40, help="timed steps per path (default 40)")
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--width", type=int, default=64, help="G and D base width (default 64)")
    p.add_argument("--workers", type=int, default=2, help="the stream's DataLoader workers (default 2)")
    p.add_argument("--watch-every", type=float, default=1.0, help="seconds between memory samples (default 1)")
    p.add_argument("--work", default=str(ROOT / "runs" / "data_stream"))
    p.add_argument("--json", default=str(ROOT / "bench" / "results" / "scale" / "data_stream.json"))
    p.add_argument("--path", choices=("stream", "memory"), help=argparse.SUPPRESS)  # one path, in a child
    args = p.parse_args(argv)
    if args.path:
        print(json.dumps(run_path(args)))
        return {}
    make_shards(Path(args.work) / "shards", args.images)
    results = {}
    for path in ("stream", "memory"):
        command = [sys.executable, __file__, "--path", path, *(argv if argv is not None else sys.argv[1:])]
        done = subprocess.run(command, capture_output=True, text=True)
        if done.returncode:
            raise SystemExit(f"the {path} run failed:\n{done.stderr[-3000:]}")
        results[path] = json.loads(done.stdout.strip().splitlines()[-1])
        r = results[path]
        print(f"{path:7s} {r['img_per_s']:8.1f} img/s   peak memory {r['peak_pss_gb']:.2f} GB (PSS; RSS summed "
              f"{r['peak_rss_sum_gb']:.2f} GB)   set-up {r['setup_seconds']:.0f} s", flush=True)
    ratio = results["stream"]["img_per_s"] / results["memory"]["img_per_s"]
    summary = {"images": args.images, "steps": args.steps, "width": args.width, "results": results,
               "ratio": round(ratio, 3), "meets_ratio_target": ratio >= TARGET_RATIO,
               "meets_memory_target": results["stream"]["peak_pss_gb"] < TARGET_MEMORY_GB}
    print(f"stream / memory throughput: {ratio:.2f}x (target >= {TARGET_RATIO}: "
          f"{'MET' if summary['meets_ratio_target'] else 'NOT MET'}); stream's peak memory "
          f"{results['stream']['peak_pss_gb']:.2f} GB (target < {TARGET_MEMORY_GB:g} GB: "
          f"{'MET' if summary['meets_memory_target'] else 'NOT MET'})")
    Path(args.json).parent.mkdir(parents=True, exist_ok=True)
    Path(args.json).write_text(json.dumps(summary, indent=1) + "\n")
    return summary


if __name__ == "__main__":
    main()
