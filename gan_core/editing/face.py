"""The current face: what a user picks, edits, shares and morphs, as one value.

    face = Face(seed=42, edits={7: 1.5}, moves={"Age, gender kept": 2.0})
    face.check(gan.config.nz, directions)         # a ValueError that says what is wrong
    image = face.render(gan, directions)          # uint8 [H, W, C]
    text = face.to_text()                         # '{"seed": 42, "edits": {"7": 1.5}, "moves": {...}}'
    assert Face.parse(text) == face

A face has a base, either a seed or an explicit z (a photo's, say), plus offsets added to single
dimensions of z (edits) and moves along named directions (see gan_core.editing.directions). A seed's z
is truncated by psi first (gan_core.model.latent.truncate: pulled towards the average face; 1, the
default, leaves it as drawn); an explicit z is used as given. Edits and
moves keep their order and may hold zero offsets (a slider put on a dimension and left at 0);
the JSON form leaves zeros out. Offsets are in units of z's standard deviation.

A face found in a photo has a name ("photo 1") and, with it, the generator tuned to that photo
(gan_core.photos.tuning): it renders with its own G, and lists (morph keyframes, face-math
exemplars) write it by name: "photo 1, 7". Its JSON form is its z alone, so a shared photo face
carries no trace of the photo or of the tuned weights.
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass, field, replace

import numpy as np
import torch

from ..errors import Phrase, UserError
from .directions import MAX_NAME, MAX_OFFSET, Direction, move
from ..model.latent import check_psi, check_seed, parse_seeds, truncate, z_from_seed
from ..model.networks import GAN
from ..photos.tuning import Tuned, generate

MAX_EDIT = 5.0          # an edit's offset, in units of z's standard deviation
MAX_Z = 10.0            # an explicit z's coordinates (z ~ N(0, I): 10 sigma never happens by chance)
MAX_EDITS = 64          # edited dimensions in one face
MAX_MOVES = 16          # named moves in one face
MAX_TEXT = 64_000       # characters in a face's JSON text (a 1,024-number z fits)
MAX_LIST = 16           # faces in one list (morph keyframes, face-math concepts)
JSON_KEYS = ("seed", "z", "edits", "moves", "psi", "photo")


def _number(value, bound: float, what: str, **about) -> float:
    """A finite float within +-bound, or a UserError naming what it is (Phrase(what, **about))."""
    if isinstance(value, bool):
        raise UserError("number", what=Phrase(what, **about), got=repr(value))
    try:
        number = float(value)
    except (TypeError, ValueError, OverflowError):
        raise UserError("number", what=Phrase(what, **about), got=repr(str(value)[:40])) from None
    if not math.isfinite(number) or abs(number) > bound:
        raise UserError("between", what=Phrase(what, **about), bound=bound, got=str(value)[:40])
    return number


def check_dimension(value, nz: int | None = None) -> int:
    """A dimension of z: a whole number from 0 (and below `nz` if given), or a ValueError."""
    try:
        dim = int(value)
        ok = not isinstance(value, bool) and dim == float(value) and dim >= 0
    except (TypeError, ValueError, OverflowError):
        ok = False
    if not ok:
        raise UserError("dimension_whole", got=str(value)[:40])
    if nz is not None and dim >= nz:
        raise UserError("dimension_missing", dim=dim, last=nz - 1)
    return dim


def _summed(pairs) -> dict:
    out: dict = {}
    for key, offset in pairs:
        if offset:
            out[key] = out.get(key, 0.0) + offset
    return out


def _pairs(items) -> list:
    return list(items.items()) if isinstance(items, dict) else list(items or ())


@dataclass(frozen=True)
class Face:
    seed: int | None = None                    # the base: a seed ...
    z: tuple[float, ...] | None = None         # ... or an explicit z (then seed is None)
    edits: tuple[tuple[int, float], ...] = ()  # (dimension, offset), in slider order
    moves: tuple[tuple[str, float], ...] = ()  # (direction name, offset), in slider order
    psi: float = 1.0                           # truncation of a seed's z (1: none)
    name: str | None = field(default=None, compare=False)  # "photo 1": a face found in a photo
    tuned: Tuned | None = field(default=None, compare=False, repr=False)  # G tuned to that photo

    def __post_init__(self):
        """Normalise (dicts and lists become tuples) and check what needs no model."""
        if self.seed is not None and self.z is not None:
            raise UserError("seed_and_z")
        if self.z is None:
            object.__setattr__(self, "seed", check_seed(0 if self.seed is None else self.seed))
        else:
            if not isinstance(self.z, (list, tuple, np.ndarray, torch.Tensor)) or not 1 <= len(self.z) <= 4096:
                raise UserError("z_list")
            object.__setattr__(self, "z", tuple(_number(v, MAX_Z, "what_z_number") for v in self.z))
        edits = _pairs(self.edits)
        moves = _pairs(self.moves)
        if len(edits) > MAX_EDITS or len(moves) > MAX_MOVES:
            raise UserError("too_many_edits", edits=MAX_EDITS, moves=MAX_MOVES)
        try:
            edits = tuple((check_dimension(d), _number(v, MAX_EDIT, "what_edit_offset", dim=d)) for d, v in edits)
            moves = tuple((str(n), _number(v, MAX_OFFSET, "what_move_offset", name=str(n)[:40])) for n, v in moves)
        except (TypeError, ValueError) as err:
            if isinstance(err, TypeError):
                raise UserError("edits_map") from None
            raise
        for name, _ in moves:
            if not name.strip() or len(name) > MAX_NAME:
                raise UserError("move_name", count=MAX_NAME)
        object.__setattr__(self, "edits", edits)
        object.__setattr__(self, "moves", moves)
        object.__setattr__(self, "psi", check_psi(self.psi))
        if self.name is not None and (not isinstance(self.name, str) or not 0 < len(self.name.strip()) <= MAX_NAME):
            raise UserError("photo_name", count=MAX_NAME)

    # --- using it with a model ------------------------------------------------------------
    def check(self, nz: int, directions: dict[str, Direction] | None = None) -> "Face":
        """This face, checked against a model with latent length `nz` and these directions."""
        self._check_length(nz)
        for dim, _ in self.edits:
            check_dimension(dim, nz)
        unknown = [name for name, _ in self.moves if name not in (directions or {})]
        if unknown:
            known = list(directions or {})[:8] or Phrase("none")
            raise UserError("unknown_direction", name=unknown[0][:40], known=known)
        return self

    def base(self, nz: int) -> torch.Tensor:
        """The base z [nz]: the seed's (truncated by psi), or the explicit one."""
        if self.z is None:
            return truncate(z_from_seed(self.seed, nz), self.psi)
        self._check_length(nz)
        return torch.tensor(self.z, dtype=torch.float32)

    def _check_length(self, nz: int) -> None:
        if self.z is not None and len(self.z) != nz:
            raise UserError("z_length", got=len(self.z), nz=nz)

    def latent(self, nz: int, directions: dict[str, Direction] | None = None) -> torch.Tensor:
        """z [nz]: the base with the edits added and the moves made."""
        self.check(nz, directions)
        z = self.base(nz)
        for dim, offset in self.edits:
            z[dim] += offset
        return move(z, self.nonzero_moves, directions or {})

    def render(self, gan: GAN, directions: dict[str, Direction] | None = None) -> np.ndarray:
        """The face, uint8 [H, W, C] (a photo's with the generator tuned to it)."""
        return generate(gan, self.latent(gan.config.nz, directions)[None], [self.tuned])[0]

    # --- edits ----------------------------------------------------------------------------
    @property
    def nonzero_edits(self) -> dict[int, float]:
        """{dimension: offset}, offsets on one dimension summed, zeros left out."""
        return _summed(self.edits)

    @property
    def nonzero_moves(self) -> dict[str, float]:
        """{direction name: offset}, offsets along one direction summed, zeros left out."""
        return _summed(self.moves)

    @property
    def moved(self) -> int:
        """How many sliders are off 0: edited dimensions and moved directions."""
        return len(self.nonzero_edits) + len(self.nonzero_moves)

    @property
    def is_plain_seed(self) -> bool:
        return self.z is None and not self.nonzero_edits and not self.nonzero_moves and self.psi == 1.0

    @property
    def is_plain_photo(self) -> bool:
        return self.name is not None and not self.nonzero_edits and not self.nonzero_moves

    def with_seed(self, seed) -> "Face":
        return replace(self, seed=check_seed(seed), z=None, name=None, tuned=None)

    def with_z(self, z) -> "Face":
        return replace(self, seed=None, z=tuple(z), name=None, tuned=None)

    def with_photo(self, photo: "Face") -> "Face":
        """This face's sliders (at 0) on a face found in a photo: its z, name and tuned G."""
        return replace(self.reset(), seed=None, z=photo.z, name=photo.name, tuned=photo.tuned)

    def with_psi(self, psi) -> "Face":
        return replace(self, psi=check_psi(psi))

    def reset(self) -> "Face":
        """The same base and sliders, every offset back to 0."""
        return replace(self, edits=[(d, 0.0) for d, _ in self.edits], moves=[(n, 0.0) for n, _ in self.moves])

    def on_slot(self, item, slots: int) -> "Face":
        """This face with a dimension (int) or a direction (str) on one of `slots` sliders: where it
        already is, else on the first slider left at 0 (else the last), at 0."""
        field = "moves" if isinstance(item, str) else "edits"
        pairs = list(getattr(self, field))
        if any(key == item for key, _ in pairs):
            return self
        if len(pairs) < slots:
            pairs.append((item, 0.0))
        else:
            free = next((i for i, (_, v) in enumerate(pairs[:slots]) if not v), slots - 1)
            pairs[free] = (item, 0.0)
        return replace(self, **{field: pairs})

    def describe(self) -> str:
        """A few words in English: "seed 42, 2 sliders moved" (the studio writes its own from seed,
        z and moved)."""
        what = f"seed {self.seed}" if self.z is None else self.name or "your face"
        return what + (f", {self.moved} slider{'s' * (self.moved != 1)} moved" if self.moved else "")

    # --- JSON -----------------------------------------------------------------------------
    def to_json(self) -> dict:
        """{"seed": 42} or {"z": [...]}, with "edits" and "moves" when any is non-zero, and a seed's
        "psi" when it is truncated. A photo's face is its z: the name and the tuned G stay here."""
        out: dict = {"seed": self.seed} if self.z is None else {"z": [round(v, 5) for v in self.z]}
        if self.z is None and self.psi != 1.0:
            out["psi"] = round(self.psi, 3)
        if edits := {str(d): round(v, 3) for d, v in self.nonzero_edits.items()}:
            out["edits"] = edits
        if moves := {n: round(v, 3) for n, v in self.nonzero_moves.items()}:
            out["moves"] = moves
        return out

    def to_text(self) -> str:
        return json.dumps(self.to_json())

    @classmethod
    def from_json(cls, obj, named: dict[str, "Face"] | None = None) -> "Face":
        """The inverse of to_json; a bare whole number is a seed. In a list, a face found in a
        photo is its name ("photo 1"), or {"photo": "photo 1", "moves": {...}}: `named` has them."""
        if isinstance(obj, str) and named_key(obj) is not None and not obj.strip().lstrip("-").isdigit():
            return _named(obj, named)
        if isinstance(obj, (int, float, str)) and not isinstance(obj, bool):
            return cls(seed=check_seed(obj))
        if not isinstance(obj, dict):
            raise UserError("face_shape")
        unknown = [str(k)[:20] for k in obj if k not in JSON_KEYS]
        if unknown:
            raise UserError("unknown_key", key=unknown[0], keys=JSON_KEYS)
        if "photo" in obj:
            if "seed" in obj or "z" in obj or "psi" in obj:
                raise UserError("photo_or_seed")
            base = _named(obj["photo"], named)
            for key in ("edits", "moves"):
                if not isinstance(obj.get(key, {}), dict):
                    raise UserError("edits_dict" if key == "edits" else "moves_dict")
            return replace(base, edits=obj.get("edits", {}), moves=obj.get("moves", {}))
        if ("seed" in obj) == ("z" in obj):
            raise UserError("seed_or_z")
        for key in ("edits", "moves"):
            if not isinstance(obj.get(key, {}), dict):
                raise UserError("edits_dict" if key == "edits" else "moves_dict")
        if "z" in obj and not isinstance(obj["z"], list):
            raise UserError("z_numbers")
        return cls(seed=obj.get("seed"), z=obj.get("z"), edits=obj.get("edits", {}), moves=obj.get("moves", {}),
                   psi=obj.get("psi", 1.0))

    @classmethod
    def parse(cls, text) -> "Face":
        """A face from its JSON text (or a dict, as an API client may send it)."""
        return cls.from_json(_loads(text) if isinstance(text, str) else text)


def _loads(text: str):
    text = (text or "").strip()
    if not text:
        raise UserError("paste_first")
    if len(text) > MAX_TEXT:
        raise UserError("text_long", got=len(text), max=MAX_TEXT)
    try:
        return json.loads(text, parse_constant=_refuse_constant)
    except (json.JSONDecodeError, RecursionError):
        raise UserError("not_face") from None


def _refuse_constant(name: str):
    raise UserError("finite", got=name)


def named_key(text) -> str | None:
    """"Photo  1 " -> "photo 1": how names are matched; None for what cannot be a name."""
    if not isinstance(text, str) or len(text) > MAX_NAME:
        return None
    return " ".join(text.lower().split()) or None


def _named(name, named: dict[str, Face] | None) -> Face:
    """The face called `name` among `named` (faces found in photos, by name)."""
    table = {named_key(k): f for k, f in (named or {}).items()}
    face = table.get(named_key(name))
    if face is None:
        raise UserError("unknown_photo", name=str(name).strip()[:40], known=list(named or {})[:8] or Phrase("none"))
    return face


def parse_faces(text, max_count: int = MAX_LIST, named: dict[str, Face] | None = None) -> list[Face]:
    """'0, 7, 42' (seeds, ranges like 3-5 too), or a JSON list of seeds and faces -> faces.
    Faces found in photos go by name: 'photo 1, 7, photo 2' (`named`: those faces, by name)."""
    if isinstance(text, list):
        items = text
    else:
        text = (text or "").strip()
        if not text:
            return []
        if not text.startswith("["):
            parts = text.split(",")
            if not any(p.strip() and not p.strip()[0].isdigit() and p.strip()[0] != "-" for p in parts):
                return [Face(seed=s) for s in parse_seeds(text, max_count=max_count)]
            faces = []
            for part in parts:
                if part.strip() and (part.strip()[0].isdigit() or part.strip()[0] == "-"):
                    faces += [Face(seed=s) for s in parse_seeds(part, max_count=max_count)]
                elif part.strip():
                    faces.append(_named(part, named))
                if len(faces) > max_count:
                    raise UserError("list_long", max=max_count, got=len(faces))
            return faces
        items = _loads(text)
        if not isinstance(items, list):
            raise UserError("face_list")
    if len(items) > max_count:
        raise UserError("list_long", max=max_count, got=len(items))
    return [Face.from_json(item, named) for item in items]


def faces_text(faces: list[Face]) -> str:
    """Faces as text parse_faces reads back: '0, 7, photo 1' for plain seeds and photos, a JSON
    list otherwise (a list takes the truncation of wherever it is used, so the faces' own is left
    out). A photo's face is written by its name, which parse_faces reads back with `named`."""
    faces = [f if f.name is not None else f.with_psi(1.0) for f in faces]
    if all(f.is_plain_seed or f.is_plain_photo for f in faces):
        return ", ".join(f.name if f.name is not None else str(f.seed) for f in faces)
    return json.dumps([f.seed if f.is_plain_seed else f.name if f.is_plain_photo else _item(f) for f in faces],
                      ensure_ascii=False)


def _item(face: Face) -> dict:
    """A face in a list's JSON: a photo's by its name, with its edits and moves."""
    if face.name is None:
        return face.to_json()
    out = {key: value for key, value in face.to_json().items() if key in ("edits", "moves")}
    return {"photo": face.name, **out}


def latents(faces: list[Face], nz: int, directions: dict[str, Direction] | None = None,
            psi: float | None = None) -> torch.Tensor:
    """[len(faces), nz]: each face's z (with the list's truncation `psi`, if given, for every seed)."""
    if not faces:
        return torch.zeros(0, nz)
    return torch.stack([(f if psi is None else f.with_psi(psi)).latent(nz, directions) for f in faces])
