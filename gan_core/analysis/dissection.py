"""Network dissection of the discriminator (Bau et al. 2017): which of D's units fire on the eyes,
nose, mouth, hair, skin or background of an aligned face, and which separate CelebA's labels.

    masks = part_masks(images)                        # bool [N, 6, 64, 64], PARTS' order
    table = dissect(gan.D, images, ids, labels)       # a UnitTable: every unit of every layer
    table.save(folder); table = load_units(folder)    # units.json beside the model (None without one)
    table.named(layer)                                # the units with a name, best first
    picture = unit_overlay(image, maps[unit], table.unit(layer, unit).threshold, 128)

Images are uint8 [N, 64, 64, 3] aligned as CelebA's 108x108 centre crop (the training data):
the eyes, nose and mouth sit at nearly fixed places (gan_core.photos.align.EYES_64), so their
regions are fixed ellipses; skin, hair and background are read from each image's colours.

A unit's map (after its LeakyReLU) is upsampled (bilinear) to 64x64 and thresholded, for each part,
at the top quantile of its activations (over all faces and places) equal to the part's share of the
pixels: a unit that fires exactly on the eyes covers as many pixels as the eyes do. (Bau keeps the
top 0.5% for every concept; here the parts are few and large, and with 0.5% of the pixels a unit
could cover at most an eighth of the eyes.) Its IoU with each part is summed over IOU_FACES faces
(intersection over union of the totals, as Bau does). Its face score (the map's mean) gives
the AUC of each label on the labelled faces. A unit is named by its best part (the highest IoU above
what a map of its size dropped at random would get) when the IoU is at least MIN_IOU and twice
that chance (the background, 40% of the pixels, gets 0.25 by chance), else by its best label when
the AUC is at least MIN_AUC ("not <label>" when the AUC is at most 1 - MIN_AUC: it fires less on
faces with it), else it has no name.
"""
from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from ..data.media import colormap
from ..model.checkpoints import atomic_write
from ..photos.align import EYES_64

UNITS_FILE = "units.json"
SIDE = 64                  # the aligned crop the parts are drawn on
IOU_FACES = 256            # faces the IoUs are summed over (evenly spaced; thresholds, AUCs, top faces: all)
MIN_IOU = 0.2              # named by a part at this IoU or more...
MIN_AUC = 0.8              # ...else by a label at this AUC or more (or 1 - AUC, as "not <label>")
TOP_FACES = 8              # the faces kept per unit (CelebA ids)
PARTS = ("eyes", "nose", "mouth", "hair", "skin", "background")
# a label's name -> (its metadata.csv column, the value that means "has it")
LABELS = {
    "eyeglasses": ("Eyeglasses", 1), "smiling": ("Smiling", 1), "mouth open": ("Mouth_Slightly_Open", 1),
    "black hair": ("Black_Hair", 1), "blond hair": ("Blond_Hair", 1), "brown hair": ("Brown_Hair", 1),
    "gray hair": ("Gray_Hair", 1), "bangs": ("Bangs", 1), "beard": ("No_Beard", -1),
    "hat": ("Wearing_Hat", 1), "male": ("Male", 1),
}
# the face feature a label speaks of, for counting eye, mouth and hair units (None: none of them)
LABEL_FEATURE = {"eyeglasses": "eyes", "smiling": "mouth", "mouth open": "mouth", "black hair": "hair",
                 "blond hair": "hair", "brown hair": "hair", "gray hair": "hair", "bangs": "hair",
                 "beard": None, "hat": None, "male": None}
FEATURES = ("eyes", "mouth", "hair")  # what the page lists for the current face

# --- part regions of the 64x64 aligned crop (CelebA landmarks mapped through the crop) ---------
NOSE_64 = (31.4, 47.7)                      # the nose tip
MOUTH_64 = ((21.6, 57.6), (41.8, 57.6))     # the mouth corners
FACE_OVAL = (31.7, 41.0, 21.0, 30.0)        # centre x, y, half-width, half-height: brows to chin
HEAD_OVAL = (31.7, 38.0, 30.0, 36.0)        # the face and the hair around it
CHEEKS = ((15, 44), (48, 44))               # cheek patches (x, y): the face's skin colour
SKIN_DISTANCE = 0.10                        # colour distance (chromaticity + brightness) still skin


def _ellipse(cx: float, cy: float, rx: float, ry: float, side: int = SIDE) -> np.ndarray:
    y, x = np.mgrid[:side, :side] + 0.5  # pixel centres
    return ((x - cx) / rx) ** 2 + ((y - cy) / ry) ** 2 <= 1


def fixed_parts() -> dict[str, np.ndarray]:
    """The eyes, nose and mouth regions (bool [64, 64]) shared by every aligned face."""
    eyes = _ellipse(*EYES_64[0], 6.5, 4.0) | _ellipse(*EYES_64[1], 6.5, 4.0)
    nose = _ellipse(NOSE_64[0], NOSE_64[1] - 5.5, 4.5, 8.0)  # bridge to tip
    mouth = _ellipse((MOUTH_64[0][0] + MOUTH_64[1][0]) / 2, MOUTH_64[0][1] + 0.5, 12.0, 4.5)
    return {"eyes": eyes, "nose": nose, "mouth": mouth}


def _colour(images: np.ndarray) -> np.ndarray:
    """float [..., 3]: chromaticity (r, g over r+g+b, about 0-1) and brightness (0-0.5)."""
    rgb = images.astype(np.float32) + 1.0
    total = rgb.sum(-1, keepdims=True)
    return np.concatenate([rgb[..., :2] / total * 2, total / 1536], -1)  # brightness counts half: light varies


def part_masks(images: np.ndarray) -> np.ndarray:
    """bool [N, len(PARTS), 64, 64]: each face's eyes, nose, mouth (fixed places), skin (pixels of the
    face oval and the neck coloured like the cheeks, outside the eyes and mouth), hair (the other
    pixels of the head oval above the mouth that are closer in colour to the top of the head than to
    the image's top corners) and background (the rest, outside the face oval and the skin)."""
    images = np.asarray(images)
    if images.ndim != 4 or images.shape[1:] != (SIDE, SIDE, 3):
        raise ValueError(f"expected aligned faces uint8 [N, {SIDE}, {SIDE}, 3], got {images.shape}")
    n = len(images)
    fixed = fixed_parts()
    features = fixed["eyes"] | fixed["mouth"]
    face, head = _ellipse(*FACE_OVAL), _ellipse(*HEAD_OVAL)
    rows = np.arange(SIDE)[:, None].repeat(SIDE, 1)
    colour = _colour(images)                                                  # [N, 64, 64, 3]

    def patch_colour(points, r=2):
        patches = [colour[:, y - r:y + r, x - r:x + r].reshape(n, -1, 3) for x, y in points]
        return np.median(np.concatenate(patches, 1), 1)

    cheek = patch_colour(CHEEKS)                                              # [N, 3]
    top = patch_colour([(26, 3), (32, 3), (38, 3)])                           # the top of the head
    corners = patch_colour([(3, 3), (60, 3), (3, 20), (60, 20)])              # the image's top corners
    distance = lambda ref: np.sqrt(((colour - ref[:, None, None]) ** 2).sum(-1))  # noqa: E731
    skin_like = distance(cheek) < SKIN_DISTANCE
    neck = _ellipse(31.7, 66.0, 14.0, 10.0)
    skin = skin_like & (face | neck)[None] & ~features[None]
    hair_like = distance(top) < distance(corners)
    around = head & (rows < 52) & ~(face & (rows >= 26)) & ~features  # above the eyes, or beside the face
    hair = hair_like & around[None] & ~skin
    background = ~face[None] & ~skin & ~hair
    out = np.empty((n, len(PARTS), SIDE, SIDE), bool)
    for i, part in enumerate(PARTS):
        out[:, i] = {"skin": skin, "hair": hair, "background": background}.get(part, fixed.get(part))
    return out


# --- the unit table ---------------------------------------------------------------------------
@dataclass
class Unit:
    layer: int                 # 1 for D's first (shallowest) feature layer
    unit: int                  # its index in the layer
    threshold: float           # its threshold for its best part (the top quantile of that part's share)
    part: str                  # its best part (highest IoU above chance)
    iou: float
    label: str                 # its best label (AUC furthest from 0.5; "not X" when it fires less with X)
    auc: float                 # the AUC of "X" or "not X" (so at least 0.5)
    name: str = ""             # the part, the label, or "" (unnamed)
    kind: str = ""             # "part", "label" or ""
    feature: str = ""          # eyes / mouth / hair / nose / skin / background, or "" (another label or none)
    top: list[str] = field(default_factory=list)  # CelebA ids of its top faces (highest mean activation)

    @property
    def score(self) -> float:
        """How strongly it earns its name: its IoU, or for a label unit its AUC's margin."""
        return self.iou if self.kind == "part" else self.auc - MIN_AUC + MIN_IOU if self.kind == "label" else 0.0


def name_unit(part: str, iou: float, label: str, auc: float, chance: float = 0.0) -> tuple[str, str, str]:
    """(name, kind, feature) of a unit from its best part and label: the part if its IoU is at least
    MIN_IOU and at least twice `chance` (a map of the same size dropped at random), else the label
    if its AUC is at least MIN_AUC. A "not X" label counts for no feature: it says where X is not."""
    if iou >= max(MIN_IOU, 2 * chance):
        return part, "part", part
    if auc >= MIN_AUC:
        return label, "label", "" if label.startswith("not ") else LABEL_FEATURE.get(label) or ""
    return "", "", ""


@dataclass
class UnitTable:
    layers: list[list[Unit]]   # layers[i]: every unit of D's layer i + 1
    settings: dict = field(default_factory=dict)  # how it was made: data, faces, quantiles, thresholds
    # dissect's full measures, per layer (not saved): "iou" [U, PARTS], "auc" [U, LABELS] (NaN: unknown)
    matrices: dict = field(default_factory=dict, repr=False)

    def unit(self, layer: int, unit: int) -> Unit:
        return self.layers[layer - 1][unit]

    def named(self, layer: int) -> list[Unit]:
        """Layer `layer`'s named units, the strongest first."""
        return sorted((u for u in self.layers[layer - 1] if u.name), key=lambda u: -u.score)

    def counts(self) -> list[dict[str, int]]:
        """Per layer: named units per feature (eyes, mouth, hair, nose, skin, background, other label)."""
        out = []
        for units in self.layers:
            count = {f: 0 for f in (*PARTS, "other label")}
            for u in units:
                if u.name:
                    count[u.feature or "other label"] += 1
            out.append(count)
        return out

    def to_json(self) -> dict:
        return {"method": "network dissection (Bau et al. 2017)", **self.settings,
                "layers": [[_compact(asdict(u)) for u in units] for units in self.layers]}

    def save(self, folder: str | os.PathLike) -> Path:
        """units.json in `folder`: one line per unit, written whole or not at all."""
        data = self.to_json()
        layers = data.pop("layers")
        head = json.dumps(data, indent=1)[:-2]
        body = ",\n".join("[\n" + ",\n".join(json.dumps(u) for u in units) + "\n]" for units in layers)
        text = f'{head},\n "layers": [\n{body}\n]}}\n'
        path = Path(folder) / UNITS_FILE
        atomic_write(path, lambda tmp: Path(tmp).write_text(text))
        return path


def _compact(unit: dict) -> dict:
    return {k: round(v, 4) if isinstance(v, float) else v for k, v in unit.items()}


def load_units(folder: str | os.PathLike | None) -> UnitTable | None:
    """The unit table shipped with a model (its folder's units.json), or None when it has none."""
    path = Path(folder) / UNITS_FILE if folder else None
    if path is None or not path.is_file():
        return None
    data = json.loads(path.read_text())
    layers = [[Unit(**u) for u in units] for units in data.pop("layers")]
    data.pop("method", None)
    return UnitTable(layers, data)


# --- dissection -------------------------------------------------------------------------------
def label_matrix(metadata: dict[str, list[str]]) -> np.ndarray:
    """float [N, len(LABELS)]: 1 where a face has the label, 0 where not, NaN where unknown."""
    n = len(metadata["file_name"])
    out = np.full((n, len(LABELS)), np.nan, np.float32)
    for j, (column, yes) in enumerate(LABELS.values()):
        for i, value in enumerate(metadata.get(column, [""] * n)):
            if value.strip() in ("1", "-1"):
                out[i, j] = float(int(value) == yes)
    return out


def auc(scores: np.ndarray, positive: np.ndarray) -> np.ndarray:
    """The ROC AUC of each column of `scores` [N, U] at telling `positive` (bool [N]) faces from the
    others (Mann-Whitney, ties counted half); NaN when one class is empty."""
    scores = torch.as_tensor(np.asarray(scores, np.float64))
    positive = torch.as_tensor(np.asarray(positive, bool))
    n_pos, n_neg = int(positive.sum()), int((~positive).sum())
    if n_pos == 0 or n_neg == 0:
        return np.full(scores.shape[1], np.nan)
    order = scores.argsort(0)
    ranks = torch.empty_like(scores)
    first_ranks = torch.arange(1, len(scores) + 1, dtype=scores.dtype)[:, None].expand_as(scores).contiguous()
    ranks.scatter_(0, order, first_ranks)
    # average ranks over ties: sort, then give each run of equal values its mean rank
    sorted_scores = scores.gather(0, order)
    for col in range(scores.shape[1]):
        values, inverse, counts = torch.unique_consecutive(sorted_scores[:, col], return_inverse=True,
                                                           return_counts=True)
        if len(values) == len(scores):
            continue
        ends = counts.cumsum(0).to(scores.dtype)
        mean_rank = ends - (counts.to(scores.dtype) - 1) / 2
        ranks[order[:, col], col] = mean_rank[inverse]
    rank_sum = ranks[positive].sum(0)
    return ((rank_sum - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg)).numpy()


@torch.no_grad()
def activations(D, images: np.ndarray, batch_size: int = 128) -> list[torch.Tensor]:
    """D's feature maps on uint8 [N, S, S, 3] faces, float16 [N, units, h, w] per layer (on the CPU)."""
    from ..model.networks import from_uint8
    D = D.eval()
    device = next(D.parameters()).device
    out: list[list[torch.Tensor]] = []
    for start in range(0, len(images), batch_size):
        maps = D.features(from_uint8(images[start:start + batch_size], device).contiguous())
        if not out:
            out = [[] for _ in maps]
        for kept, m in zip(out, maps):
            kept.append(m.half().cpu())
    return [torch.cat(kept) for kept in out]


def _bilinear(side_in: int, side_out: int = SIDE) -> torch.Tensor:
    """The matrix [side_out, side_in] of 1-D bilinear upsampling (align_corners=False), so that
    A @ m @ A.T upsamples a map m as F.interpolate does, as two matrix products."""
    return F.interpolate(torch.eye(side_in)[None], size=side_out, mode="linear", align_corners=False)[0].T


def upsampled(maps: torch.Tensor, side: int = SIDE) -> torch.Tensor:
    """Feature maps [N, U, h, w] at side x side, bilinear (float32)."""
    a = _bilinear(maps.shape[-1], side)
    return a @ maps.float() @ a.T


def _thresholds(maps: torch.Tensor, quantiles: list[float], most: int = 1 << 18) -> torch.Tensor:
    """[U, len(quantiles)]: each unit's activation at the top `q` of its values over the faces and
    places (from at most `most` evenly spaced values per unit)."""
    flat = maps.transpose(0, 1).reshape(maps.shape[1], -1)
    flat = flat[:, ::max(1, flat.shape[1] // most)].float()
    q = torch.tensor([1 - q for q in quantiles])
    return torch.stack([torch.quantile(row, q) for row in flat])


def dissect(D, images: np.ndarray, ids: list[str], labels: np.ndarray | None = None,
            iou_faces: int = IOU_FACES, batch_size: int = 16, settings: dict | None = None) -> UnitTable:
    """Every unit of every layer of D, dissected on aligned faces `images` (uint8 [N, 64, 64, 3]) whose
    CelebA ids are `ids`; `labels` as label_matrix makes them (None: no labels). The IoUs are summed
    over `iou_faces` of the faces, evenly spaced; the rest uses them all."""
    images = np.asarray(images)
    if len(ids) != len(images):
        raise ValueError(f"{len(images)} faces but {len(ids)} ids")
    sample = np.linspace(0, len(images) - 1, min(iou_faces, len(images))).round().astype(int)
    masks = torch.from_numpy(part_masks(images[sample])).flatten(2)          # bool [n, P, 4096]
    part_area = masks.sum((0, 2)).double()                                   # [P]
    share = (part_area / (len(sample) * SIDE * SIDE)).clamp(0.01, 0.49)       # each part's share of the pixels
    quantiles, chance = share.tolist(), (share / (2 - share)).numpy()        # chance: a map dropped at random
    labels = np.full((len(images), len(LABELS)), np.nan, np.float32) if labels is None else labels
    table, matrices = [], {}
    for number, maps in enumerate(activations(D, images), start=1):
        units = maps.shape[1]
        thresholds = _thresholds(maps, quantiles)                            # [U, P]
        inter = torch.zeros(units, len(PARTS), dtype=torch.float64)
        area = torch.zeros(units, len(PARTS), dtype=torch.float64)
        picked = maps[torch.from_numpy(sample)]
        for start in range(0, len(sample), batch_size):
            up = upsampled(picked[start:start + batch_size]).flatten(2)        # [b, U, 4096]
            part = masks[start:start + batch_size].float()
            for p in range(len(PARTS)):
                on = (up > thresholds[:, p][None, :, None]).float()
                area[:, p] += on.sum((0, 2)).double()
                inter[:, p] += torch.bmm(on, part[:, p, :, None]).sum((0, 2)).double()
        iou = (inter / (area + part_area[None] - inter).clamp(min=1)).numpy()
        excess = iou - chance[None]
        scores = maps.float().mean((2, 3)).numpy()                           # [N, U]: each face's mean
        aucs = np.full((units, len(LABELS)), np.nan)
        for j in range(len(LABELS)):
            known = ~np.isnan(labels[:, j])
            if known.sum() >= 2:
                aucs[:, j] = auc(scores[known], labels[known, j] > 0.5)
        top = np.argsort(-scores, axis=0, kind="stable")[:TOP_FACES].T       # [U, TOP_FACES]
        matrices.setdefault("iou", []).append(iou)
        matrices.setdefault("auc", []).append(aucs)
        layer = []
        for u in range(units):
            p = int(excess[u].argmax())
            margin = np.nan_to_num(np.abs(aucs[u] - 0.5), nan=-1.0)
            j = int(margin.argmax())
            label, a = list(LABELS)[j], float(aucs[u, j])
            if np.isnan(a):
                a = 0.5
            elif a < 0.5:
                label, a = f"not {label}", 1 - a
            name, kind, feature = name_unit(PARTS[p], float(iou[u, p]), label, a, float(chance[p]))
            layer.append(Unit(number, u, float(thresholds[u, p]), PARTS[p], float(iou[u, p]), label, a, name, kind,
                              feature, [str(ids[i]) for i in top[u]]))
        table.append(layer)
    info = {"faces": len(images), "iou_faces": len(sample), "labelled": int((~np.isnan(labels)).any(1).sum()),
            "quantiles": {part: round(q, 4) for part, q in zip(PARTS, quantiles)},
            "chance_iou": {part: round(float(c), 4) for part, c in zip(PARTS, chance)},
            "min_iou": MIN_IOU, "min_auc": MIN_AUC, "parts": list(PARTS),
            "labels": {name: column if yes == 1 else f"{column} = -1" for name, (column, yes) in LABELS.items()},
            "face_score": "mean activation", "upsampling": "bilinear to 64x64"}
    return UnitTable(table, {**info, **(settings or {})}, matrices)


# --- pictures ---------------------------------------------------------------------------------
def unit_overlay(image: np.ndarray, unit_map: np.ndarray, scale: float, size: int = 128) -> np.ndarray:
    """A unit's map over a face (uint8 RGB [size, size, 3]): the face grey and dimmed, the map
    (upsampled bilinear, as dissected) in colour, full from `scale` up: a part unit's threshold shows
    the region it was measured on; a label unit's top activation, where it fires most."""
    from .teacher import _dimmed_grey  # the same look as the tab's feature maps
    grey = _dimmed_grey(np.asarray(image), size)
    m = torch.as_tensor(np.asarray(unit_map, np.float32))[None, None]
    m = F.interpolate(m, size=(size, size), mode="bilinear", align_corners=False)[0, 0].numpy()
    w = (m / scale if scale > 0 else m / (m.max() or 1.0)).clip(0, 1) ** 2
    a = (0.8 * w)[..., None]
    return (grey * (1 - a) + colormap(w) * a + 0.5).clip(0, 255).astype(np.uint8)


def display_scale(unit: Unit, maps) -> float:
    """unit_overlay's scale for a unit's maps [n, h, w] of the faces shown: its threshold for a part
    unit, else the highest value of those maps (its label is about whole faces, not a region)."""
    return unit.threshold if unit.kind == "part" else float(np.asarray(maps, np.float32).max(initial=0.0))
