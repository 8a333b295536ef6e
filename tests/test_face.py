"""gan_core.editing.face.Face: the current face as one value (base, edits, moves), checked and round-tripped."""
import json

import numpy as np
import pytest
import torch

from gan_core.editing.directions import Direction
from gan_core.editing.face import Face, faces_text, latents, parse_faces
from gan_core.model.latent import truncate, z_from_seed
from gan_core.model.networks import GAN, Generator

NZ = 16


@pytest.fixture
def gan(tiny_config):
    torch.manual_seed(0)
    return GAN(tiny_config, Generator(tiny_config).eval(), None, torch.device("cpu"))


@pytest.fixture
def directions():
    vector = torch.zeros(NZ)
    vector[2] = 1.0
    return {"Age": Direction("Age", vector, "interfacegan", "younger", "older")}


def test_a_seed_face_is_its_seeds_z_with_edits_and_moves(directions):
    face = Face(seed=5, edits={3: 1.5, "7": -2}, moves={"Age": 2.0})
    expected = z_from_seed(5, NZ)
    expected[3] += 1.5
    expected[7] -= 2
    expected[2] += 2.0
    assert torch.allclose(face.latent(NZ, directions), expected)
    assert Face().seed == 0 and Face().latent(NZ).equal(z_from_seed(0, NZ))


def test_an_explicit_z_is_the_base(directions):
    z = torch.linspace(-1, 1, NZ)
    face = Face(z=z.tolist(), edits={0: 1.0})
    assert face.seed is None
    assert torch.allclose(face.latent(NZ), z + torch.eye(NZ)[0])
    with pytest.raises(ValueError, match="has 16 numbers; this model's z has 8"):
        face.latent(8)
    with pytest.raises(ValueError, match="not both"):
        Face(seed=1, z=z.tolist())


def test_render_is_the_generator_of_the_latent(gan, directions):
    face = Face(seed=3, moves={"Age": 1.0})
    image = face.render(gan, directions)
    assert image.shape == (32, 32, 3) and image.dtype == np.uint8
    assert np.array_equal(image, gan.generate(face.latent(NZ, directions)[None])[0])


def test_json_round_trip_and_todays_share_strings():
    face = Face(seed=9, edits=[(4, 1.25), (2, 0.0)], moves={"Age": -1.5})
    text = face.to_text()
    assert json.loads(text) == {"seed": 9, "edits": {"4": 1.25}, "moves": {"Age": -1.5}}  # zeros left out
    again = Face.parse(text)
    assert again.nonzero_edits == {4: 1.25} and again.nonzero_moves == {"Age": -1.5} and again.seed == 9
    assert Face.parse('{"seed": 42, "edits": {"7": 1.5}}').nonzero_edits == {7: 1.5}  # a share string of today
    z_face = Face(z=[0.5] * NZ)
    assert Face.parse(z_face.to_text()).z == z_face.z
    assert Face.parse({"seed": 4}) == Face(seed=4)  # an API client's dict
    assert Face.from_json(12) == Face(seed=12)


@pytest.mark.parametrize("text, message", [
    ("", "paste a face"),
    ("nonsense", "not a face"),
    ("[1, 2]", "a face is a seed or"),
    ('{"edits": {}}', "needs a \"seed\" or a \"z\""),
    ('{"seed": 1e400}', "whole number"),
    ('{"seed": -3}', "between 0 and"),
    ('{"seed": 1, "edits": {"3": 1e400}}', "between -5 and 5"),
    ('{"seed": 1, "edits": {"3": NaN}}', "finite"),
    ('{"seed": 1, "edits": {"3": Infinity}}', "finite"),
    ('{"seed": 1, "edits": {"1e308": 1}}', "a dimension is a whole number"),
    ('{"seed": 1, "edits": {"-1": 1}}', "a dimension is a whole number"),
    ('{"seed": 1, "edits": [1]}', '"edits" must map'),
    ('{"seed": 1, "moves": {"Age": 9}}', "between -5 and 5"),
    ('{"seed": 1, "moves": {"": 1}}', "direction name"),
    ('{"seed": 1, "colour": 1}', "unknown key"),
    ('{"z": [1, "a"]}', "must be a number"),
    ('{"z": [1, 1e400]}', "between -10 and 10"),
    ('{"z": "abc"}', "list of numbers"),
])
def test_bad_faces_get_clear_messages(text, message):
    with pytest.raises(ValueError, match=message):
        Face.parse(text)


def test_check_against_the_model(directions):
    with pytest.raises(ValueError, match="dimension 16 does not exist"):
        Face(seed=1, edits={16: 1.0}).latent(NZ, directions)
    with pytest.raises(ValueError, match="unknown direction 'Smile'"):
        Face(seed=1, moves={"Smile": 1.0}).latent(NZ, directions)
    face = Face(seed=1, edits={3: 1.5}, moves={"Smile": 0.0})
    assert face.check(NZ, {"Smile": None}) is face  # a face that fits the model passes, unchanged
    with pytest.raises(ValueError, match="this face's z has 3 numbers; this model's z has 16"):
        Face(z=[0.0, 1.0, 2.0]).check(NZ, {})


def test_slots_reset_and_describe():
    face = Face(seed=1, edits=[(0, 0.0), (1, 2.0)])
    assert face.on_slot(1, 2) == face  # already on a slider
    assert face.on_slot(7, 2).edits == ((7, 0.0), (1, 2.0))  # the slider left at 0 takes it
    assert face.on_slot(7, 3).edits == ((0, 0.0), (1, 2.0), (7, 0.0))
    assert Face(seed=1, edits=[(0, 1.0), (1, 2.0)]).on_slot(7, 2).edits == ((0, 1.0), (7, 0.0))  # else the last
    assert face.on_slot("Age", 4).moves == (("Age", 0.0),)
    assert face.reset().edits == ((0, 0.0), (1, 0.0))
    assert face.describe() == "seed 1, 1 slider moved" and Face(z=[0.0] * 4).describe() == "your face"


def test_face_lists_for_keyframes_and_concepts(directions):
    faces = parse_faces("0, 7, 42")
    assert [f.seed for f in faces] == [0, 7, 42]
    mixed = parse_faces('[3, {"seed": 4, "moves": {"Age": 1}}]')
    assert faces_text(mixed) == '[3, {"seed": 4, "moves": {"Age": 1.0}}]'
    assert faces_text(faces) == "0, 7, 42"
    assert latents(mixed, NZ, directions).shape == (2, NZ)
    with pytest.raises(ValueError, match="negative"):
        parse_faces("-4, 7")
    with pytest.raises(ValueError, match="at most 2"):
        parse_faces("1, 2, 3", max_count=2)
    with pytest.raises(ValueError, match="whole number"):
        parse_faces("[1e400, 2]")


def test_an_explicit_z_moves_along_directions(directions):
    z = [0.0] * NZ
    moved = Face(z=z, moves={"Age": 2.0}).latent(NZ, directions)
    assert moved[2] == pytest.approx(2.0) and moved.abs().sum() == pytest.approx(2.0)


def test_a_seeds_truncation_is_part_of_the_face():
    plain, pulled = Face(seed=7), Face(seed=7, psi=0.5)
    assert torch.allclose(pulled.latent(16), truncate(plain.latent(16), 0.5))
    assert Face.parse(pulled.to_text()) == pulled and pulled.to_json() == {"seed": 7, "psi": 0.5}
    assert "psi" not in plain.to_json()  # 1 is the default: older shared faces read as they were made
    assert Face.parse('{"seed": 7}').psi == 1.0
    edited = Face(seed=7, edits={2: 1.0}, psi=0.5)
    assert float(edited.latent(16)[2] - pulled.latent(16)[2]) == pytest.approx(1.0)  # edits add on top
    mine = Face(z=[0.5] * 16, psi=0.5)  # an explicit z (a photo's) is used as given
    assert torch.allclose(mine.latent(16), torch.full((16,), 0.5)) and "psi" not in mine.to_json()
    with pytest.raises(ValueError, match="truncation"):
        Face.parse('{"seed": 7, "psi": 2}')


def test_a_list_of_faces_takes_the_truncation_of_where_it_is_used():
    faces = parse_faces("1, 2")
    assert torch.allclose(latents(faces, 16, psi=0.5), truncate(latents(faces, 16), 0.5))
    assert faces_text([Face(seed=1, psi=0.5), Face(seed=2)]) == "1, 2"  # the list's own psi applies
