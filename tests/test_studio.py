"""The functions behind the app's tabs (gan_core.editing.explore, .morph, .face_math) on a tiny model."""
import numpy as np
import pytest
import torch

from gan_core.editing.explore import dimension_scan, gallery
from gan_core.editing.face import Face
from gan_core.editing.face_math import face_math
from gan_core.model.latent import z_from_seed, z_from_seeds
from gan_core.model.networks import GAN, Generator
from gan_core.editing.morph import MorphSettings, filmstrip, morph_frames, plan_frames, write_morph


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


def face(gan, seed, edits=None):
    return Face(seed=seed, edits=edits or {}).render(gan)


def test_dimension_scan_rows(gan):
    z = z_from_seed(5, gan.config.nz)
    grid = dimension_scan(gan, z, [1, 2], values=(-3, 0, 3))
    assert grid.shape == (6, 32, 32, 3)
    assert np.array_equal(grid[1], face(gan, 5, {1: -z[1].item()}))
    with pytest.raises(ValueError, match="does not exist"):
        dimension_scan(gan, z, [gan.config.nz])


def test_morph_frames_bounds_and_files(gan, tmp_path):
    keys = z_from_seeds([1, 2, 3], gan.config.nz)
    seen = []
    frames = morph_frames(gan, keys, MorphSettings(frames_per_segment=5, loop=False, size=48), progress=seen.append)
    assert len(frames) == 11 and frames[0].shape == (48, 48, 3)
    assert seen[-1] == 1.0
    first = face(gan, 1)
    assert np.array_equal(morph_frames(gan, keys, MorphSettings(frames_per_segment=5, loop=False, size=32))[0], first)
    assert plan_frames(3, 5, loop=True) == 15
    for args in ((1, 5, False), (3, 0, False), (2, 601, False)):
        with pytest.raises(ValueError):
            plan_frames(*args)
    with pytest.raises(ValueError, match="size"):
        MorphSettings(frames_per_segment=5, size=4096)
    mp4, gif = write_morph(frames, tmp_path, MorphSettings(fps=12))
    assert mp4.stat().st_size > 0 and gif.stat().st_size > 0
    assert filmstrip(frames, count=4, height=24).shape[0] == 24 + 4


def test_morph_settings_are_checked_once_when_made(gan):
    settings = MorphSettings(frames_per_segment=24.0, fps=12, loop=1, size=64.0)  # as a page's sliders send them
    assert (settings.frames_per_segment, settings.fps, settings.loop, settings.size) == (24, 12.0, True, 64)
    assert settings.frame_count(3) == 72 and MorphSettings(loop=False).frame_count(3) == 49
    for bad, match in (({"fps": 0}, "fps"), ({"fps": 61}, "fps"), ({"size": 8}, "size"),
                       ({"easing": "wobbly"}, "easing"), ({"mode": "zigzag"}, "slerp or lerp"),
                       ({"frames_per_segment": 0}, "at least 1")):
        with pytest.raises(ValueError, match=match):
            MorphSettings(**bad)
    with pytest.raises(ValueError, match="600 allowed"):
        MorphSettings(frames_per_segment=120).frame_count(16)
    with pytest.raises(ValueError, match="keyframes"):
        morph_frames(gan, z_from_seeds([1], gan.config.nz), settings)


def test_face_math_is_mean_arithmetic(gan):
    nz = gan.config.nz
    ab = face_math(gan, z_from_seeds([1, 2], nz), z_from_seeds([3], nz), z_from_seeds([3], nz))
    assert np.abs(ab.result.astype(int) - Face(z=((z_from_seed(1, nz) + z_from_seed(2, nz)) / 2).tolist())
                  .render(gan)).max() <= 1  # the mean of the exemplars
    out = face_math(gan, *(z_from_seeds(s, nz) for s in ([1], [2], [2])))  # A - B + B = A
    assert np.abs(out.result.astype(int) - face(gan, 1)).max() <= 1
    assert out.neighbours.shape == (9, 32, 32, 3)
    assert np.array_equal(out.neighbours[4], out.result)
    assert np.abs(out.pixels.astype(int) - face(gan, 1)).max() <= 1
    for bad in ([], [1, 2, 3, 4]):
        with pytest.raises(ValueError, match="exemplar"):
            face_math(gan, z_from_seeds(bad, nz), z_from_seeds([1], nz), z_from_seeds([2], nz))


def test_keyframes_from_text_and_add_keyframe(gan):
    from gan_core.editing.morph import add_keyframe, keyframes_from_text

    nz = gan.config.nz
    keys = keyframes_from_text("1, 2", nz)
    assert torch.equal(keys, z_from_seeds([1, 2], nz))
    text = add_keyframe("1, 2", Face(seed=5, edits={3: 1.5}))
    keys = keyframes_from_text(text, nz)
    assert keys.shape == (3, nz) and keys[2, 3] == pytest.approx(z_from_seed(5, nz)[3] + 1.5)
    assert add_keyframe("1", Face(seed=2)) == "1, 2"
    photo = Face(z=[0.25] * nz)
    assert torch.allclose(keyframes_from_text(add_keyframe("1", photo), nz)[1], torch.full((nz,), 0.25))
    for bad in ("1", "", "[1, {\"seed\": -1}]", "[oops", "{}", "-4, 7", "[1, 1e400]"):
        with pytest.raises(ValueError):
            keyframes_from_text(bad, nz)
