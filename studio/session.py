"""What one browser tab holds, as one value in one gr.State, and the one map between the Explore
tab's sliders and a face.

    session = Session.opening(model)          # a model's first face; nothing made yet
    session.directions                        # the model's directions and the session's own, by name
    session.switch(other)                     # what was made with `model` waits for its return
    face = Sliders.read(values).face(session.face)        # the slider widgets' values -> a face
    values = Sliders.of(face, nz, suggested).flat()       # a face -> what its slider widgets show

Handlers take the session, change it once their work succeeded (a refused input leaves it as it
was) and return it among their outputs. They set only the fields they change, in place: two
events of one page that run at once (a drag and a gallery, say) keep each other's changes.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import numpy as np

from gan_core.editing.directions import Direction
from gan_core.editing.face import Face
from gan_core.analysis.game import Tally
from gan_core.model.networks import GAN
from studio.i18n import say
from studio.state import CONFIG, STORE, default_face, default_sliders


@dataclass(frozen=True)
class Sliders:
    """The Explore tab's slider rows: CONFIG.slots raw dimensions of z and their offsets, then
    CONFIG.named_slots directions and theirs. Holds either the widgets (the layout) or their
    values (an event's); flat() is their order in every event that reads or sets them."""
    dims: tuple = ()     # which dimension each raw slider moves (None: a model with fewer)
    values: tuple = ()   # the raw sliders' offsets
    names: tuple = ()    # which direction each named slider moves (None: none)
    offsets: tuple = ()  # the named sliders' offsets

    def flat(self) -> list:
        return [*self.dims, *self.values, *self.names, *self.offsets]

    @classmethod
    def read(cls, flat) -> "Sliders":
        """The sliders from a flat list in flat()'s order."""
        n, m = CONFIG.slots, CONFIG.named_slots
        if len(flat) != 2 * n + 2 * m:
            raise RuntimeError(f"{len(flat)} slider values; the layout has {2 * n + 2 * m}")
        return cls(tuple(flat[:n]), tuple(flat[n:2 * n]), tuple(flat[2 * n:2 * n + m]), tuple(flat[2 * n + m:]))

    def moved(self, row: str, slot: int, value) -> "Sliders":
        """These sliders with one moved: `row` "values" (a raw dimension's) or "offsets" (a
        direction's), `slot` its place in the row."""
        if row not in ("values", "offsets"):
            raise RuntimeError(f"no slider row {row!r}")
        shown = list(getattr(self, row))
        shown[slot] = value
        return dataclasses.replace(self, **{row: tuple(shown)})

    def face(self, base: Face | None) -> Face:
        """`base`'s seed or z, truncation and photo (its name and tuned G), with these sliders as its
        edits and moves."""
        base = base if isinstance(base, Face) else Face()
        return dataclasses.replace(base,
                    edits=[(d, v or 0.0) for d, v in zip(self.dims, self.values) if d is not None],
                    moves=[(name, v or 0.0) for name, v in zip(self.names, self.offsets) if name])

    @classmethod
    def of(cls, face: Face | None, nz: int, suggested: list[str | None]) -> "Sliders":
        """The sliders showing `face`: its edits and moves first; the slots it leaves free show other
        dimensions and the `suggested` directions, at 0."""
        n, m = CONFIG.slots, CONFIG.named_slots
        edits = list(face.edits)[:n] if face else []
        taken = {d for d, _ in edits}
        edits += [(d, 0.0) for d in range(nz) if d not in taken][:n - len(edits)]
        edits += [(None, 0.0)] * (n - len(edits))  # a model with fewer dimensions than sliders
        moves = list(face.moves)[:m] if face else []
        named = {name for name, _ in moves}
        moves += [(name, 0.0) for name in suggested if name and name not in named][:m - len(moves)]
        moves += [(None, 0.0)] * (m - len(moves))
        return cls(tuple(d for d, _ in edits), tuple(v for _, v in edits),
                   tuple(name for name, _ in moves), tuple(v for _, v in moves))


# what goes with its model when the session switches to another: back when it switches back
WITH_THE_MODEL = ("face", "mine", "marks", "found", "crops", "likeness")


@dataclass(frozen=True)
class Photo:
    """One of the session's photos, in memory only."""
    number: int          # "photo 1": kept while the session holds the photo; a free number goes to the next one
    image: np.ndarray    # uint8 [H, W, 3], shrunk
    upload: str = ""     # the upload it was read from (a server path, never shown): the files box keeps
    # showing a path after its file is read and deleted, and a path already read is not read again

    @property
    def name(self) -> str:
        """What keyframes and face-math exemplars call the face found in it."""
        return photo_name(self.number)


def photo_name(number: int) -> str:
    return f"photo {number}"


def no_marks() -> dict[str, list]:
    return {"yes": [], "no": []}


@dataclass
class Session:
    """What one browser tab holds (see the module's docstring)."""
    model: str = ""                  # the model's name, or "hub:" + a repo id
    face: Face | None = None         # the current face: base, edits, moves, truncation
    mine: dict[str, Direction] = field(default_factory=dict)  # the session's own directions (taught, uploaded)
    marks: dict[str, list] = field(default_factory=no_marks)  # z of the faces marked for teaching, yes and no
    photos: list[Photo] = field(default_factory=list)  # the session's photos, by number, in memory only
    refused: set[str] = field(default_factory=set)  # uploads in the files box refused once (not read again)
    found: list[Face] = field(default_factory=list)  # the faces found in them (their z in the model), by number
    crops: dict[str, np.ndarray] = field(default_factory=dict)  # each found face's aligned crop, by its name
    likeness: dict[str, float] = field(default_factory=dict)  # how far its face is from it (face descriptors)
    asked_upload: dict | None = None  # the Ask D tab's upload, read once: {"upload", "photo", "refused"} or {"upload", "error"}
    gallery_seeds: list[int] = field(default_factory=list)  # the seeds the gallery shows
    polish: bool = CONFIG.polish     # Explore's "Polish with D": the gallery and the current face drawn polished
    subject: dict | None = None      # what D was last asked about: {"image", "z", "what"}
    steps: dict | None = None        # the steps up D's gradient from it: {"images", "probs"}
    game: dict | None = None         # the round of "Real or fake?" on the page: {"kind", "round", "checked"}
    tally: Tally | None = None       # the game's running score
    drawn: set[str] = field(default_factory=set)  # tabs whose pictures are drawn (filled on a first visit)
    away: dict[str, dict] = field(default_factory=dict)  # other models' WITH_THE_MODEL, by model

    @classmethod
    def opening(cls, model: str) -> "Session":
        """A new page's session: `model` (none when the server lists no model) and its first face."""
        return cls(model=model, face=default_face(model) if model else None)

    @property
    def gan(self) -> GAN:
        return STORE.get(self.model)

    @property
    def nz(self) -> int:
        return self.gan.config.nz if self.model else 0

    @property
    def directions(self) -> dict[str, Direction]:
        """The model's directions and the session's own, by name."""
        return {**(STORE.directions(self.model) if self.model else {}), **self.mine}

    def sliders(self) -> Sliders:
        """The Explore tab's sliders showing the current face."""
        return Sliders.of(self.face, self.nz, default_sliders(self.model) if self.model else [])

    def switch(self, model: str) -> None:
        """`model` becomes the session's. What was made with the model it leaves (the face, the
        session's directions, the marks, the faces found in photos) waits for its return; what was
        made with `model` before comes back, else its first face. D's subject goes with the model."""
        if model == self.model:
            return
        # made first: a model that fails to load changes nothing
        back = self.away.get(model) or {"face": default_face(model), "mine": {}, "marks": no_marks(), "found": [],
                                         "crops": {}, "likeness": {}}
        if self.model:
            self.away[self.model] = {name: getattr(self, name) for name in WITH_THE_MODEL}
        self.away.pop(model, None)
        for name, value in back.items():
            setattr(self, name, value)
        self.model, self.gallery_seeds, self.subject, self.steps = model, [], None, None

    def photo(self, name: str) -> Photo | None:
        return next((p for p in self.photos if p.name == name), None)

    def named(self) -> dict[str, Face]:
        """The faces found in the session's photos by name ("photo 1", and as the page's language
        says it: "照片 1"), for keyframes and exemplars."""
        named = {}
        for face in self.found:
            named[face.name] = named[say("photo_caption", number=self.photo(face.name).number)] = face
        return named

    def keep_photos(self, photos: list[Photo]) -> None:
        """`photos` become the session's; the faces found in any other (for every model) go with them."""
        names = {p.name for p in photos}
        self.photos = sorted(photos, key=lambda p: p.number)
        for held in (self.__dict__, *self.away.values()):
            held["found"] = [f for f in held.get("found", []) if f.name in names]
            held["crops"] = {n: c for n, c in held.get("crops", {}).items() if n in names}
            held["likeness"] = {n: d for n, d in held.get("likeness", {}).items() if n in names}

    def photo_face(self) -> Face | None:
        """The found face the current face is based on, if any."""
        name = self.face.name if self.face else None
        return next((f for f in self.found if name is not None and f.name == name), None)

