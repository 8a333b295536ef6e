"""Directions in z that change one thing about a face: found label-free (SeFa, GANSpace-style
PCA) or from labels (InterFaceGAN-style: the unit normal of a linear boundary in z).

    found = directions_for(gan, "checkpoints/celeba64")       # {name: Direction}, shipped or computed
    z2 = move(z, {"Age": 2.0}, found)                          # two sigma older
    for group in GROUPS:                                       # the direction browser's groups, in order
        shown = in_group(found.values(), group)                # ranked, as pickers list them
    found["Age"].info.description                              # how directions of its kind are found

A direction is a unit vector d of length nz; a face moves along it as z + alpha * d, with alpha
in units of z's standard deviation (z ~ N(0, I), so alpha = 3 is a three-sigma move). Its method
(how it was found) is a key of METHODS, the one table of each kind's group, order and description.

Shipped beside a model as
    directions.safetensors   one tensor per direction ("d000", "d001", ...)
    directions.json          names, methods, what each end means, and measured quality
Models without them get the label-free directions, computed in well under a second. A user's
own direction travels as JSON (direction_to_json / direction_from_json, checked in full).
"""
from __future__ import annotations

import json
import math
import os
import unicodedata
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch

from ..model.checkpoints import CheckpointError, atomic_write, load_tensors, save_tensors
from ..errors import Phrase, UserError, phrase_of
from ..model.networks import GAN, Generator

DIRECTIONS_NAME = "directions.safetensors"
DIRECTIONS_INFO = "directions.json"
MAX_OFFSET = 5.0
MAX_DIRECTIONS = 256
MAX_NAME = 40                  # characters in a direction's name and in each end's description


@dataclass(frozen=True)
class Method:
    """How a kind of direction is found, and where it shows in the studio."""

    group: str        # the direction browser's group
    order: int        # where its directions come in pickers, lower first
    description: str  # one line for people: how directions of this kind are found


METHODS: dict[str, Method] = {
    "conditional": Method("Age, gender, glasses, smile", 0,
                          "an attribute's boundary with the others it keeps projected out (InterFaceGAN's "
                          "conditional edit): the face changes in that one way"),
    "user": Method("Yours", 1, "fitted to the pictures you marked yes or no: the normal of the boundary between "
                                "them"),
    "interfacegan": Method("Attributes", 2,
                           "the normal of a linear boundary in z between images a classifier (a face's "
                           "attributes, or which digit) calls yes and no (InterFaceGAN)"),
    "sefa": Method("SeFa (label-free)", 3,
                   "an eigenvector of the first layer's weights: a way of moving z that changes that layer "
                   "most (SeFa, no labels)"),
    "ganspace": Method("PCA (label-free)", 4,
                       "a principal component of the first layer's outputs over random samples, mapped back to z "
                       "(GANSpace-style PCA, no labels)"),
}
GROUPS: tuple[str, ...] = ("Age, gender, glasses, smile", "Attributes", "Yours", "SeFa (label-free)",
                           "PCA (label-free)")
LABEL_FREE = ("sefa", "ganspace")  # the methods computed from the weights alone (label_free)
assert set(GROUPS) == {m.group for m in METHODS.values()} and set(LABEL_FREE) <= set(METHODS)


@dataclass
class Direction:
    name: str                  # what the slider is called: "Age", "SeFa 3", ...
    vector: torch.Tensor       # unit vector [nz], on the CPU
    method: str                # how it was found: a key of METHODS ("sefa", "interfacegan", "user", ...)
    negative: str = "-"        # what the face looks like at -3 ("younger") ...
    positive: str = "+"        # ... and at +3 ("older")
    quality: dict = field(default_factory=dict)  # measured figures (flip rate, ...)

    def __post_init__(self):
        if self.method not in METHODS:
            raise UserError("unknown_method", method=self.method, methods=list(METHODS))

    @property
    def info(self) -> Method:
        """Its method's entry in METHODS: group, order and description."""
        return METHODS[self.method]

    @property
    def label(self) -> str:
        ends = (self.negative, self.positive)
        return self.name if ends == ("-", "+") else f"{self.name} ({self.negative} \u2194 {self.positive})"


def ranked(directions: Iterable[Direction] | dict[str, Direction]) -> list[Direction]:
    """Directions (a list, or a dict by name) in the order pickers list them: by their method's
    order in METHODS, and otherwise as given."""
    found = directions.values() if isinstance(directions, dict) else directions
    return sorted(found, key=lambda d: d.info.order)


def in_group(directions: Iterable[Direction] | dict[str, Direction], group: str) -> list[Direction]:
    """The directions in one of the browser's GROUPS, ranked."""
    if group not in GROUPS:
        raise UserError("pick_group", groups=list(GROUPS))
    return [d for d in ranked(directions) if d.info.group == group]


def unit(vector: torch.Tensor) -> torch.Tensor:
    """`vector` scaled to length 1, as float32 on the CPU (ValueError for NaN, infinity or zero)."""
    vector = vector.detach().double().flatten().cpu()
    if not torch.isfinite(vector).all():
        raise UserError("direction_finite")
    norm = vector.norm()
    if not torch.isfinite(norm):  # finite numbers whose squares overflow: scale them down first
        vector = vector / vector.abs().max()
        norm = vector.norm()
    if norm < 1e-8:
        raise UserError("direction_zero")
    return (vector / norm).float()


# --- label-free ---------------------------------------------------------------------------------
def first_layer_weight(G: Generator) -> torch.Tensor:
    """The first transposed convolution's weight as a matrix [nz, out]: layer one maps z to W^T z."""
    weight = G.main[0].weight.detach().float().cpu()
    return weight.reshape(weight.shape[0], -1)


def sefa(G: Generator, count: int = 10) -> list[Direction]:
    """Closed-form factorisation (Shen & Zhou 2021): the top eigenvectors of A^T A, where A = W^T
    is the first layer's linear map; moving z along them changes layer one's output the most."""
    W = first_layer_weight(G).double()
    values, vectors = torch.linalg.eigh(W @ W.T)  # ascending
    order = values.argsort(descending=True)[:count]
    total = values.clamp(min=0).sum()
    return [Direction(f"SeFa {i + 1}", unit(vectors[:, j]), "sefa",
                      quality={"eigenvalue_share": round(float(values[j] / total), 4)})
            for i, j in enumerate(order.tolist())]


@torch.inference_mode()
def first_layer_activations(G: Generator, z: torch.Tensor) -> torch.Tensor:
    """Layer one's output after BatchNorm and ReLU, flattened: [N, C * 4 * 4]."""
    G.eval()
    x = z.to(next(G.parameters()).device).view(len(z), -1, 1, 1)
    for layer in G.main[:3]:
        x = layer(x)
    return x.flatten(1).float().cpu()


def ganspace(G: Generator, count: int = 10, samples: int = 4096, seed: int = 0) -> list[Direction]:
    """GANSpace-style PCA (Haerkoenen et al. 2020): principal components of layer one's activations
    over `samples` random z, each mapped back to z by least squares (z ~ V x over the PCA
    coefficients x); the direction is V's row for that component."""
    nz = G.config.nz
    z = torch.randn(samples, nz, generator=torch.Generator().manual_seed(seed))
    h = first_layer_activations(G, z)
    h = h - h.mean(0)
    with torch.random.fork_rng(devices=[]):  # svd_lowrank starts from a random projection
        torch.manual_seed(seed)
        _, s, v = torch.svd_lowrank(h, q=min(count + 10, *h.shape), niter=4)
    coeffs = h @ v[:, :count]                                   # [N, count]
    V = torch.linalg.lstsq(coeffs.double(), z.double()).solution  # [count, nz]: z ~ coeffs @ V
    variance = (s[:count] ** 2) / (h.pow(2).sum())
    return [Direction(f"PCA {i + 1}", unit(V[i]), "ganspace",
                      quality={"variance_share": round(float(variance[i]), 4)}) for i in range(count)]


def label_free(G: Generator, count: int = 10) -> list[Direction]:
    return sefa(G, count) + ganspace(G, count)


# --- from labels --------------------------------------------------------------------------------
def fit_direction(z: torch.Tensor, labels: torch.Tensor, l2: float = 1e-2, steps: int = 100) -> tuple[torch.Tensor, float, float]:
    """A linear boundary w.z + b between faces labelled 1 and 0 (soft labels in [0, 1] work too),
    by L2-regularised logistic regression. Returns (unit normal pointing to label 1, the
    boundary's signed offset along it, training accuracy). With few labels the L2 term pulls the
    answer towards the difference of the class means, which is what a handful of marks supports.
    Works inside torch.inference_mode too (as the app calls it)."""
    with torch.inference_mode(False), torch.enable_grad():
        z = torch.as_tensor(z).double().reshape(len(labels), -1).clone()  # clones are normal tensors here
        y = torch.as_tensor(labels).double().flatten().clone()
        return _fit_logistic(z, y, l2, steps)


def _fit_logistic(z: torch.Tensor, y: torch.Tensor, l2: float, steps: int) -> tuple[torch.Tensor, float, float]:
    if len(y) < 2 or not (y > 0.5).any() or not (y < 0.5).any():
        raise UserError("fit_both")
    if not ((y >= 0) & (y <= 1)).all():
        raise ValueError("labels must be 0 (no) or 1 (yes), or probabilities in between")
    w = torch.zeros(z.shape[1] + 1, dtype=torch.float64, requires_grad=True)
    x = torch.cat([z, torch.ones(len(z), 1, dtype=torch.float64)], 1)
    optimizer = torch.optim.LBFGS([w], max_iter=steps, line_search_fn="strong_wolfe")

    def closure():
        optimizer.zero_grad()
        loss = torch.nn.functional.binary_cross_entropy_with_logits(x @ w, y) + l2 * w[:-1].pow(2).sum()
        loss.backward()
        return loss

    optimizer.step(closure)
    w = w.detach()
    normal = w[:-1]
    if normal.norm() < 1e-10:
        raise UserError("fit_separate")
    accuracy = float((((x @ w) > 0).double() == (y > 0.5).double()).double().mean())
    return unit(normal), float(-w[-1] / normal.norm()), accuracy


def condition(direction: torch.Tensor, *others: torch.Tensor) -> torch.Tensor:
    """`direction` with the span of `others` projected out (InterFaceGAN's conditional edit): moving
    along it leaves the other boundaries' scores unchanged, to first order."""
    d = unit(direction).double()
    basis, _ = torch.linalg.qr(torch.stack([unit(o).double() for o in others], 1))
    rest = d - basis @ (basis.T @ d)
    if rest.norm() < 1e-3:
        raise ValueError("the direction lies in the span of those it is conditioned on")
    return unit(rest)


# --- the user's own -----------------------------------------------------------------------------
MIN_MARKS, MIN_EACH, MAX_MARKS = 10, 3, 200


# Characters a name or an end may use: letters (any script, with their accents), digits, spaces
# and these; nothing that Markdown or HTML reads as markup (* _ ` [ ] < > # | \ ~ ! ...), no controls.
TEXT_PUNCTUATION = "-.,'()+&"
JSON_KEYS = ("name", "method", "negative", "positive", "quality", "vector")
QUALITY_KEYS = ("yes", "no", "fit_accuracy")  # what fit_user_direction measures


def _allowed(char: str) -> bool:
    return char == " " or char in TEXT_PUNCTUATION or unicodedata.category(char) in (
        "Lu", "Ll", "Lt", "Lm", "Lo", "Mn", "Mc", "Nd")


def check_text(text, what: str = "what_concept_name") -> str:
    """Text shown beside a direction (its name or an end), with runs of whitespace made one
    space: at most MAX_NAME characters of letters, digits, spaces and TEXT_PUNCTUATION. `what`
    is the message key that names the text in errors."""
    if not isinstance(text, str):
        raise UserError("text_type", what=Phrase(what), type=type(text).__name__)
    text = " ".join(text.split())
    if len(text) > MAX_NAME:
        raise UserError("text_long_name", what=Phrase(what), max=MAX_NAME, got=len(text))
    bad = "".join(dict.fromkeys(c for c in text if not _allowed(c)))
    if bad:
        raise UserError("text_chars", what=Phrase(what), chars=" ".join(TEXT_PUNCTUATION), bad=bad)
    return text


def check_name(name: str, taken=()) -> str:
    """A direction's name as typed by a user, tidied and checked (see check_text)."""
    name = check_text(str(name or ""))
    if not name:
        raise UserError("name_first")
    if name in taken:
        raise UserError("name_taken", name=name)
    return name


def fit_user_direction(name: str, yes: list, no: list, nz: int, taken=()) -> Direction:
    """A direction from faces the user marked yes or no (their z vectors), fitted live."""
    name = check_name(name, taken)
    marks = len(yes) + len(no)
    if marks < MIN_MARKS or min(len(yes), len(no)) < MIN_EACH:
        raise UserError("marks_min", min=MIN_MARKS, each=MIN_EACH, yes=len(yes), no=len(no))
    if marks > MAX_MARKS:
        raise UserError("marks_max", max=MAX_MARKS)
    z = torch.as_tensor([*yes, *no], dtype=torch.float32)
    if z.shape != (marks, nz):
        raise ValueError(f"each mark must be a z of {nz} numbers")
    labels = torch.cat([torch.ones(len(yes)), torch.zeros(len(no))])
    normal, _, accuracy = fit_direction(z, labels)
    less, more = (f"{word} {name}"[:MAX_NAME].rstrip() for word in ("less", "more"))
    return Direction(name, normal, "user", less, more,
                     {"yes": len(yes), "no": len(no), "fit_accuracy": round(accuracy, 3)})


def direction_to_json(d: Direction) -> dict:
    """A direction as a small JSON-able dict (for the session, downloads and uploads)."""
    return {"name": d.name, "method": d.method, "negative": d.negative, "positive": d.positive,
            "quality": d.quality, "vector": [round(float(v), 6) for v in d.vector]}


def _check_quality(quality) -> dict:
    """A user direction's measured figures: {} or all of QUALITY_KEYS, checked."""
    if not isinstance(quality, dict) or (quality and set(quality) != set(QUALITY_KEYS)):
        raise UserError("quality_keys", keys=list(QUALITY_KEYS))
    if not quality:
        return {}
    for key in ("yes", "no"):
        count = quality[key]
        if isinstance(count, bool) or not isinstance(count, int) or not 0 <= count <= MAX_MARKS:
            raise UserError("quality_count", key=key, max=MAX_MARKS, got=count)
    accuracy = quality["fit_accuracy"]
    if isinstance(accuracy, bool) or not isinstance(accuracy, (int, float)) or not 0 <= accuracy <= 1:
        raise UserError("fit_accuracy", got=accuracy)
    return {"yes": quality["yes"], "no": quality["no"], "fit_accuracy": float(accuracy)}


def _check_vector(vector, nz: int) -> torch.Tensor:
    if not isinstance(vector, list):
        raise UserError("not_direction")
    if len(vector) != nz:
        raise UserError("direction_length", got=len(vector), nz=nz)
    if not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in vector):
        raise UserError("vector_numbers")
    try:
        values = [float(v) for v in vector]
    except OverflowError:  # an integer too large for a float
        values = [math.inf]
    if not all(math.isfinite(v) for v in values):
        raise UserError("direction_finite")
    return unit(torch.tensor(values, dtype=torch.float64))


def direction_from_json(obj, nz: int) -> Direction:
    """The inverse of direction_to_json, for files users upload and the session's own directions,
    checked in full: only JSON_KEYS; method "user"; a vector of nz finite numbers, not all zero;
    name and ends as check_text allows; quality as fit_user_direction writes it."""
    if not isinstance(obj, dict) or "vector" not in obj:
        raise UserError("not_direction")
    extra = [str(k) for k in obj if k not in JSON_KEYS]
    if extra:
        raise UserError("direction_keys", keys=list(JSON_KEYS), extra=", ".join(extra)[:80])
    method = obj.get("method", "user")
    if method != "user":
        raise UserError("user_direction", got=str(method)[:20])
    vector = _check_vector(obj["vector"], nz)
    name = check_name(check_text(obj.get("name", ""), "what_direction_name"))
    negative = check_text(obj.get("negative", "-"), "what_negative_end") or "-"
    positive = check_text(obj.get("positive", "+"), "what_positive_end") or "+"
    return Direction(name, vector, "user", negative, positive, _check_quality(obj.get("quality", {})))


# --- using them ---------------------------------------------------------------------------------
def check_offset(name: str, value) -> float:
    try:
        offset = float(value)
    except (TypeError, ValueError):
        raise UserError("offset_number", name=name, got=value) from None
    if not abs(offset) <= MAX_OFFSET:
        raise UserError("offset_range", name=name, got=value, max=MAX_OFFSET)
    return offset


def move(z: torch.Tensor, moves: dict[str, float], directions: dict[str, Direction]) -> torch.Tensor:
    """z (one [nz] or a batch [N, nz]) moved by offset * direction for each named direction."""
    z = z.clone()
    for name, value in moves.items():
        if name not in directions:
            known = list(directions)[:12] or Phrase("none")
            raise UserError("unknown_direction", name=name, known=known)
        offset = check_offset(name, value)
        if offset:
            z += offset * directions[name].vector.to(z.device, z.dtype)
    return z


def walk(z: torch.Tensor, direction: Direction, values) -> torch.Tensor:
    """[len(values), nz]: z moved to each offset along `direction` in turn."""
    offsets = torch.as_tensor([check_offset(direction.name, v) for v in values], dtype=z.dtype, device=z.device)
    return z.reshape(1, -1) + offsets[:, None] * direction.vector.to(z.device, z.dtype)


# --- files --------------------------------------------------------------------------------------
def save_directions(folder: str | os.PathLike, directions: list[Direction], extra: dict | None = None) -> Path:
    """Write directions.safetensors and directions.json into a model folder."""
    folder = Path(folder)
    if len({d.name for d in directions}) != len(directions):
        raise ValueError("direction names must be unique")
    keys = [f"d{i:03d}" for i in range(len(directions))]
    save_tensors(folder / DIRECTIONS_NAME, {k: d.vector.float() for k, d in zip(keys, directions)})
    info = {"directions": [{"key": k, **{f: v for f, v in asdict(d).items() if f != "vector"}}
                           for k, d in zip(keys, directions)], **(extra or {})}
    text = json.dumps(info, indent=1) + "\n"
    atomic_write(folder / DIRECTIONS_INFO, lambda tmp: Path(tmp).write_text(text))
    return folder / DIRECTIONS_NAME


def read_info(folder: str | os.PathLike) -> dict:
    path = Path(folder) / DIRECTIONS_INFO
    try:
        info = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as err:
        raise CheckpointError("directions_unreadable", path=str(path), error=str(err)) from None
    if not isinstance(info, dict) or not isinstance(info.get("directions"), list):
        raise CheckpointError("directions_shape", path=str(path))
    return info


def load_directions(folder: str | os.PathLike, nz: int) -> list[Direction]:
    """The directions shipped in a model folder ([] when it has none). Vectors are checked to be
    finite, of length nz, and are renormalised."""
    folder = Path(folder)
    if not (folder / DIRECTIONS_NAME).is_file():
        return []
    tensors, _ = load_tensors(folder / DIRECTIONS_NAME)
    out = []
    for item in read_info(folder)["directions"][:MAX_DIRECTIONS]:
        try:
            vector = tensors[item["key"]]
            fields = {f: item[f] for f in ("name", "method", "negative", "positive", "quality") if f in item}
            for text in ("name", "negative", "positive"):  # shown on the page: as a name typed there is
                if text in fields:
                    fields[text] = check_text(fields[text])
            if vector.shape != (nz,):
                raise UserError("direction_shape", shape=str(tuple(vector.shape)), nz=nz)
            finite = bool(torch.isfinite(vector).all())
            if finite:
                out.append(Direction(vector=unit(vector), **fields))
        except (KeyError, TypeError, ValueError) as err:
            raise CheckpointError("directions_entry", path=str(folder / DIRECTIONS_INFO), item=repr(item)[:80],
                                  error=phrase_of(err)) from None
        if not finite:
            raise CheckpointError("directions_not_finite", path=str(folder / DIRECTIONS_NAME),
                                  name=str(item.get("name"))[:60], key=item["key"])
    return out


def directions_for(gan: GAN, folder: str | os.PathLike | None) -> dict[str, Direction]:
    """Every direction a model offers, by name: the shipped ones, or label-free ones computed now."""
    shipped = load_directions(folder, gan.config.nz) if folder else []
    found = shipped if any(d.method in LABEL_FREE for d in shipped) else shipped + label_free(gan.G)
    return {d.name: d for d in found}
