"""Find the face in a photo and warp it onto the training crop, where the model's faces sit.

    aligner = Aligner(template)              # template: any uint8 [S, S, 3] image; only its size S is used
    found = aligner.align(photo)             # photo: uint8 [H, W, 3], any size; NoFace if none
    found.crop                               # uint8 [S, S, 3], eyes where the training faces have them
    found.note                               # "found 2 faces; took the largest", ...

1. dlib's HOG face detector (built into dlib) proposes faces, its score down to HOG_THRESHOLD, on
   the photo and, when nothing is confirmed there, on the photo upsampled 2x (faces of MIN_FACE
   pixels and up). Its five filters cover frontal faces and faces turned or tilted to about 30
   degrees, so the photo is not turned.
2. Each proposal (HOG's sure ones largest first, then the others by score) must be confirmed by
   dlib's CNN face detector (MMOD), run on a small square around it with the box scaled to
   CNN_FACE: HOG alone takes blurred noise or a pile of coins for a face now and then, the CNN
   does not (bench/face_finder.py: 0 false faces; none of 1,169 MMOD checks of HOG's proposals
   down to -1.5 on the 165 non-face pictures found anything). At most MAX_CONFIRM checks and
   TIME_BUDGET seconds per photo bound the worst case.
3. dlib's 5-point predictor places the eye corners and the base of the nose; a similarity
   (scale, rotation, shift), least squares over the five points, puts them where they sit in
   CelebA's crops (FIVE_POINTS_64). A fit that leaves the points far from a face's shape is
   refused as well.

The models ship in checkpoints/face_finder (public domain / CC0, see its README.md) and load
offline, once per process (gan_core.photos.face_models).
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import numpy as np

from ..errors import UserError
from . import face_models

EYES_64 = ((20.3, 33.3), (43.1, 33.3))  # left and right eye centres in the 64x64 training crop
# Where dlib's five points sit in the 64x64 training crop: the image-right eye's outer and inner
# corner, the image-left eye's outer and inner corner, the base of the nose. Medians over 559 of
# 600 CelebA `train` faces pasted into photos by paste() (2-4x, turned up to 20 degrees), the
# predictor's points mapped back through paste()'s known transform (spread: 0.5-0.8 px for the
# eye corners, 1.2-1.5 px for the nose). The eye centres they imply, (20.0, 34.1) and (43.0, 34.1),
# sit 0.8 px below CelebA's official eye landmarks (EYES_64): corners are not pupils.
FIVE_POINTS_64 = ((47.59, 33.91), (38.41, 34.32), (15.46, 33.81), (24.60, 34.33), (31.53, 51.73))
MIN_FACE = 40           # pixels: HOG's face box (brows to chin) on the photo upsampled 2x; smaller is not found
HOG_THRESHOLD = -1.2    # HOG score for a proposal (real faces: about 1; sunglasses, hats, turned heads down to -1.5)
CNN_THRESHOLD = 0.0     # MMOD's confidence to confirm a proposal (its own default)
CNN_FACE = 120          # pixels: the proposal's box is scaled to this for MMOD (at 80, its window's edge,
                        # it missed half the faces with sunglasses or hats that it finds at 100-130)
CNN_MARGIN = 0.6        # the square MMOD sees spans the box's centre +- this many box sides (144 px: ~0.16 s)
# (turn in degrees, upsampling) in order until a face is confirmed: upright, then turned both ways
# (HOG's tilted filters stop near 25 degrees), then upsampled 2x for faces of 40-80 pixels
PASSES = ((0, 0), (-20, 0), (20, 0), (0, 1))
MAX_CONFIRM = 6         # proposals looked at per photo, all passes together (MMOD: about 0.16 s each)
OTHERS = (-0.8, 2)      # other faces, for the note: HOG's proposals over this score, at most this many MMOD checks
TIME_BUDGET = 1.2       # seconds: no pass and no MMOD check starts after this (one check may finish after)
SURE = 0.5              # HOG score over which another proposal counts as a face without MMOD
DETECT_SIDE = 800       # pixels: larger photos are looked at shrunk to this (the faces stay large)
MAX_RESIDUAL = 4.0      # crop pixels (64x64): RMS of the five points around their fit; faces ~1
CROP_PER_BOX = (0.8, 1.6)  # the crop's side over the box's, after the fit (faces: about 1.18)


class NoFace(UserError):
    """No face in the photo (or one too small): the manual crop is the way on."""


@dataclass
class Alignment:
    crop: np.ndarray                  # uint8 [S, S, 3]: the face on the training crop
    matrix: np.ndarray                # 2x3: photo pixel -> crop pixel
    box: tuple[int, int, int, int]    # the detected face (x, y, w, h) in the photo
    faces: int                        # faces found
    notes: list[str] = field(default_factory=list)
    points: np.ndarray | None = None  # the five landmarks, [5, 2] photo pixels

    @property
    def note(self) -> str:
        return "; ".join(self.notes)


def eye_targets(size: int) -> np.ndarray:
    return np.array(EYES_64, np.float64) * size / 64


def similarity(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """The 2x3 similarity (scale, rotation, shift; no mirror) taking points `src` [N, 2] closest
    to `dst` [N, 2] in least squares."""
    ms, md = src.mean(0), dst.mean(0)
    s, d = src - ms, dst - md
    norm = max(float((s ** 2).sum()), 1e-12)
    a = float((s * d).sum()) / norm
    b = float((s[:, 0] * d[:, 1] - s[:, 1] * d[:, 0]).sum()) / norm
    rot = np.array([[a, -b], [b, a]])
    return np.hstack([rot, (md - rot @ ms)[:, None]])


def apply(matrix: np.ndarray, points) -> np.ndarray:
    return np.asarray(points, np.float64) @ matrix[:, :2].T + matrix[:, 2]


def warp(photo: np.ndarray, matrix: np.ndarray, size: int) -> np.ndarray:
    import cv2

    scale = math.hypot(matrix[0, 0], matrix[0, 1])
    return cv2.warpAffine(photo, matrix, (size, size), flags=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR,
                          borderMode=cv2.BORDER_REPLICATE)


def _rect(box, scale: float = 1.0):
    import dlib

    x, y, w, h = (v * scale for v in box)
    return dlib.rectangle(int(round(x)), int(round(y)), int(round(x + w)) - 1, int(round(y + h)) - 1)


class Aligner:
    def __init__(self, template: np.ndarray | None = None):
        """`template`: an image of the model's crop (e.g. its mean face), uint8 [S, S, C]: sets the
        crop's size S; None: 64."""
        self.size = 64 if template is None else int(template.shape[0])

    def propose(self, photo: np.ndarray, upsample: int) -> list[tuple[tuple, float]]:
        """HOG's faces as ((x, y, w, h) in `photo`, score): the sure ones (score over SURE) largest
        first, then the others by score."""
        with face_models.use("detector_hog") as hog:
            rects, scores, _ = hog.run(photo, upsample, HOG_THRESHOLD)
        found = [((r.left(), r.top(), r.width(), r.height()), float(s)) for r, s in zip(rects, scores)]
        return sorted(found, key=lambda f: (f[1] < SURE, -f[0][2] if f[1] >= SURE else -f[1]))

    def confirm(self, photo: np.ndarray, box) -> bool:
        """Whether MMOD sees a face in a small square around `box` (scaled so the box is CNN_FACE)."""
        x, y, w, h = box
        scale, half = CNN_FACE / w, CNN_MARGIN * w
        side = int(round(2 * half * scale))
        matrix = np.array([[scale, 0, scale * (half - x - w / 2)], [0, scale, scale * (half - y - h / 2)]])
        square = warp(photo, matrix, side)
        with face_models.use("detector_cnn") as cnn:
            found = cnn(square, 0)
        return any(d.confidence > CNN_THRESHOLD for d in found)

    def landmarks(self, photo: np.ndarray, box) -> np.ndarray:
        with face_models.use("landmarks") as predictor:
            shape = predictor(photo, _rect(box))
        return np.array([[shape.part(i).x, shape.part(i).y] for i in range(5)], np.float64)

    def fit(self, points: np.ndarray, box_side: float) -> np.ndarray | None:
        """photo -> crop from the five points, or None if they do not sit as a face's do."""
        target = np.array(FIVE_POINTS_64) * self.size / 64
        matrix = similarity(points, target)
        residual = np.sqrt(((apply(matrix, points) - target) ** 2).sum(1).mean()) * 64 / self.size
        crop_per_box = self.size / (math.hypot(matrix[0, 0], matrix[0, 1]) * box_side)
        if residual > MAX_RESIDUAL or not CROP_PER_BOX[0] < crop_per_box < CROP_PER_BOX[1]:
            return None
        return matrix

    def _face(self, turned: np.ndarray, box, back: np.ndarray, shrink: float):
        """(photo -> crop matrix, the five points in the photo) for a confirmed box, or None."""
        points = apply(back, self.landmarks(turned, box))
        matrix = self.fit(points, box[2] / shrink)
        return None if matrix is None else (matrix, points)

    def align(self, photo: np.ndarray) -> Alignment:
        """The face of `photo` on the training crop: the largest confirmed face of the first pass
        (PASSES) that confirms one; NoFace if none does."""
        import cv2

        photo = np.ascontiguousarray(photo[..., :3] if photo.ndim == 3 else np.repeat(photo[..., None], 3, 2))
        if photo.shape[2] == 1:
            photo = np.repeat(photo, 3, 2)
        shrink = min(1.0, DETECT_SIDE / max(photo.shape[:2]))
        small = photo if shrink == 1 else cv2.resize(photo, None, fx=shrink, fy=shrink, interpolation=cv2.INTER_AREA)
        h, w = small.shape[:2]
        budget, deadline = MAX_CONFIRM, time.perf_counter() + TIME_BUDGET
        for angle, upsample in PASSES:
            if budget <= 0 or time.perf_counter() > deadline:
                break
            turn = cv2.getRotationMatrix2D((w / 2, h / 2), angle, 1.0)
            turned = np.ascontiguousarray(
                cv2.warpAffine(small, turn, (w, h), borderMode=cv2.BORDER_REPLICATE) if angle else small)
            proposals = self.propose(turned, upsample)
            for i, (box, _) in enumerate(proposals):
                if box[2] / shrink < MIN_FACE or budget <= 0 or time.perf_counter() > deadline:
                    continue
                budget -= 1
                back = np.linalg.inv(np.vstack([turn, [0, 0, 1]]))[:2] / shrink  # turned -> photo
                fitted = self._face(turned, box, back, shrink) if self.confirm(turned, box) else None
                if fitted is None:
                    continue
                others, checks = 0, OTHERS[1]  # the other faces: HOG's sure ones, and likely ones MMOD confirms
                for other, score in proposals[i + 1:]:
                    if score > SURE:
                        others += 1
                    elif (score > OTHERS[0] and other[2] / shrink >= MIN_FACE and checks > 0
                          and time.perf_counter() <= deadline):
                        checks -= 1
                        if self.confirm(turned, other):
                            others += 1
                            larger = self._face(turned, other, back, shrink) if other[2] > box[2] else None
                            box, fitted = (other, larger) if larger is not None else (box, fitted)
                matrix, points = fitted
                (cx, cy), = apply(back, [(box[0] + box[2] / 2, box[1] + box[3] / 2)])
                side = box[2] / shrink
                notes = [f"found {others + 1} faces; took the largest"] if others else []
                return Alignment(warp(photo, matrix, self.size), matrix,
                                 tuple(int(round(v)) for v in (cx - side / 2, cy - side / 2, side, side)),
                                 others + 1, notes, points)
        raise NoFace("no_face_found", min=MIN_FACE)


def paste(face: np.ndarray, rng: np.random.Generator, canvas: int = 512, scales=(2.0, 4.0),
          degrees: float = 20.0, blur: float = 24.0, background: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """A synthetic photo for measuring the aligner: `face` (a training-crop face, uint8 [S, S, 3])
    scaled by a random factor in `scales`, turned by up to +-`degrees` and put at a random place
    on a `canvas`-pixel square of smooth random colour (or `background`, uint8 [H, W, 3], resized
    to fill it). Returns (photo, crop pixel -> photo pixel)."""
    import cv2

    size = face.shape[0]
    s, angle = rng.uniform(*scales), math.radians(rng.uniform(-degrees, degrees))
    side = size * s * 1.42  # room for the turned square
    cx, cy = rng.uniform(side / 2, canvas - side / 2, size=2)
    rot = s * np.array([[math.cos(angle), -math.sin(angle)], [math.sin(angle), math.cos(angle)]])
    matrix = np.hstack([rot, (np.array([cx, cy]) - rot @ [(size - 1) / 2, (size - 1) / 2])[:, None]])
    if background is None:
        background = cv2.resize(rng.integers(0, 256, (16, 16, 3)).astype(np.uint8), (canvas, canvas),
                                interpolation=cv2.INTER_CUBIC)
        background = cv2.GaussianBlur(background, (0, 0), blur)
    else:
        background = cv2.resize(np.ascontiguousarray(background[..., :3]), (canvas, canvas), interpolation=cv2.INTER_AREA)
    warped = cv2.warpAffine(face, matrix, (canvas, canvas), flags=cv2.INTER_LINEAR)
    inside = cv2.warpAffine(np.ones(face.shape[:2], np.uint8), matrix, (canvas, canvas), flags=cv2.INTER_NEAREST)
    return np.where(inside[..., None] > 0, warped, background), matrix


def eye_error(found: np.ndarray, pasted: np.ndarray, size: int = 64) -> float:
    """Mean distance (crop pixels) between where the eye places of the true crop land through
    `found` (photo -> crop) and where they should be; `pasted` is paste()'s crop -> photo."""
    eyes = eye_targets(size)
    in_photo = pasted[:, :2] @ eyes.T + pasted[:, 2:]
    back = found[:, :2] @ in_photo + found[:, 2:]
    return float(np.linalg.norm(back.T - eyes, axis=1).mean())
