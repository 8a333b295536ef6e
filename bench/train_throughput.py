"""Training throughput (images/s): our Trainer against the pytorch/examples DCGAN recipe.

    $ python bench/train_throughput.py --steps 20
    $ python bench/train_throughput.py --device cuda --steps 200 --json bench/results/h100.json

Both sides train the same 64x64 DCGAN (ngf = ndf = 64, nz = 100, batch 128) on the same
images (the `train` split of --data), on the same device, in one run:

* OURS: `gan_core.training.loop.Trainer.train_step()`, with the images decoded once into memory by
  `gan_core.data.images.load_images` (as our training does; the decoding is not timed). Only the
  train_step calls are timed, with a device sync at the end of the window.
* BASELINE: a faithful reimplementation of pytorch/examples `dcgan/main.py`: its nn.Sequential
  G and D (D ends in nn.Sigmoid), weights_init, nn.BCELoss, Adam(2e-4, betas=(0.5, 0.999)),
  its loop with the same backward() calls and .item() calls, default (contiguous) memory
  format, and its data pipeline: torchvision ImageFolder over the JPEG files on disk
  (Resize, CenterCrop, ToTensor, Normalize) through DataLoader(shuffle=True, num_workers=2).
  It is timed by wall clock including the waits for its DataLoader: that pipeline is part of
  its cost. What main.py does besides training (printing a line per step, saving image grids
  every 100 steps, checkpoints per epoch) is left out, as the sample grids and checkpoints of
  our Trainer.train() are.

The JPEGs are extracted once, before any timing, into a temporary folder removed at the end.
Each side gets --warmup untimed steps, then --steps timed ones; --repeats alternates
ours / baseline that many times and reports images / seconds summed over the repeats.
Target: ours >= 1.5x the baseline; on CUDA also ours > 20,000 images/s.
"""
from __future__ import annotations

import argparse
import csv
import io
import json
import os
import platform
import sys
import tempfile
import time
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))  # bench/ is not a package: make gan_core importable

import torch  # noqa: E402
import torch.nn as nn  # noqa: E402

from gan_core.model.config import GANConfig  # noqa: E402
from gan_core.data.images import load_images  # noqa: E402
from gan_core.model.device import pick_device  # noqa: E402
from gan_core.training.loop import TrainConfig, Trainer  # noqa: E402

DEFAULT_DATA = ROOT.parent / "shared" / "data" / "celeba64.zip"
TARGET_RATIO = 1.5
TARGET_CUDA_IMG_PER_S = 20_000
IMAGE_SIZE, CHANNELS, NZ, NGF, NDF = 64, 3, 100, 64, 64


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    elif device.type == "mps":
        torch.mps.synchronize()


# --- the data, as JPEG files in an ImageFolder layout ---------------------------------------
def extract_train_jpegs(source: Path, dest: Path) -> int:
    """Copy the `train` split's images of an imagefolder zip (or folder) to dest/faces/."""
    faces = dest / "faces"  # ImageFolder wants root/<class>/<file>
    faces.mkdir(parents=True)
    if source.is_file():
        archive = zipfile.ZipFile(source)
        names = archive.namelist()
        metas = sorted((n for n in names if n == "metadata.csv" or n.endswith("/metadata.csv")), key=len)
        if not metas:
            raise SystemExit(f"{source}: no metadata.csv (expected a Hugging Face imagefolder zip)")
        prefix = metas[0][: -len("metadata.csv")]
        read = lambda name: archive.read(prefix + name)  # noqa: E731
    else:
        if not (source / "metadata.csv").is_file():
            raise SystemExit(f"{source}: no metadata.csv (expected a Hugging Face imagefolder folder)")
        archive, prefix = None, ""
        read = lambda name: (source / name).read_bytes()  # noqa: E731
    rows = list(csv.DictReader(io.StringIO(read("metadata.csv").decode("utf-8-sig"))))
    if rows and "split" in rows[0]:
        rows = [r for r in rows if r["split"] == "train"]  # as load_images' split="auto"
    if not rows:
        raise SystemExit(f"{source}: no training images in metadata.csv")
    for row in rows:
        name = row["file_name"]
        (faces / Path(name).name).write_bytes(read(name))
    if archive is not None:
        archive.close()
    return len(rows)


# --- BASELINE: pytorch/examples dcgan/main.py -------------------------------------------------
def weights_init(m):
    classname = m.__class__.__name__
    if classname.find("Conv") != -1:
        torch.nn.init.normal_(m.weight, 0.0, 0.02)
    elif classname.find("BatchNorm") != -1:
        torch.nn.init.normal_(m.weight, 1.0, 0.02)
        torch.nn.init.zeros_(m.bias)


class ExampleGenerator(nn.Module):
    def __init__(self, nz=NZ, ngf=NGF, nc=CHANNELS):
        super().__init__()
        self.main = nn.Sequential(
            nn.ConvTranspose2d(nz, ngf * 8, 4, 1, 0, bias=False),        # (ngf*8) x 4 x 4
            nn.BatchNorm2d(ngf * 8),
            nn.ReLU(True),
            nn.ConvTranspose2d(ngf * 8, ngf * 4, 4, 2, 1, bias=False),   # (ngf*4) x 8 x 8
            nn.BatchNorm2d(ngf * 4),
            nn.ReLU(True),
            nn.ConvTranspose2d(ngf * 4, ngf * 2, 4, 2, 1, bias=False),   # (ngf*2) x 16 x 16
            nn.BatchNorm2d(ngf * 2),
            nn.ReLU(True),
            nn.ConvTranspose2d(ngf * 2, ngf, 4, 2, 1, bias=False),       # ngf x 32 x 32
            nn.BatchNorm2d(ngf),
            nn.ReLU(True),
            nn.ConvTranspose2d(ngf, nc, 4, 2, 1, bias=False),            # nc x 64 x 64
            nn.Tanh(),
        )

    def forward(self, input):
        return self.main(input)


class ExampleDiscriminator(nn.Module):
    def __init__(self, ndf=NDF, nc=CHANNELS):
        super().__init__()
        self.main = nn.Sequential(
            nn.Conv2d(nc, ndf, 4, 2, 1, bias=False),                     # ndf x 32 x 32
            nn.LeakyReLU(0.2, inplace=True),
            nn.Conv2d(ndf, ndf * 2, 4, 2, 1, bias=False),                # (ndf*2) x 16 x 16
            nn.BatchNorm2d(ndf * 2),
            nn.LeakyReLU(0.2, inplace=True),
            nn.Conv2d(ndf * 2, ndf * 4, 4, 2, 1, bias=False),            # (ndf*4) x 8 x 8
            nn.BatchNorm2d(ndf * 4),
            nn.LeakyReLU(0.2, inplace=True),
            nn.Conv2d(ndf * 4, ndf * 8, 4, 2, 1, bias=False),            # (ndf*8) x 4 x 4
            nn.BatchNorm2d(ndf * 8),
            nn.LeakyReLU(0.2, inplace=True),
            nn.Conv2d(ndf * 8, 1, 4, 1, 0, bias=False),
            nn.Sigmoid(),
        )

    def forward(self, input):
        output = self.main(input)
        return output.view(-1, 1).squeeze(1)


class Baseline:
    """main.py's setup and loop body; step() runs one iteration of its inner loop."""

    def __init__(self, image_root: Path, batch_size: int, device: torch.device, workers: int = 2):
        import torchvision.datasets as dset
        import torchvision.transforms as transforms

        self.device = device
        self.dataset = dset.ImageFolder(root=str(image_root), transform=transforms.Compose([
            transforms.Resize(IMAGE_SIZE),
            transforms.CenterCrop(IMAGE_SIZE),
            transforms.ToTensor(),
            transforms.Normalize((0.5, 0.5, 0.5), (0.5, 0.5, 0.5)),
        ]))
        self.dataloader = torch.utils.data.DataLoader(self.dataset, batch_size=batch_size, shuffle=True,
                                                      num_workers=workers)
        torch.manual_seed(0)
        self.netG = ExampleGenerator().to(device)
        self.netG.apply(weights_init)
        self.netD = ExampleDiscriminator().to(device)
        self.netD.apply(weights_init)
        self.criterion = nn.BCELoss()
        self.real_label, self.fake_label = 1.0, 0.0
        self.optimizerD = torch.optim.Adam(self.netD.parameters(), lr=2e-4, betas=(0.5, 0.999))
        self.optimizerG = torch.optim.Adam(self.netG.parameters(), lr=2e-4, betas=(0.5, 0.999))
        self._iter = None
        self.last = {}

    def start(self) -> None:
        """A fresh DataLoader iterator (starts its workers), as `for i, data in enumerate(dataloader)`."""
        self._iter = iter(self.dataloader)

    def stop(self) -> None:
        self._iter = None  # shuts its workers down

    def _next(self):
        try:
            return next(self._iter)
        except StopIteration:  # end of the epoch: main.py's outer loop starts a new one
            self._iter = iter(self.dataloader)
            return next(self._iter)

    def step(self) -> int:
        """One iteration of main.py's inner loop; returns the batch's image count."""
        netD, netG, criterion, device = self.netD, self.netG, self.criterion, self.device
        data = self._next()
        ############################
        # (1) Update D network: maximize log(D(x)) + log(1 - D(G(z)))
        ###########################
        # train with real
        netD.zero_grad()
        real_cpu = data[0].to(device)
        batch_size = real_cpu.size(0)
        label = torch.full((batch_size,), self.real_label, dtype=real_cpu.dtype, device=device)

        output = netD(real_cpu)
        errD_real = criterion(output, label)
        errD_real.backward()
        D_x = output.mean().item()

        # train with fake
        noise = torch.randn(batch_size, NZ, 1, 1, device=device)
        fake = netG(noise)
        label.fill_(self.fake_label)
        output = netD(fake.detach())
        errD_fake = criterion(output, label)
        errD_fake.backward()
        D_G_z1 = output.mean().item()
        errD = errD_real + errD_fake
        self.optimizerD.step()

        ############################
        # (2) Update G network: maximize log(D(G(z)))
        ###########################
        netG.zero_grad()
        label.fill_(self.real_label)  # fake labels are real for generator cost
        output = netD(fake)
        errG = criterion(output, label)
        errG.backward()
        D_G_z2 = output.mean().item()
        self.optimizerG.step()

        # main.py prints these every iteration; the .item() calls (syncs) are kept, the print is not
        self.last = {"Loss_D": errD.item(), "Loss_G": errG.item(), "D(x)": D_x, "D(G(z))": (D_G_z1, D_G_z2)}
        return batch_size


# --- the measurements ---------------------------------------------------------------------------
def time_ours(trainer: Trainer, warmup: int, steps: int) -> tuple[int, float]:
    for _ in range(warmup):
        trainer.train_step()
    sync(trainer.device)
    start = time.perf_counter()
    for _ in range(steps):
        trainer.train_step()
    sync(trainer.device)
    return steps * trainer.opts.batch_size, time.perf_counter() - start


def time_baseline(baseline: Baseline, warmup: int, steps: int) -> tuple[int, float]:
    baseline.start()
    try:
        for _ in range(warmup):
            baseline.step()
        sync(baseline.device)
        images, start = 0, time.perf_counter()
        for _ in range(steps):
            images += baseline.step()
        sync(baseline.device)
        return images, time.perf_counter() - start
    finally:
        baseline.stop()  # no idle workers around while ours is timed


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter,
                                epilog=__doc__.split("\n", 1)[1])
    p.add_argument("--data", default=str(DEFAULT_DATA), help="imagefolder zip (default %(default)s)")
    p.add_argument("--device", default="auto", help="auto (default), cpu, cuda, cuda:1, mps")
    p.add_argument("--steps", type=int, help="timed steps per side and repeat (default 20 on CPU, 200 on GPU)")
    p.add_argument("--warmup", type=int, default=2, help="untimed steps before each timed window (default 2)")
    p.add_argument("--batch-size", type=int, default=128, help="default 128")
    p.add_argument("--repeats", type=int, default=1, help="alternate ours / baseline this many times (default 1)")
    p.add_argument("--workers", type=int, default=2, help="the baseline's DataLoader workers (main.py's default: 2)")
    p.add_argument("--json", metavar="PATH", help="also write the results here")
    args = p.parse_args(argv)
    if args.warmup < 0:
        p.error("--warmup must be at least 0")
    for key in ("batch_size", "repeats"):
        if getattr(args, key) < 1:
            p.error(f"--{key.replace('_', '-')} must be at least 1")
    if args.steps is not None and args.steps < 1:
        p.error("--steps must be at least 1")
    return args


def main(argv=None) -> dict:
    args = parse_args(argv)
    data = Path(args.data).expanduser()
    if not data.exists():
        raise SystemExit(f"error: data not found: {data}\n"
                         f"pass --data PATH to an imagefolder zip (metadata.csv + images/*.jpg), "
                         f"e.g. ../shared/data/celeba64.zip")
    device = pick_device(args.device)
    steps = args.steps or (20 if device.type == "cpu" else 200)
    torch.backends.cudnn.benchmark = True  # for both sides (main.py sets it too)
    print(f"device {device}"
          + (f" ({torch.cuda.get_device_name(device)})" if device.type == "cuda" else "")
          + f", torch {torch.__version__}, {torch.get_num_threads()} threads, {os.cpu_count()} CPUs; "
          f"batch {args.batch_size}, warm-up {args.warmup}, {steps} timed steps x {args.repeats} repeat(s)", flush=True)

    with tempfile.TemporaryDirectory(prefix="train_throughput_") as tmp:
        tmp = Path(tmp)
        t0 = time.perf_counter()
        images = load_images(data, IMAGE_SIZE, CHANNELS).images  # split "auto": train
        print(f"ours: decoded {len(images)} images into memory in {time.perf_counter() - t0:.1f} s (not timed)",
              flush=True)
        t0 = time.perf_counter()
        count = extract_train_jpegs(data, tmp / "jpeg")
        print(f"baseline: extracted {count} JPEGs to {tmp / 'jpeg' / 'faces'} in {time.perf_counter() - t0:.1f} s "
              f"(not timed)", flush=True)
        if count != len(images):
            raise SystemExit(f"error: the two sides see different data ({len(images)} vs {count} images)")

        trainer = Trainer(GANConfig(image_size=IMAGE_SIZE, channels=CHANNELS, g_width=NGF, d_width=NDF),
                          TrainConfig(batch_size=args.batch_size, device=str(device), out=str(tmp / "run")), images)
        baseline = Baseline(tmp / "jpeg", args.batch_size, device, args.workers)

        runs = {"ours": [], "baseline": []}
        for r in range(args.repeats):
            for name, fn, obj in (("ours", time_ours, trainer), ("baseline", time_baseline, baseline)):
                n, seconds = fn(obj, args.warmup, steps)
                runs[name].append({"images": n, "seconds": seconds, "img_per_s": n / seconds})
                print(f"  repeat {r + 1}/{args.repeats} {name:8s}: {n} images in {seconds:7.2f} s "
                      f"= {n / seconds:9.1f} img/s", flush=True)
        del baseline, trainer

    rate = {k: sum(x["images"] for x in v) / sum(x["seconds"] for x in v) for k, v in runs.items()}
    ratio = rate["ours"] / rate["baseline"]
    result = {
        "device": str(device),
        "device_name": torch.cuda.get_device_name(device) if device.type == "cuda" else platform.processor() or platform.machine(),
        "torch": torch.__version__, "threads": torch.get_num_threads(), "cpus": os.cpu_count(),
        "data": str(data), "train_images": count, "batch_size": args.batch_size, "warmup": args.warmup,
        "steps": steps, "repeats": args.repeats, "baseline_workers": args.workers,
        "ours_img_per_s": rate["ours"], "baseline_img_per_s": rate["baseline"], "ratio": ratio,
        "target_ratio": TARGET_RATIO, "meets_ratio_target": ratio >= TARGET_RATIO,
        "runs": runs,
    }
    if device.type == "cuda":
        result["target_cuda_img_per_s"] = TARGET_CUDA_IMG_PER_S
        result["meets_cuda_target"] = rate["ours"] > TARGET_CUDA_IMG_PER_S

    print()
    print(f"{'':38s} {'img/s':>10s}")
    print(f"{'ours (Trainer.train_step, in memory)':38s} {rate['ours']:10.1f}")
    print(f"{'baseline (pytorch/examples dcgan)':38s} {rate['baseline']:10.1f}")
    print(f"{'ratio ours / baseline':38s} {ratio:10.2f}x")
    print(f"target: ours >= {TARGET_RATIO}x baseline: {'MET' if result['meets_ratio_target'] else 'NOT MET'} "
          f"({ratio:.2f}x)")
    if device.type == "cuda":
        print(f"target: ours > {TARGET_CUDA_IMG_PER_S:,} img/s on CUDA: "
              f"{'MET' if result['meets_cuda_target'] else 'NOT MET'} ({rate['ours']:,.0f} img/s)")
    if args.json:
        path = Path(args.json)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(result, indent=2) + "\n")
        print(f"wrote {path}")
    return result


if __name__ == "__main__":
    main()
