"""Likeness as a face recognition model judges it: dlib's ResNet face descriptor (128 numbers per
face; two photos of one person lie under 0.6 apart, its authors' threshold).

    d = distance(descriptors(crops), descriptors(reconstructions))   # [N]
    describe(d[0])                                                   # "close" | "fair" | "rough"

The crops are already aligned (gan_core.photos.align), so nothing is detected: each is upscaled
alike (bicubic, to UPSCALE pixels), the 5-point predictor runs on a fixed square where the face
sits in the training crop, and dlib's face chip (150 px, its own alignment) goes to the ResNet.

Measured on the first 500 held-out `test` faces of celeba64.zip at 64x64 (bench/face_finder.py):
* pairs of different faces (250 disjoint pairs; a few may be one person, the split holds several
  photos of some): median 0.81, 5th percentile 0.64, 2% under 0.6, none under 0.4;
* a face and itself slightly blurred (Gaussian, sigma 0.7 px): median 0.17, 95th percentile 0.24,
  at most 0.38.
So "close" (under CLOSE = 0.4) is as near as a blurred copy and nearer than any two strangers;
"fair" (under SAME_PERSON = 0.6) is still the same person to the model; "rough" is what strangers
look like to it. The descriptor takes about 0.2 s a face on one CPU core.
"""
from __future__ import annotations

import numpy as np

from . import face_models

SAME_PERSON = 0.6    # dlib's threshold: under it, the same person
CLOSE = 0.4          # under it: clearly the same person
UPSCALE = 150        # pixels: crops are upscaled to this before the descriptor
# The face square in the 64x64 training crop (x, y, side): where dlib's HOG box falls on CelebA's
# crops (medians over 559 pasted `train` faces), the box the 5-point predictor was trained on
FACE_BOX_64 = (4.2, 17.5, 54.5)


def _square(size: int):
    import dlib

    x, y, side = (v * size / 64 for v in FACE_BOX_64)
    return dlib.rectangle(int(round(x)), int(round(y)), int(round(x + side)), int(round(y + side)))


def descriptors(crops: np.ndarray) -> np.ndarray:
    """float32 [N, 128]: the ResNet descriptor of each aligned crop (uint8 [N, S, S, 3])."""
    import cv2
    import dlib

    crops = np.asarray(crops)
    if crops.ndim != 4 or crops.shape[1] != crops.shape[2] or crops.shape[3] not in (1, 3):
        raise ValueError(f"crops must be uint8 [N, S, S, 3], got {crops.shape}")
    if crops.shape[3] == 1:
        crops = np.repeat(crops, 3, 3)
    rect = _square(UPSCALE)
    chips = []
    for crop in crops:
        big = np.ascontiguousarray(cv2.resize(crop.astype(np.uint8), (UPSCALE, UPSCALE), interpolation=cv2.INTER_CUBIC))
        with face_models.use("landmarks") as predictor:
            shape = predictor(big, rect)
        chips.append(dlib.get_face_chip(big, shape, size=150, padding=0.25))
    if not chips:
        return np.zeros((0, 128), np.float32)
    with face_models.use("descriptor") as net:
        out = net.compute_face_descriptor(chips)
    return np.array([list(v) for v in out], np.float32)


def distance(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """[N]: the Euclidean distance between descriptors a[i] and b[i] (each [N, 128])."""
    return np.linalg.norm(np.asarray(a, np.float64) - np.asarray(b, np.float64), axis=-1)


def describe(d: float) -> str:
    """"close" (under CLOSE), "fair" (under SAME_PERSON: the same person still), else "rough"."""
    return "close" if d < CLOSE else "fair" if d < SAME_PERSON else "rough"
