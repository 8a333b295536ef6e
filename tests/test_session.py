"""One browser tab's session (studio.session.Session) and the one map between the sliders and a face."""
import pytest
import torch

from gan_core.editing.directions import Direction
from gan_core.editing.face import Face
from studio.session import Session, Sliders
from studio.state import CONFIG

FACES, DIGITS = "Faces (CelebA 64x64)", "Digits (MNIST 32x32)"
N, M = CONFIG.slots, CONFIG.named_slots


def test_the_sliders_show_a_face_and_read_it_back():
    face = Face(seed=7, edits=[(3, 1.5), (0, 0.0)], moves=[("Age", -2.0)], psi=0.7)
    sliders = Sliders.of(face, nz=100, suggested=["Smile", "Age", None])
    assert sliders.dims == (3, 0, 1, 2, 4, 5)[:N] and sliders.values[:2] == (1.5, 0.0)
    assert sliders.names[:2] == ("Age", "Smile") and sliders.offsets[:2] == (-2.0, 0.0)
    flat = sliders.flat()
    assert len(flat) == 2 * N + 2 * M and Sliders.read(flat) == sliders
    back = Sliders.read(flat).face(Face(seed=7, psi=0.7))
    assert back.nonzero_edits == face.nonzero_edits and back.nonzero_moves == face.nonzero_moves
    assert (back.seed, back.psi) == (7, 0.7)
    photo = Sliders.read(flat).face(Face(z=[0.5] * 100))  # a photo's face keeps its z
    assert photo.z == (0.5,) * 100 and photo.seed is None
    with pytest.raises(RuntimeError):
        Sliders.read(flat[:-1])


def test_a_drag_moves_one_slider_of_those_the_page_shows():
    """A drag sends only its own slider's value: the face it makes is the one all twenty would give."""
    session = Session.opening(FACES)
    session.face = Face(seed=5, edits=[(7, 1.0)], moves=[("Smile", 0.5)], psi=0.8)
    shown = session.sliders()
    for row, slot, at in (("values", 2, N + 2), ("offsets", 1, 2 * N + M + 1)):
        flat = shown.flat()
        flat[at] = -1.25
        assert shown.moved(row, slot, -1.25).face(session.face) == Sliders.read(flat).face(session.face)
    assert not shown.moved("values", 0, 0.0).face(session.face).nonzero_edits  # the first slider is dim 7
    with pytest.raises(RuntimeError):
        shown.moved("dims", 0, 3)


def test_a_model_with_fewer_dimensions_than_sliders():
    sliders = Sliders.of(Face(seed=1), nz=2, suggested=[])
    assert sliders.dims == (0, 1) + (None,) * (N - 2) and sliders.names == (None,) * M
    assert Sliders.read(sliders.flat()).face(Face(seed=1)).edits == ((0, 0.0), (1, 0.0))


def test_each_model_keeps_what_the_session_made_with_it():
    session = Session.opening(FACES)
    assert session.model == FACES and session.face.seed == CONFIG.default_seed and not session.mine
    photo = Face(z=[0.25] * session.nz)
    yours = Direction(name="yours", vector=torch.eye(session.nz)[0], method="user")
    session.face, session.mine, session.found = photo, {"yours": yours}, [photo]
    session.marks = {"yes": [[0.0] * session.nz], "no": []}
    session.subject, session.steps = {"image": None}, {"probs": [0.5]}
    assert session.directions["yours"] is yours and "Age, gender kept" in session.directions

    session.switch(DIGITS)
    assert session.model == DIGITS and session.face.seed == 1  # the digits model's opening face
    assert not session.mine and not session.found and session.marks == {"yes": [], "no": []}
    assert session.subject is None and session.steps is None  # D's subject went with the model
    session.face = Face(seed=4)

    session.switch(FACES)
    assert session.face == photo and session.mine == {"yours": yours} and session.found == [photo]
    assert len(session.marks["yes"]) == 1
    session.switch(DIGITS)
    assert session.face == Face(seed=4)
    session.switch(DIGITS)  # the same model again: nothing changes
    assert session.face == Face(seed=4)


def test_a_model_that_fails_to_load_leaves_the_session_as_it_was():
    session = Session.opening(FACES)
    face = session.face
    with pytest.raises(ValueError):
        session.switch("no such model")
    assert session.model == FACES and session.face == face and not session.away
