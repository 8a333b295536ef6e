"""The model card (README.md) written beside every exported model, and the one place that writes
one: the export writes it whole, the scripts that measure a model write their sections into it.

    write_card(folder, model_card(config, data, recipe, training))      # gan_core.training.export
    write_sections(folder, {"Directions": markdown})                    # bench/directions.py --record
"""
from __future__ import annotations

import os
from pathlib import Path

from ..model.checkpoints import atomic_write
from ..model.config import GANConfig

CARD_NAME = "README.md"

CELEBA_TERMS = """\
Trained on CelebA (CelebFaces Attributes, MMLAB, The Chinese University of Hong Kong; Liu, Luo,
Wang and Tang, ICCV 2015). **CelebA is available for non-commercial research purposes only**, and
its agreement forbids commercial use of any portion of the images or of derived data and any
further distribution of the data set. These weights are derived data: use them for
non-commercial research or demonstration only, keep them internal, and do not publish them."""

MNIST_TERMS = """\
Trained on MNIST (LeCun, Cortes and Burges), which is a derivative of NIST data and is made
available under the Creative Commons Attribution-Share Alike 3.0 licence: attribution is
required, and derivatives must be shared alike."""

GENERIC_TERMS = """\
Check the terms of the training data before sharing these weights: a model inherits them."""


def data_terms(source: str) -> tuple[str, str]:
    """(licence id for the card's front matter, terms paragraph) for a data source."""
    text = source.lower()
    if "celeba" in text:
        return "other", CELEBA_TERMS
    if "mnist" in text:
        return "cc-by-sa-3.0", MNIST_TERMS
    return "other", GENERIC_TERMS


def _table(rows: dict) -> str:
    lines = ["| setting | value |", "|---|---|"]
    lines += [f"| {k} | {v} |" for k, v in rows.items()]
    return "\n".join(lines)


def set_section(card: str, heading: str, markdown: str) -> str:
    """The card with its "## {heading}" section (up to the next "## " heading) replaced, or added."""
    head, found, rest = card.partition(f"\n## {heading}\n")
    if not found:
        return card.rstrip() + f"\n\n## {heading}\n{markdown.strip()}\n"
    tail = rest.split("\n## ", 1)
    after = "\n## " + tail[1] if len(tail) > 1 else ""
    return f"{head}\n## {heading}\n{markdown.strip()}\n{after}"


def write_card(folder: str | os.PathLike, card: str) -> Path:
    """The model card as `folder`'s README.md (written whole or not at all)."""
    path = Path(folder) / CARD_NAME
    atomic_write(path, lambda tmp: Path(tmp).write_text(card))
    return path


def write_sections(folder: str | os.PathLike, sections: dict[str, str]) -> Path:
    """`folder`'s model card with each "## {heading}" section of `sections` replaced, or added."""
    card = (Path(folder) / CARD_NAME).read_text()
    for heading, markdown in sections.items():
        card = set_section(card, heading, markdown)
    return write_card(folder, card)


def model_card(config: GANConfig, data: str, recipe: dict, training: dict, quality: dict | None = None,
               sample_image: str = "samples.png") -> str:
    licence, terms = data_terms(data)
    quality_text = _table(quality) if quality else (
        "Not measured yet: `python bench/quality.py --checkpoint THIS_FOLDER` measures FID, SWD and "
        "memorisation.")
    title = config.name or f"DCGAN {config.image_size}x{config.image_size}"
    return f"""---
license: {licence}
library_name: pytorch
tags:
- dcgan
- gan
- unconditional-image-generation
---

# {title}

A DCGAN (Radford et al. 2015) generator ({config.image_size}x{config.image_size}, {config.channels} channel(s),
z of {config.nz} dimensions, widths G {config.g_width} / D {config.d_width}), with its discriminator.
`model.safetensors` holds the exponential moving average of G's weights (BatchNorm statistics
recalibrated for them); `discriminator.safetensors` holds D. Load with
`gan_core.model.checkpoints.load_gan("<this folder or repo id>")`.

![64 samples, seeds 0-63]({sample_image})

## Data and its terms
Data: `{data}`.

{terms}

## Recipe
{_table(recipe)}

## Training
{_table(training)}

`training_log.jsonl` has the losses, D(x) and D(G(z)) per interval; `history/` holds fixed-noise
grids (seeds 0-63) from along the run.

## Quality
{quality_text}
"""
