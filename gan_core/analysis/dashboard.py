"""The training dashboard: a run's curves and fixed-noise grids, read from the files training writes.

    run = read_run("runs/digits")                  # train.py's run folder, or a release folder
    losses, outputs = curve_tables(run.records)    # long tables (step, value, series) for gr.LinePlot
    step, grid = grid_at(run, 1200)                # the grid nearest to step 1200
    timelapse(run, "/tmp/digits.mp4", fps=4)       # every grid in turn, each labelled with its step

A run folder (train.py) holds log.jsonl and samples/step_NNNNNNN.png; a release folder keeps a
compact copy: training_log.jsonl and history/step_NNNNNNN.jpg.
"""
from __future__ import annotations

import math
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from ..errors import UserError
from ..data.media import MAX_FRAMES, load_image, write_mp4
from ..training.run_log import LOG_NAME, RELEASE_LOG_NAME, read_log

LOG_NAMES = (LOG_NAME, RELEASE_LOG_NAME)   # run folder, release folder
GRID_FOLDERS = ("samples", "history")
GRID_NAME = re.compile(r"step_(\d+)\.(png|jpe?g|webp)$", re.IGNORECASE)
# Curve names as the plots show them, keyed by the log's fields.
LOSSES = {"loss_d": "D loss", "loss_g": "G loss"}
OUTPUTS = {"d_real": "D(x): real images", "d_fake": "D(G(z)): generated images",
           "d_accuracy": "D's accuracy: real and generated told apart"}  # (runs since it was logged)
CHANCE = "0.5: D cannot tell"
SHORT = {key: label.split(":")[0] for key, label in {**LOSSES, **OUTPUTS}.items()}  # "D(x)", "D's accuracy", ...


@dataclass
class Run:
    folder: Path
    log: Path
    records: list[dict]                 # one per logged interval, by step, each step once
    grids: list[tuple[int, Path]] = field(default_factory=list)  # (step, fixed-noise grid image), by step

    @property
    def grid_steps(self) -> list[int]:
        return [step for step, _ in self.grids]

    @property
    def last_step(self) -> int:
        return self.records[-1]["step"] if self.records else 0


def _grids(folder: Path) -> list[tuple[int, Path]]:
    found: dict[int, Path] = {}
    for sub in reversed(GRID_FOLDERS):  # samples/ (full quality) wins over history/
        if (folder / sub).is_dir():
            for path in (folder / sub).iterdir():
                match = GRID_NAME.fullmatch(path.name)
                if match and path.is_file():
                    found[int(match.group(1))] = path
    return sorted(found.items())


def read_run(folder: str | os.PathLike) -> Run:
    """A training run (train.py's out folder) or a release folder (checkpoints/<name>), with its
    log records and sample grids; a ValueError that says what is missing otherwise."""
    folder = Path(str(folder).strip() or ".").expanduser()
    if folder.is_file() and folder.suffix == ".jsonl":
        folder = folder.parent
    if not folder.is_dir():
        raise UserError("no_run_folder", folder=folder.name)
    log = next((folder / name for name in LOG_NAMES if (folder / name).is_file()), None)
    if log is None:
        raise UserError("no_training_log", folder=folder.name)
    records = read_log(log)
    if not records:
        raise UserError("no_records", log=log.name)
    return Run(folder, log, records, _grids(folder))


def find_runs(root: str | os.PathLike, limit: int = 50) -> list[Path]:
    """The run folders directly under `root` (those holding a training log), newest first."""
    root = Path(root)
    if not root.is_dir():
        return []
    runs = [p for p in root.iterdir() if p.is_dir() and any((p / name).is_file() for name in LOG_NAMES)]
    return sorted(runs, key=lambda p: p.stat().st_mtime, reverse=True)[:limit]


# --- curves -----------------------------------------------------------------------------------
def curve_rows(records: list[dict], names: dict[str, str]) -> list[dict]:
    """Long format: one {"step", "value", "series"} row per record and logged field in `names`."""
    return [{"step": r["step"], "value": float(r[key]), "series": label}
            for key, label in names.items() for r in records
            if isinstance(r.get(key), (int, float)) and math.isfinite(r[key])]


def chance_rows(records: list[dict]) -> list[dict]:
    """The 0.5 line across the run: where D's outputs meet when it can no longer tell."""
    if not records:
        return []
    return [{"step": records[i]["step"], "value": 0.5, "series": CHANCE} for i in (0, -1)]


def curve_tables(records: list[dict]):
    """Two pandas DataFrames (step, value, series) for gr.LinePlot(x="step", y="value",
    color="series"): the D and G losses, and D's mean outputs D(x) and D(G(z)) with the 0.5 line."""
    import pandas as pd  # installed with gradio; the rest of gan_core does not need it

    columns = ["step", "value", "series"]
    losses = pd.DataFrame(curve_rows(records, LOSSES), columns=columns)
    outputs = pd.DataFrame(curve_rows(records, OUTPUTS) + chance_rows(records), columns=columns)
    return losses, outputs


@dataclass(frozen=True)
class Summary:
    steps: int                 # how far the run went
    minutes: float | None      # in how long (None where the log does not say)
    last: dict[str, float]     # the last interval's losses and D's outputs, by log field (names: SHORT)
    grids: int                 # sample grids saved


def summarise(run: Run) -> Summary:
    """How far the run went and where it ended, as numbers."""
    last = run.records[-1]
    minutes = last["seconds"] / 60 if "seconds" in last else None
    return Summary(last["step"], minutes, {key: last[key] for key in SHORT if key in last}, len(run.grids))


def summary(run: Run) -> str:
    """One line about the run, in English: how far it went and where it ended."""
    s = summarise(run)
    parts = [f"{s.steps:,} steps" + (f" in {s.minutes:.1f} min" if s.minutes is not None else "")]
    if s.last:
        parts.append("last interval: " + ", ".join(f"{SHORT[key]} {value:.3f}" for key, value in s.last.items()))
    parts.append(f"{s.grids} sample grid{'s' * (s.grids != 1)}")
    return "; ".join(parts)


# --- grids ------------------------------------------------------------------------------------
def nearest_grid(run: Run, step) -> tuple[int, Path]:
    """The (step, path) of the grid nearest to `step` (the earlier one on a tie)."""
    if not run.grids:
        raise UserError("no_grids", folder=str(run.folder))
    try:
        step = float(step)
    except (TypeError, ValueError):
        raise UserError("grid_step", got=step) from None
    if not math.isfinite(step):
        raise UserError("grid_step", got=step)
    return min(run.grids, key=lambda item: (abs(item[0] - step), item[0]))


def grid_at(run: Run, step) -> tuple[int, np.ndarray]:
    """The fixed-noise grid nearest to `step`: (its step, uint8 RGB image)."""
    found, path = nearest_grid(run, step)
    return found, load_image(path)


def label(image: np.ndarray, text: str) -> np.ndarray:
    """The image with a black band on top that says `text` (e.g. "step 1,000")."""
    pil = Image.fromarray(image)
    band = max(14, pil.width // 22)
    out = Image.new("RGB", (pil.width, pil.height + band))
    out.paste(pil.convert("RGB"), (0, band))
    try:
        font = ImageFont.load_default(size=round(band * 0.75))
    except (TypeError, ImportError, OSError):  # an old Pillow, or no FreeType: the small bitmap font
        font = ImageFont.load_default()
    ImageDraw.Draw(out).text((band // 3, band // 2), text, fill=(255, 255, 255), font=font, anchor="lm")
    return np.asarray(out)


def timelapse_frames(run: Run, labelled: bool = True) -> Iterator[np.ndarray]:
    """Each grid in turn (at most MAX_FRAMES, evenly picked), at the first grid's size."""
    if not run.grids:
        raise UserError("no_grids_timelapse", folder=str(run.folder))
    picks = sorted({round(i) for i in np.linspace(0, len(run.grids) - 1, min(MAX_FRAMES, len(run.grids)))})

    def frames():
        size = None
        for i in picks:
            step, path = run.grids[i]
            image = load_image(path)
            size = size or (image.shape[1], image.shape[0])
            if (image.shape[1], image.shape[0]) != size:
                image = np.asarray(Image.fromarray(image).resize(size, Image.Resampling.LANCZOS))
            yield label(image, f"step {step:,}") if labelled else image

    return frames()


def timelapse(run: Run, path: str | os.PathLike, fps: float = 4, labelled: bool = True, hold: float = 1.0) -> Path:
    """An MP4 of the fixed-noise grids along the run, each labelled with its step; the last
    grid is held for `hold` seconds."""
    if not 0.5 <= float(fps) <= 60:
        raise UserError("timelapse_fps", got=fps)

    grids = timelapse_frames(run, labelled)

    def frames():
        last = None
        for last in grids:
            yield last
        for _ in range(round(hold * fps)):
            yield last

    return write_mp4(frames(), path, fps=fps)
