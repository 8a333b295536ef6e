"""The functions behind the app's tabs (gan_core.editing.explore, .morph, .face_math) on a tiny model."""
import numpy as np
import pytest
import torch
from PIL import Image

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
    settings = MorphSettings(frames_per_segment=5, loop=False, size=48)
    frames = morph_frames(gan, keys, settings, progress=seen.append)
    assert len(frames) == 11 and frames[0].shape == (32, 32, 3)  # held at G's size, upscaled as written
    assert seen[-1] == 1.0
    first = face(gan, 1)
    assert np.array_equal(morph_frames(gan, keys, MorphSettings(frames_per_segment=5, loop=False, size=32))[0], first)
    assert plan_frames(3, 5, loop=True) == 15
    for args in ((1, 5, False), (3, 0, False), (2, 601, False)):
        with pytest.raises(ValueError):
            plan_frames(*args)
    with pytest.raises(ValueError, match="size"):
        MorphSettings(frames_per_segment=5, size=4096)
    mp4, gif = write_morph(frames, tmp_path, settings)
    assert mp4.stat().st_size > 0
    with Image.open(gif) as animation:  # streamed frame by frame, at the asked size
        assert animation.size == (48, 48) and animation.n_frames == 11 and animation.info["loop"] == 0
        assert animation.info["duration"] == 40  # 1000 / 24 ms, in a GIF's hundredths of a second
    assert write_morph(frames, tmp_path / "one", settings, formats=("gif",))[0].suffix == ".gif"
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



def test_a_render_holds_one_big_frame_at_a_time(gan, tmp_path):
    import tracemalloc

    from gan_core.editing.morph import MAX_SIZE

    settings = MorphSettings(frames_per_segment=30, size=MAX_SIZE)  # 60 frames of 512 px: 47 MB if all were held
    assert MorphSettings(frames_per_segment=120, size=MAX_SIZE).frame_count(5) == 600  # the longest, at the largest
    frames = morph_frames(gan, z_from_seeds([1, 2], gan.config.nz), settings)
    tracemalloc.start()
    try:
        mp4, gif = write_morph(frames, tmp_path, settings)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 8 * 3 * MAX_SIZE ** 2, peak  # a few frames' worth (5.5 MB measured), not all 60 (47 MB)
    with Image.open(gif) as animation:
        assert animation.size == (MAX_SIZE, MAX_SIZE) and animation.n_frames == 60


# --- the studio's photo flow, on the shipped faces model ------------------------------------------
FACES, DIGITS = "Faces (CelebA 64x64)", "Digits (MNIST 32x32)"

def quiet(*args, **kwargs):  # a gr.Progress stand-in
    pass


@pytest.fixture(scope="module")
def faces_model():
    """The shipped faces model; photos found by the encoder's guess alone (the flow is tested here,
    not the likeness: tests/test_photos.py)."""
    from gan_core.photos.inversion import Settings
    from gan_core.photos.tuning import TuneSettings
    from studio import photos
    from studio.state import STORE

    finding, photos.FINDING = photos.FINDING, Settings(steps=0, tune=TuneSettings(steps=3))
    yield STORE.get(FACES)
    photos.FINDING = finding


def photo_file(folder, faces_model, seed: int, name: str) -> str:
    """A JPEG of a generated face pasted on a background, as a user would upload it."""
    from PIL import Image

    from gan_core.photos.align import paste

    face = faces_model.generate(z_from_seeds([seed], faces_model.config.nz))[0]
    path = folder / name
    Image.fromarray(paste(face, np.random.default_rng(seed), canvas=360, scales=(3.0, 3.5), degrees=8)[0]).save(
        path, quality=90)
    return str(path)


def message_of(call, *args) -> str:
    import gradio as gr

    with pytest.raises(gr.Error) as caught:
        call(*args)
    return str(caught.value.message)


def test_photos_one_after_another_replaced_and_taken_out(tmp_path, faces_model, files_written):
    from studio.photos import find_photos, photos_changed, read_photos
    from studio.session import Session

    session = Session.opening(FACES)
    first = photo_file(tmp_path, faces_model, 101, "me.jpg")
    with files_written() as paths:  # nothing of a photo reaches the disk: read, found, tuned in memory
        session, image, readout, shown, info = photos_changed(session, [first], None, quiet)
    assert paths == [] and session.found[0].tuned is not None
    from studio.explore_tab import moved
    assert moved(session, "offsets", 0, 2.0).tuned is session.found[0].tuned  # a slider keeps the photo's G
    assert [f.name for f in session.found] == ["photo 1"] and len(shown) == 3 and "photo 1" in info.lower()
    assert session.face.z == session.found[0].z and not (tmp_path / "me.jpg").exists()  # read once, deleted
    me = session.found[0]
    second = photo_file(tmp_path, faces_model, 102, "friend.jpg")
    # the box still shows the first photo's path (its file is gone) beside the new one
    session, _, _, shown, info = photos_changed(session, [first, second], None, quiet)
    assert [f.name for f in session.found] == ["photo 1", "photo 2"] and len(shown) == 6
    assert session.found[0] == me and session.face.z == session.found[1].z  # only the new photo was found
    assert read_photos(session, [first, second], None) is session  # "Find in the model" again: no file needed
    session, _, _, shown, _ = find_photos(session, quiet)
    assert [p.number for p in session.photos] == [1, 2] and len(shown) == 6
    third = photo_file(tmp_path, faces_model, 103, "other.jpg")
    session, _, _, shown, _ = photos_changed(session, [second, third], None, quiet)  # photo 1 replaced
    assert [(p.number, p.upload) for p in session.photos] == [(1, third), (2, second)]
    assert [f.name for f in session.found] == ["photo 1", "photo 2"] and set(session.crops) == {"photo 1", "photo 2"}
    assert session.face.z == session.found[0].z != me.z
    face = session.face
    session, image, readout, shown, info = photos_changed(session, [second], None, quiet)  # one taken out
    assert [f.name for f in session.found] == ["photo 2"] and len(shown) == 3
    assert session.face == face  # the current face stays as it was
    session, _, _, shown, info = photos_changed(session, None, None, quiet)  # the box cleared
    assert not session.photos and not session.found and not session.crops and shown == [] and info == ""
    assert "add a photo first" in message_of(read_photos, session, None, None)


def test_no_server_path_in_any_message_of_the_photo_flow(tmp_path, faces_model):
    from PIL import Image

    from studio.discriminator_tab import SOURCES, ask_discriminator
    from studio.photos import find_cropped, find_photos, photos_changed, preview_crop, read_photos
    from studio.session import Session

    session = Session.opening(FACES)
    text = tmp_path / "notes.jpg"
    text.write_text("not a photo")
    broken = tmp_path / "cut.jpg"
    broken.write_bytes(open(photo_file(tmp_path, faces_model, 5, "whole.jpg"), "rb").read()[:400])
    wall = tmp_path / "wall.png"
    Image.new("RGB", (300, 200), (120, 130, 140)).save(wall)
    Image.new("RGB", (300, 200), (120, 130, 140)).save(tmp_path / "wall2.png")
    gone = str(tmp_path / "gone.jpg")  # never there (or cleared from the server's cache)
    messages = [message_of(read_photos, session, [str(text)], None),
                message_of(read_photos, session, [gone], None),
                message_of(photos_changed, session, [str(broken)], None, quiet),
                message_of(photos_changed, session, [str(wall)], None, quiet),  # no face: kept for a hand crop
                message_of(find_photos, Session.opening(FACES), quiet),
                message_of(preview_crop, session, 7, 50, 50, 50),
                message_of(find_cropped, Session.opening(FACES), 1, 50, 50, 50, quiet),
                ask_discriminator(Session.opening(FACES), SOURCES[2], 0, str(tmp_path / "wall2.png"))[2],
                message_of(ask_discriminator, Session.opening(FACES), SOURCES[2], 0, gone),
                message_of(ask_discriminator, session, SOURCES[3], 0, None)]
    assert messages[0].startswith("photo 1: notes.jpg is not an image")
    assert messages[1].startswith("photo 1: gone.jpg is no longer on the server")
    assert "could not be decoded" in messages[2] and "No face found in photo 1" in messages[3]
    assert "pick one of your photos: 1" in messages[5]
    assert "No face found in your picture" in messages[7]  # no number: the verdict box says why
    assert "no longer on the server" in messages[8] and "not one found in a photo" in messages[9]
    for message in messages:
        assert str(tmp_path) not in message and "/tmp" not in message and "gradio" not in message, message
    # the refused uploads stay in the box: said once, never read again; a good photo beside them is found
    good = photo_file(tmp_path, faces_model, 101, "me.jpg")
    session, _, _, shown, info = photos_changed(session, [str(text), str(broken), str(wall), good], None, quiet)
    assert [p.number for p in session.photos] == [1, 2] and [f.name for f in session.found] == ["photo 2"]


def test_photos_by_name_in_morph_face_math_share_and_ask_d(tmp_path, faces_model):
    from gan_core.model.latent import truncate
    from studio.discriminator_tab import SOURCES, ask_discriminator
    from studio.explore_tab import set_face, share_note
    from studio.math_tab import add_current_to_concept, do_face_math, exemplars
    from studio.morph_tab import add_current_to_keyframes, keyframes_of
    from studio.photos import photos_changed, photos_to_keyframes
    from studio.session import Session

    session = Session.opening(FACES)
    nz, psi = session.nz, session.face.psi
    assert share_note(session) == "" and "find at least two photos" in message_of(photos_to_keyframes, session)
    assert "not one found in a photo" in message_of(ask_discriminator, session, SOURCES[3], 0, None)
    files = [photo_file(tmp_path, faces_model, seed, f"{seed}.jpg") for seed in (101, 102)]
    session, *_ = photos_changed(session, files, None, quiet)
    one, two = (torch.tensor(f.z) for f in session.found)
    assert photos_to_keyframes(session) == "photo 1, photo 2"  # names, not walls of numbers
    keys, tuned = keyframes_of(session, "photo 1, 7, photo 2")
    assert torch.equal(keys[0], one) and torch.equal(keys[2], two)
    assert tuned[0] is session.found[0].tuned and tuned[1] is None  # each photo with its own generator
    assert torch.allclose(keys[1], truncate(z_from_seed(7, nz), psi))
    assert add_current_to_keyframes(session, "7") == "7, photo 1"  # the current face is photo 1's
    assert torch.equal(exemplars(session, "photo 2", "A", psi)[0][0], two)
    assert add_current_to_concept(session, "3") == "3, photo 1"
    result, *_ = do_face_math(session, "photo 1", "3", "photo 2")
    assert result.shape[-1] == 3
    with pytest.raises(ValueError):
        keyframes_of(session, "photo 1, photo 3")  # no photo 3
    note = share_note(session)
    assert "photo 1" in note and "stays private" in note  # the z is shared, the photo is not
    _, image, verdict, _, _ = ask_discriminator(session, SOURCES[3], 0, None)
    assert np.array_equal(session.subject["image"], session.crops["photo 1"]) and "photo 1" in verdict
    _, _, verdict, _, _ = ask_discriminator(session, SOURCES[0], 0, None)
    assert "aligned crop" in verdict  # the photo itself is offered
    moved = Face(z=session.face.z, moves={"Smile": 1.0})
    session, *_ = set_face(session, moved.to_text())
    assert add_current_to_keyframes(session, "7").startswith("[7, {")  # an edited photo face is itself


def test_ask_d_sees_the_face_found_in_an_upload(tmp_path, faces_model):
    from studio.discriminator_tab import SOURCES, ask_discriminator
    from studio.session import Session

    session = Session.opening(FACES)
    path = photo_file(tmp_path, faces_model, 101, "me.jpg")
    session, image, verdict, _, _ = ask_discriminator(session, SOURCES[2], 0, path)
    assert session.subject["image"].shape == (64, 64, 3) and "your picture" in verdict
    assert not (tmp_path / "me.jpg").exists()  # read once, deleted ...
    _, again, _, _, _ = ask_discriminator(session, SOURCES[2], 0, path)  # ... and asked about again
    assert np.array_equal(again, image)


def test_the_direction_browser_offers_the_models_own_directions():
    """On the digits model: its own groups and directions (Towards 0-9, SeFa, PCA), no face's
    attributes; on the faces model, the faces' first; a direction the session taught joins them."""
    import json as json_module

    from gan_core.editing.directions import GROUPS, Direction
    from studio.explore_tab import direction_picker, groups_of, scan_directions
    from studio.session import Session
    from studio.state import CONFIG

    digits = Session.opening(DIGITS)
    shipped = json_module.loads((dict(CONFIG.bundled)[DIGITS] / "directions.json").read_text())["directions"]
    assert groups_of(digits.directions) == ["Attributes", "Yours", "SeFa (label-free)", "PCA (label-free)"]
    groups, picker = direction_picker(digits, GROUPS[0])
    assert groups["value"] == "Attributes" and [v for _, v in groups["choices"]] == groups_of(digits.directions)
    assert {name for _, name in picker["choices"]} == {d["name"] for d in shipped} == set(digits.directions)
    assert {f"Towards {n}" for n in range(10)} | {"SeFa 1", "PCA 10"} <= set(digits.directions)
    assert not {"Age", "Gender", "Glasses", "Smile"} & {name.split(",")[0] for name in digits.directions}
    image, caption = scan_directions(digits, "Attributes")
    assert "Towards 0" in caption and "Age" not in caption and image.shape[0] > 10 * 32  # ten rows
    groups, _ = direction_picker(digits, "PCA (label-free)")
    assert groups["value"] == "PCA (label-free)"  # the group picked stays picked
    digits.mine = {"wide": Direction("wide", torch.ones(100), "user")}
    assert [v for _, v in direction_picker(digits, "Yours")[0]["choices"]][:2] == ["Attributes", "Yours"]
    assert groups_of(Session.opening(FACES).directions)[0] == GROUPS[0]  # Age, gender, glasses, smile
