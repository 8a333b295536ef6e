"""Find the face in a photo and warp it onto the training crop, where the model's faces sit.

    aligner = Aligner(template)              # template: the model's mean face, uint8 [S, S, 3]
    found = aligner.align(photo)             # photo: uint8 [H, W, 3], any size
    found.crop                               # uint8 [S, S, 3], eyes where the training faces have them
    found.note                               # "found 2 faces; took the largest", ...

1. OpenCV's Haar cascade (shipped inside the opencv-python-headless wheel, so it loads offline)
   finds faces, at a few rotations of the photo; the largest whose eyes are found wins.
2. Its eye cascade finds the eyes inside the face; a similarity transform (scale, rotation,
   shift) puts them where CelebA's aligned crops put them. Without two eyes, the face box
   alone gives the first guess.
3. Where only the face box was found, the transform is refined by matching the crop to the
   model's mean face (normalised cross-correlation of the grey images, Adam on 4 numbers).

Where the eyes sit, in the 64x64 crop: from CelebA's official aligned landmarks, (69, 111) and
(108, 111) in the 178x218 images, through the data's crop box (35, 55, 143, 163) and 64/108.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F

from ..errors import UserError

EYES_64 = ((20.3, 33.3), (43.1, 33.3))  # left and right eye centres in the 64x64 training crop
# Where the centres of OpenCV's eye boxes fall in the true crop: a little off the landmarks
# (medians over 311 `train` faces pasted into photos, eyes found; see bench/inversion.py)
HAAR_EYES_64 = ((19.03, 33.33), (42.91, 33.43))
MAX_CANDIDATES = 8      # face boxes looked at for eyes
MIN_FACE = 32           # pixels: a smaller face holds too little to find in the model
ROTATIONS = (0, -12, 12, -25, 25)  # degrees the photo is turned to look for upright faces


class NoFace(UserError):
    """No face in the photo (or one too small): the manual crop is the way on."""


@dataclass
class Alignment:
    crop: np.ndarray                  # uint8 [S, S, 3]: the face on the training crop
    matrix: np.ndarray                # 2x3: photo pixel -> crop pixel
    box: tuple[int, int, int, int]    # the detected face (x, y, w, h) in the turned photo
    faces: int                        # faces found
    eyes: bool                        # whether both eyes were found
    notes: list[str] = field(default_factory=list)

    @property
    def note(self) -> str:
        return "; ".join(self.notes)


def _cascade(name: str):
    import cv2

    cascade = cv2.CascadeClassifier(cv2.data.haarcascades + name)
    if cascade.empty():
        raise RuntimeError(f"OpenCV's {name} did not load")
    return cascade


def eye_targets(size: int) -> np.ndarray:
    return np.array(EYES_64, np.float64) * size / 64


def similarity_from_eyes(left, right, size: int) -> np.ndarray:
    """The 2x3 similarity that takes the centres of the two eye boxes onto their places in the crop."""
    src, dst = np.array([left, right], np.float64), np.array(HAAR_EYES_64) * size / 64
    vs, vd = src[1] - src[0], dst[1] - dst[0]
    scale = np.linalg.norm(vd) / max(np.linalg.norm(vs), 1e-6)
    angle = math.atan2(vd[1], vd[0]) - math.atan2(vs[1], vs[0])
    c, s = scale * math.cos(angle), scale * math.sin(angle)
    rot = np.array([[c, -s], [s, c]])
    shift = dst[0] - rot @ src[0]
    return np.hstack([rot, shift[:, None]])


def similarity_from_box(box, size: int) -> np.ndarray:
    """A first guess from a face box alone: OpenCV's frontal box spans about the training crop's
    width, with the eyes a little above its middle (measured on pasted training faces)."""
    x, y, w, h = box
    scale = size / (w * BOX_TO_CROP)
    cx, cy = x + w * BOX_CENTRE_X, y + h * BOX_CENTRE_Y
    return np.array([[scale, 0, size / 2 - scale * cx], [0, scale, size / 2 - scale * cy]])


# Where the training crop sits against OpenCV's face box, measured on 150 pasted `test` faces
# (medians): its side is 1.04 box sides, its centre 0.50 across and 0.36 down the box.
BOX_TO_CROP = 1.04
BOX_CENTRE_X = 0.50
BOX_CENTRE_Y = 0.36


def rotation_about(angle: float, centre) -> np.ndarray:
    """2x3: turn by `angle` degrees about `centre` (as cv2.getRotationMatrix2D)."""
    import cv2

    return cv2.getRotationMatrix2D((float(centre[0]), float(centre[1])), angle, 1.0)


def compose(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """The 2x3 map `a` after `b`."""
    return (np.vstack([a, [0, 0, 1]]) @ np.vstack([b, [0, 0, 1]]))[:2]


def warp(photo: np.ndarray, matrix: np.ndarray, size: int) -> np.ndarray:
    import cv2

    return cv2.warpAffine(photo, matrix, (size, size), flags=cv2.INTER_AREA if matrix[0, 0] < 1 else cv2.INTER_LINEAR,
                          borderMode=cv2.BORDER_REPLICATE)


class Aligner:
    def __init__(self, template: np.ndarray | None = None, refine_steps: int = 60):
        """`template`: the model's mean face, uint8 [S, S, C] (S the crop's size); None: no refinement."""
        self.template = template
        self.refine_steps = refine_steps
        self._faces = _cascade("haarcascade_frontalface_default.xml")
        self._eyes = _cascade("haarcascade_eye.xml")

    @property
    def size(self) -> int:
        return 64 if self.template is None else self.template.shape[0]

    def detect(self, photo: np.ndarray) -> list[tuple[np.ndarray, tuple, float]]:
        """Face candidates as (turn matrix photo -> turned photo, box in the turned photo, the
        cascade's confidence), from every rotation in ROTATIONS, most confident first."""
        import cv2

        grey = cv2.cvtColor(photo, cv2.COLOR_RGB2GRAY) if photo.ndim == 3 else photo
        h, w = grey.shape
        found = []
        for angle in ROTATIONS:
            turn = rotation_about(angle, (w / 2, h / 2))
            turned = cv2.warpAffine(grey, turn, (w, h), borderMode=cv2.BORDER_REPLICATE) if angle else grey
            boxes, _, weights = self._faces.detectMultiScale3(
                cv2.equalizeHist(turned), scaleFactor=1.1, minNeighbors=5, minSize=(MIN_FACE, MIN_FACE),
                outputRejectLevels=True)
            found += [(turn, tuple(int(v) for v in b), float(c)) for b, c in zip(boxes, np.ravel(weights))]
        return sorted(found, key=lambda f: -f[2])

    def find_eyes(self, grey: np.ndarray, box) -> tuple | None:
        """Both eye centres (in the turned photo) inside a face box, or None: of the eye
        cascade's finds, the pair nearest where the box says the eyes are, if near enough."""
        x, y, w, h = box
        top = grey[y:y + int(h * 0.6), x:x + w]
        eyes = self._eyes.detectMultiScale(top, scaleFactor=1.05, minNeighbors=3,
                                           minSize=(max(6, w // 10), max(6, w // 10)), maxSize=(w // 3, w // 3))
        centres = [np.array([x + ex + ew / 2, y + ey + eh / 2]) for ex, ey, ew, eh in eyes]
        from_box = np.linalg.inv(np.vstack([similarity_from_box(box, 64), [0, 0, 1]]))[:2]
        expected = [from_box @ [*eye, 1] for eye in EYES_64]
        pairs = [(a, b) for a in centres for b in centres
                 if a[0] < b[0] and all(np.linalg.norm(c - e) < 0.15 * w for c, e in ((a, expected[0]), (b, expected[1])))]
        if not pairs:
            return None
        a, b = min(pairs, key=lambda p: np.linalg.norm(p[0] - expected[0]) + np.linalg.norm(p[1] - expected[1]))
        return tuple(a), tuple(b)

    def align(self, photo: np.ndarray) -> Alignment:
        """The face of `photo` on the training crop: the largest of the cascade's faces whose two
        eyes are found, else its most confident face; NoFace if there is none."""
        import cv2

        photo = np.ascontiguousarray(photo[..., :3] if photo.ndim == 3 else np.repeat(photo[..., None], 3, 2))
        candidates = self.detect(photo)
        if not candidates:
            raise NoFace("no_face_found", min=MIN_FACE)
        turned, with_eyes = {}, []
        for turn, box, _ in candidates[:MAX_CANDIDATES]:
            key = turn.tobytes()
            if key not in turned:
                turned[key] = cv2.cvtColor(cv2.warpAffine(photo, turn, photo.shape[1::-1],
                                                          borderMode=cv2.BORDER_REPLICATE), cv2.COLOR_RGB2GRAY)
            eyes = self.find_eyes(turned[key], box)
            if eyes:
                with_eyes.append((turn, box, eyes))
        turn, box, eyes = max(with_eyes, key=lambda c: c[1][2]) if with_eyes else (*candidates[0][:2], None)
        matrix = compose(similarity_from_eyes(*eyes, self.size) if eyes else similarity_from_box(box, self.size), turn)
        same_turn = [c for c in candidates if np.array_equal(c[0], turn)]
        notes = [f"found {len(same_turn)} faces; took the largest"] if len(same_turn) > 1 else []
        size = self.size
        if not eyes and self.template is not None and self.refine_steps:  # a box alone is a rough guess
            matrix = refine(photo, matrix, self.template, self.refine_steps)
        return Alignment(warp(photo, matrix, size), matrix, box, len(same_turn), eyes is not None, notes)


def _grey(x: torch.Tensor) -> torch.Tensor:
    return (0.299 * x[:, 0] + 0.587 * x[:, 1] + 0.114 * x[:, 2])[:, None] if x.shape[1] == 3 else x


def _centre_weight(size: int, sigma: float = 0.45) -> torch.Tensor:
    yy, xx = torch.meshgrid(torch.linspace(-1, 1, size), torch.linspace(-1, 1, size), indexing="ij")
    return torch.exp(-(xx ** 2 + yy ** 2) / (2 * sigma ** 2))[None, None]


def _ncc(a: torch.Tensor, b: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    a = a - (a * weight).sum() / weight.sum()
    b = b - (b * weight).sum() / weight.sum()
    return (a * b * weight).sum() / ((a * a * weight).sum() * (b * b * weight).sum()).sqrt().clamp(min=1e-8)


def refine(photo: np.ndarray, matrix: np.ndarray, template: np.ndarray, steps: int = 60, lr: float = 0.01) -> np.ndarray:
    """`matrix` (photo -> crop) adjusted by a small similarity so that the crop best matches
    `template` (normalised cross-correlation of grey images, centre-weighted)."""
    size = template.shape[0]
    h, w = photo.shape[:2]
    with torch.inference_mode(False), torch.enable_grad():
        image = torch.from_numpy(np.ascontiguousarray(photo)).permute(2, 0, 1)[None].float() / 255
        image = _grey(image)
        target = _grey(torch.from_numpy(np.ascontiguousarray(template)).permute(2, 0, 1)[None].float() / 255)
        weight = _centre_weight(size)
        inverse = np.linalg.inv(np.vstack([matrix, [0, 0, 1]]))  # crop pixel -> photo pixel
        # in normalised coordinates: crop [-1, 1] -> photo [-1, 1]
        to_pixels = np.array([[size / 2, 0, size / 2 - 0.5], [0, size / 2, size / 2 - 0.5], [0, 0, 1]])
        to_norm = np.array([[2 / w, 0, 1 / w - 1], [0, 2 / h, 1 / h - 1], [0, 0, 1]])
        base = torch.tensor((to_norm @ inverse @ to_pixels)[:2], dtype=torch.float32)
        params = torch.zeros(4, requires_grad=True)  # log-scale, angle, shift x, shift y (crop units)
        optimizer = torch.optim.Adam([params], lr=lr)
        blur = max(1, int(round(w / size / 2)))
        source = F.avg_pool2d(image, 2 * blur + 1, 1, blur) if blur > 1 else image

        def theta() -> torch.Tensor:
            s, a = torch.exp(params[0]), params[1]
            local = torch.stack([torch.stack([s * torch.cos(a), -s * torch.sin(a), params[2]]),
                                 torch.stack([s * torch.sin(a), s * torch.cos(a), params[3]]),
                                 torch.tensor([0.0, 0.0, 1.0])])
            return base @ local

        for _ in range(steps):
            grid = F.affine_grid(theta()[None], (1, 1, size, size), align_corners=False)
            crop = F.grid_sample(source, grid, align_corners=False, padding_mode="border")
            loss = -_ncc(crop, target, weight)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        final = torch.cat([theta().detach(), torch.tensor([[0.0, 0.0, 1.0]])]).double().numpy()
    # back to pixels: crop pixel -> photo pixel is to_norm^-1 @ final @ to_pixels^-1
    inverse = np.linalg.inv(to_norm) @ final @ np.linalg.inv(to_pixels)
    return np.linalg.inv(inverse)[:2]


def paste(face: np.ndarray, rng: np.random.Generator, canvas: int = 512, scales=(2.0, 4.0),
          degrees: float = 20.0, blur: float = 24.0) -> tuple[np.ndarray, np.ndarray]:
    """A synthetic photo for measuring the aligner: `face` (a training-crop face, uint8 [S, S, 3])
    scaled by a random factor in `scales`, turned by up to +-`degrees` and put at a random place
    on a `canvas`-pixel square of smooth random colour. Returns (photo, crop pixel -> photo pixel)."""
    import cv2

    size = face.shape[0]
    s, angle = rng.uniform(*scales), math.radians(rng.uniform(-degrees, degrees))
    side = size * s * 1.42  # room for the turned square
    cx, cy = rng.uniform(side / 2, canvas - side / 2, size=2)
    rot = s * np.array([[math.cos(angle), -math.sin(angle)], [math.sin(angle), math.cos(angle)]])
    matrix = np.hstack([rot, (np.array([cx, cy]) - rot @ [(size - 1) / 2, (size - 1) / 2])[:, None]])
    background = cv2.resize(rng.integers(0, 256, (16, 16, 3)).astype(np.uint8), (canvas, canvas),
                            interpolation=cv2.INTER_CUBIC)
    background = cv2.GaussianBlur(background, (0, 0), blur)
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
