"""The functions behind the app's tabs (gan_core.explore, .morph, .face_math) on a tiny model."""
import json

import numpy as np
import pytest
import torch

from gan_core.explore import check_edits, dimension_scan, edited_z, face, gallery, parse_state, share_state
from gan_core.face_math import concept_z, face_math
from gan_core.latent import z_from_seed, z_from_seeds
from gan_core.models import GAN, Generator
from gan_core.morph import filmstrip, morph_frames, plan_frames, write_morph


@pytest.fixture
def gan(tiny_config):
    torch.manual_seed(0)
    return GAN(tiny_config, Generator(tiny_config).eval(), None, torch.device("cpu"))


def test_gallery_is_consecutive_seeds(gan):
    seeds, images = gallery(gan, 2**32 - 2, 4)
    assert seeds == [2**32 - 2, 2**32 - 1, 0, 1]
    assert np.array_equal(images[2], face(gan, 0))
    with pytest.raises(ValueError):
        gallery(gan, 0, 0)


def test_edits_move_only_their_dimensions(gan):
    nz = gan.config.nz
    z = edited_z(5, {3: 1.5, "7": -2}, nz)
    delta = z - z_from_seed(5, nz)
    assert delta[3] == pytest.approx(1.5) and delta[7] == pytest.approx(-2)
    assert (delta != 0).sum() == 2
    assert np.array_equal(face(gan, 5, {3: 0}), face(gan, 5))
    for bad in ({nz: 1}, {-1: 1}, {0: 99}, {0: float("nan")}, {"x": 1}):
        with pytest.raises(ValueError):
            check_edits(bad, nz)


def test_dimension_scan_rows(gan):
    grid = dimension_scan(gan, 5, [1, 2], values=(-3, 0, 3))
    assert grid.shape == (6, 32, 32, 3)
    assert np.array_equal(grid[1], face(gan, 5, {1: -z_from_seed(5, gan.config.nz)[1].item()}))


def test_share_state_round_trip(gan):
    text = share_state(9, {4: 1.25, 2: 0})
    assert json.loads(text) == {"seed": 9, "edits": {"4": 1.25}}
    assert parse_state(text, gan.config.nz) == (9, {4: 1.25}, {})
    for bad in ("", "[]", '{"edits": {}}', '{"seed": -3}', '{"seed": 1, "edits": [1]}'):
        with pytest.raises(ValueError):
            parse_state(bad, gan.config.nz)


def test_morph_frames_bounds_and_files(gan, tmp_path):
    keys = z_from_seeds([1, 2, 3], gan.config.nz)
    seen = []
    frames = morph_frames(gan, keys, 5, loop=False, size=48, progress=seen.append)
    assert len(frames) == 11 and frames[0].shape == (48, 48, 3)
    assert seen[-1] == 1.0
    first = face(gan, 1)
    assert np.array_equal(morph_frames(gan, keys, 5, loop=False, size=32)[0], first)
    assert plan_frames(3, 5, loop=True) == 15
    for args in ((1, 5, False), (3, 0, False), (2, 601, False)):
        with pytest.raises(ValueError):
            plan_frames(*args)
    with pytest.raises(ValueError, match="size"):
        morph_frames(gan, keys, 5, size=4096)
    mp4, gif = write_morph(frames, tmp_path, fps=12)
    assert mp4.stat().st_size > 0 and gif.stat().st_size > 0
    assert filmstrip(frames, count=4, height=24).shape[0] == 24 + 4


def test_face_math_is_mean_arithmetic(gan):
    nz = gan.config.nz
    assert torch.allclose(concept_z([1, 2], nz), (z_from_seed(1, nz) + z_from_seed(2, nz)) / 2)
    out = face_math(gan, [1], [2], [2])  # A - B + B = A
    assert np.abs(out.result.astype(int) - face(gan, 1)).max() <= 1
    assert out.neighbours.shape == (9, 32, 32, 3)
    assert np.array_equal(out.neighbours[4], out.result)
    assert np.abs(out.pixels.astype(int) - face(gan, 1)).max() <= 1
    for bad in ([], [1, 2, 3, 4]):
        with pytest.raises(ValueError, match="exemplar"):
            face_math(gan, bad, [1], [2])


def test_keyframes_from_text_and_add_keyframe(gan):
    from gan_core.morph import add_keyframe, keyframes_from_text

    nz = gan.config.nz
    keys = keyframes_from_text("1, 2", nz)
    assert torch.equal(keys, z_from_seeds([1, 2], nz))
    text = add_keyframe("1, 2", 5, {3: 1.5})
    keys = keyframes_from_text(text, nz)
    assert keys.shape == (3, nz) and keys[2, 3] == pytest.approx(z_from_seed(5, nz)[3] + 1.5)
    assert add_keyframe("1", 2, {}) == "1, 2"
    for bad in ("1", "", "[1, {\"seed\": -1}]", "[oops", "{}"):
        with pytest.raises(ValueError):
            keyframes_from_text(bad, nz)
