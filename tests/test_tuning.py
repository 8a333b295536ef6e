"""A photo's own generator (pivotal tuning): closer than z alone, local, mixable, and kept in memory."""
import numpy as np
import pytest
import torch

from gan_core.editing.face import Face, faces_text, parse_faces
from gan_core.editing.face_math import face_math
from gan_core.editing.morph import MorphSettings, keyframe_faces, morph_frames
from gan_core.model.latent import z_from_seeds
from gan_core.model.networks import GAN, Discriminator, Generator
from gan_core.photos.inversion import Settings, invert, psnr
from gan_core.photos.tuning import TuneSettings, generate, mix, tune


@pytest.fixture
def tiny_gan(tiny_config):
    torch.manual_seed(0)
    return GAN(tiny_config, Generator(tiny_config).eval(), Discriminator(tiny_config).eval(), torch.device("cpu"))


@pytest.fixture
def photo(tiny_config):
    """A picture no z of the tiny G draws: smooth colour bands."""
    s = tiny_config.image_size
    y, x = np.mgrid[0:s, 0:s] / s
    return (np.stack([x, y, 1 - x * y], -1) * 255).round().astype(np.uint8)


def test_tuning_reaches_what_z_alone_cannot_and_keeps_other_faces(tiny_gan, photo):
    z_only = invert(tiny_gan, photo[None], None, Settings(steps=20, tune=None))
    found = invert(tiny_gan, photo[None], None, Settings(steps=20, tune=TuneSettings(steps=60, lr=1e-2)))
    assert found.psnr[0] > z_only.psnr[0] + 3
    assert np.array_equal(found.z, z_only.z)  # the pivot: z is found first, then held
    tuned = found.tuned[0]
    face = Face(z=found.z[0].tolist(), name="photo 1", tuned=tuned)
    assert np.array_equal(face.render(tiny_gan), found.reconstructions[0])
    # other faces: the locality term keeps them closer to what the shipped G draws
    loose = tune(tiny_gan, photo, found.z[0], TuneSettings(steps=60, lr=1e-2, locality=0.0))
    others = z_from_seeds(range(8), tiny_gan.config.nz)
    shipped = tiny_gan.generate(others)
    kept = psnr(generate(tiny_gan, others, [tuned] * 8), shipped)
    assert kept > psnr(generate(tiny_gan, others, [loose] * 8), shipped) + 2
    # only the last layers are tuned, and only their offsets are kept
    assert all(name.startswith("main.") for name in tuned.offsets) and 0 < tuned.nbytes < 200_000


def test_a_shared_photo_face_is_its_z_alone(tiny_gan, photo):
    found = invert(tiny_gan, photo[None], None, Settings(steps=0, tune=TuneSettings(steps=5)))
    face = Face(z=found.z[0].tolist(), name="photo 1", tuned=found.tuned[0], moves={"Smile": 1.0})
    assert set(face.to_json()) == {"z", "moves"}
    assert "photo" not in face.to_text() and Face.parse(face.to_text()).tuned is None
    assert face.describe() == "photo 1, 1 slider moved"
    assert face.with_seed(3).name is None and face.with_seed(3).tuned is None


def test_keyframes_name_photos_and_morph_blends_their_generators(tiny_gan, photo):
    found = invert(tiny_gan, np.stack([photo, photo[::-1]]), None, Settings(steps=0, tune=TuneSettings(steps=30, lr=1e-2)))
    photos = {f"photo {i + 1}": Face(z=z.tolist(), name=f"photo {i + 1}", tuned=t)
              for i, (z, t) in enumerate(zip(found.z, found.tuned))}
    faces = keyframe_faces("photo 1, 7, Photo 2", photos)
    assert [f.describe() for f in faces] == ["photo 1", "seed 7", "photo 2"]
    assert faces_text(faces) == "photo 1, 7, photo 2"
    moved = Face(z=found.z[0].tolist(), name="photo 1", tuned=found.tuned[0], moves={"Smile": 2.0})
    text = faces_text([moved, Face(seed=7)])
    assert "photo 1" in text and len(text) < 80  # never a wall of numbers
    assert parse_faces(text, named=photos)[0].nonzero_moves == {"Smile": 2.0}
    with pytest.raises(ValueError, match="'photo 9' is neither a seed"):
        keyframe_faces("photo 1, photo 9", photos)

    z = torch.stack([faces[0].latent(16), faces[2].latent(16)])
    frames = morph_frames(tiny_gan, z, MorphSettings(frames_per_segment=4, loop=False, size=32),
                          tuned=[faces[0].tuned, faces[2].tuned])
    assert np.array_equal(frames[0], faces[0].render(tiny_gan))
    assert np.array_equal(frames[-1], faces[2].render(tiny_gan))
    plain = morph_frames(tiny_gan, z, MorphSettings(frames_per_segment=4, loop=False, size=32))
    assert not np.array_equal(frames[2], plain[2])  # the middle is drawn by the blended generator


def test_mix_is_linear_in_the_offsets(tiny_gan, photo):
    found = invert(tiny_gan, photo[None], None, Settings(steps=0, tune=TuneSettings(steps=5)))
    t = found.tuned[0]
    half = mix([t, None], [0.5, 0.5])
    assert all(torch.allclose(half.offsets[n], 0.5 * t.offsets[n]) for n in t.offsets)
    assert mix([None, None], [0.5, 0.5]) is None


def test_face_math_with_a_photo_carries_its_generator(tiny_gan, photo):
    found = invert(tiny_gan, photo[None], None, Settings(steps=0, tune=TuneSettings(steps=30, lr=1e-2)))
    a, b = z_from_seeds([1], 16), z_from_seeds([2], 16)
    c = found.z[:1]
    plain = face_math(tiny_gan, a, b, c)
    with_photo = face_math(tiny_gan, a, b, c, tuned=[None, None, [found.tuned[0]]])
    assert np.array_equal(with_photo.concepts[2][0], found.reconstructions[0])  # the exemplar is the photo
    assert not np.array_equal(with_photo.result, plain.result)


def test_nothing_of_a_photo_is_written_anywhere(tiny_gan, photo, files_written):
    """Finding and tuning open no file for writing: the tuned weights stay in memory."""
    with files_written() as paths:
        found = invert(tiny_gan, photo[None], None, Settings(steps=5, tune=TuneSettings(steps=5)))
        Face(z=found.z[0].tolist(), name="photo 1", tuned=found.tuned[0]).render(tiny_gan)
    assert paths == []


def test_a_photos_weights_never_reach_another_visitors_face(tiny_gan, photo):
    """Drawing with a photo's tuned G while another thread draws with the shipped G (two visitors):
    the shipped G is never changed, not even for a moment, and autograd beside it still works."""
    import threading

    from gan_core.photos.tuning import Tuned

    z = z_from_seeds(range(4), 16)
    plain = tiny_gan.generate(z)
    t = tune(tiny_gan, photo, z[0], TuneSettings(steps=2))
    loud = Tuned({name: offset + 0.5 for name, offset in t.offsets.items()})  # a very different G
    stop, wrong = threading.Event(), []

    def photo_visitor():
        while not stop.is_set():
            generate(tiny_gan, z, [loud] * 4)

    drawer = threading.Thread(target=photo_visitor)
    drawer.start()
    try:
        for _ in range(200):
            if not np.array_equal(tiny_gan.generate(z), plain):
                wrong.append(1)
            with torch.inference_mode(False), torch.enable_grad():  # Ask D's steps on z, beside it
                zz = z[:1].clone().requires_grad_(True)
                tiny_gan.G(zz).sum().backward()
    finally:
        stop.set()
        drawer.join()
    assert not wrong and all(not p.is_inference() for p in tiny_gan.G.parameters())
