"""The launched app through gradio_client: every endpoint, good and bad input."""
import json

import numpy as np
import pytest
from PIL import Image

gradio_client = pytest.importorskip("gradio_client")

AGE = "Age, gender kept"
FACES, DIGITS = "Faces (CelebA 64x64)", "Digits (MNIST 32x32)"


@pytest.fixture(scope="module")
def client(studio_url):
    client = gradio_client.Client(studio_url, verbose=False)
    yield client
    client.close()  # its heartbeat thread would go on calling the server during later tests


def image(path) -> np.ndarray:
    with Image.open(path) as im:
        return np.asarray(im.convert("RGB"))


def face(client, value) -> np.ndarray:
    """The face of `value` (a seed or a face's JSON), made the session's current face."""
    path, _ = client.predict(value if isinstance(value, dict) else {"seed": value}, api_name="/face")
    return image(path)


def error_of(client, *args, api_name):
    with pytest.raises(Exception) as info:
        client.predict(*args, api_name=api_name)
    return str(info.value)


def test_api_lists_every_action_and_none_takes_more_than_8_parameters(client):
    endpoints = client.view_api(print_info=False, return_format="dict")["named_endpoints"]
    assert {"/choose_model", "/load_hub", "/gallery", "/face", "/share", "/apply_state", "/scan",
            "/use_dimension", "/morph", "/face_math", "/walk", "/ask"} <= set(endpoints)
    too_many = {name: len(e["parameters"]) for name, e in endpoints.items() if len(e["parameters"]) > 8}
    assert not too_many
    assert [p["parameter_name"] for p in endpoints["/face"]["parameters"]] == ["value"] or \
        len(endpoints["/face"]["parameters"]) == 1  # the current face, as one JSON value


def test_face_and_slider_edit(client):
    plain = face(client, 3)
    assert plain.shape == (256, 256, 3) and plain.std() > 10
    assert np.array_equal(plain, face(client, 3))  # same seed, same face
    edited = face(client, {"seed": 3, "edits": {"0": 2.5}})
    assert np.abs(edited.astype(int) - plain).mean() > 1  # moving z[0] changes the face
    assert json.loads(client.predict(api_name="/share")) == {"seed": 3, "edits": {"0": 2.5}}


def test_gallery(client):
    items = client.predict(10, api_name="/gallery")
    assert len(items) == 16
    assert [item["caption"] for item in items[:2]] == ["seed 10", "seed 11"]


def test_polish_with_d_on_and_off(client):
    plain = face(client, 13)
    path, _ = client.predict(True, api_name="/polish")
    try:
        polished = image(path)
        assert polished.shape == plain.shape and np.abs(polished.astype(int) - plain).mean() > 1
        assert json.loads(client.predict(api_name="/share")) == {"seed": 13}  # the face is still its seed
        assert len(client.predict(0, api_name="/gallery")) == 16
    finally:
        path, _ = client.predict(False, api_name="/polish")
    assert np.array_equal(image(path), plain)


def test_scanner_and_use_dimension(client):
    face(client, 3)
    grid, caption = client.predict(1, api_name="/scan")
    assert "dimensions 8 to 15" in caption
    assert image(grid).shape[1] > image(grid).shape[0] * 0.8  # 8 rows x 7 columns
    client.predict(42, api_name="/use_dimension")
    face(client, {"seed": 3, "edits": {"42": 1.0}})  # a dimension far from the first six is fine too
    assert json.loads(client.predict(api_name="/share"))["edits"] == {"42": 1.0}


def test_share_and_apply_round_trip(client):
    shared = {"seed": 7, "edits": {"0": 1.5, "5": -2.0}, "moves": {AGE: 1.25}}
    face(client, shared)
    text = client.predict(api_name="/share")
    assert json.loads(text) == shared
    face(client, 1)
    path, _ = client.predict(text, api_name="/apply_state")
    assert image(path).shape == (256, 256, 3)
    assert json.loads(client.predict(api_name="/share")) == shared
    assert client.predict('{"seed": 42, "edits": {"7": 1.5}}', api_name="/apply_state")  # today's share strings


def test_morph_video_and_gif(client):
    strip, mp4, gif, info = client.predict("0, 7", 4, 12, "slerp", "ease-in-out", True, 64, False, api_name="/morph")
    assert info.startswith("8 frames")
    with open(mp4["video"] if isinstance(mp4, dict) else mp4, "rb") as f:
        assert b"ftyp" in f.read(64)
    with Image.open(gif) as g:
        assert g.n_frames >= 2 and g.size == (64, 64)
    assert image(strip).shape[0] > 0


def test_face_math(client):
    result, grid, pixels, concepts = client.predict("47, 71, 83", "16, 18, 21", "3, 19, 33", api_name="/face_math")
    assert image(result).shape == (256, 256, 3)
    assert image(grid).shape[0] == image(grid).shape[1]  # 3x3
    assert image(concepts).shape[0] == image(concepts).shape[1]  # 3 rows of up to 3 exemplars


def test_digits_model(client):
    info = client.predict(DIGITS, api_name="/choose_model")[0]
    assert "32x32" in info and "makes digits" in info and "no classifier" not in info
    assert json.loads(client.predict(api_name="/share")) == {"seed": 1}  # its opening seed and psi 1 (config extra)
    path, reading = client.predict({"seed": 1}, api_name="/face")
    digit = image(path)
    assert np.abs(digit[..., 0].astype(int) - digit[..., 1]).max() <= 4  # greyscale (up to JPEG rounding)
    assert reading["label"] in {f"a {d}" for d in range(10)}  # the digit classifier's readout
    client.predict(FACES, api_name="/choose_model")


def test_each_model_keeps_the_sessions_face(studio_url):
    """A photo's face (an explicit z) on the faces model survives a visit to the digits model."""
    fresh = gradio_client.Client(studio_url, verbose=False)  # a session of its own
    try:
        photo = {"z": [round(0.01 * i - 0.5, 3) for i in range(100)], "moves": {AGE: 1.5}}
        face(fresh, photo)
        info = fresh.predict(DIGITS, api_name="/choose_model")[0]
        assert "makes digits" in info and json.loads(fresh.predict(api_name="/share")) == {"seed": 1}
        face(fresh, 4)
        fresh.predict(FACES, api_name="/choose_model")
        assert json.loads(fresh.predict(api_name="/share")) == photo  # back: the photo, edits and all
        fresh.predict(DIGITS, api_name="/choose_model")
        assert json.loads(fresh.predict(api_name="/share")) == {"seed": 4}
    finally:
        fresh.close()  # its heartbeat would outlive the server


def test_real_or_fake_rounds(client, studio_url):
    fresh = gradio_client.Client(studio_url, verbose=False)
    try:
        assert "New round first" in error_of(fresh, *["Real"] * 8, api_name="/game_check")
    finally:
        fresh.close()  # its heartbeat would outlive the server
    out = client.predict("Digits (MNIST)", api_name="/game_round")
    cards, note = out[:8], out[16]
    paths = [c["value"] if isinstance(c, dict) else c for c in cards]  # updates: the picture and its caption
    assert all(image(p).shape[:2] == (112, 112) for p in paths) and "coin toss" in note
    assert "not marked yet" in error_of(client, *["Real"] * 7, None, api_name="/game_check")
    out = client.predict(*["Fake", "Real"] * 4, api_name="/game_check")
    result, tally = out[-2], out[-1]
    assert "You:" in result and "of 8 right" in result and "**D**" in result and "The detector" in result
    assert tally.startswith("This session, 1 round: you")
    assert "is scored" in error_of(client, *["Real"] * 8, api_name="/game_check")  # no second try
    refused = error_of(client, "Faces (CelebA)", api_name="/game_round")  # no local faces here
    assert "not in the list of choices" in refused or "pick one of" in refused


SERVER_PATHS = ["/work/main/checkpoints/celeba64", "/etc", "../checkpoints/celeba64", "./checkpoints/celeba64",
                "~/models", "C:\\models\\x", "checkpoints/../../etc"]


@pytest.mark.parametrize("path", SERVER_PATHS)
def test_the_hub_box_refuses_server_paths(client, path):
    message = error_of(client, path, api_name="/load_hub")
    assert "repo id" in message
    for part in ("/work", "/etc", "checkpoints", "celeba64", "models"):
        assert part not in message
    assert face(client, 3).shape == (256, 256, 3)


def test_the_hub_box_reads_a_repo_id_from_the_hub_never_a_folder(client):
    """"checkpoints/celeba64" is a folder here and a well-formed repo id: it is looked up on the Hub only."""
    assert "not in the local Hugging Face cache" in error_of(client, "checkpoints/celeba64", api_name="/load_hub")


def test_the_model_picker_lists_only_what_the_server_has(client):
    assert "not in the list of choices" in error_of(client, "/work/main/checkpoints/mnist32", api_name="/choose_model")


BAD_FACES = [
    ({"seed": -1}, "between 0 and"),
    ({"seed": 2**32}, "between 0 and"),
    ({"seed": 1e308}, "between 0 and"),
    ({"seed": 1, "edits": {"500": 1}}, "dimension 500 does not exist"),
    ({"seed": 1, "edits": {"3": 9}}, "between -5 and 5"),
    ({"seed": 1, "moves": {"Bogus": 1}}, "unknown direction 'Bogus'"),
    ({"seed": 1, "edits": {str(d): 1 for d in range(8)}}, "at most 6 edited dimensions"),
    ({"z": [0.1] * 7}, "this model's z has 100"),
    ({"seed": 1, "shoe": 1}, "unknown key"),
    ([1, 2], "a face is a seed or"),
]


@pytest.mark.parametrize("value, expected", BAD_FACES)
def test_bad_faces_are_refused_and_the_session_keeps_its_face(client, value, expected):
    face(client, {"seed": 5, "edits": {"2": 1.0}})
    assert expected in error_of(client, value, api_name="/face")
    assert json.loads(client.predict(api_name="/share")) == {"seed": 5, "edits": {"2": 1.0}}
    assert face(client, 3).shape == (256, 256, 3)


@pytest.mark.parametrize("api_name,args,expected", [
    ("/gallery", (2**40,), "greater than maximum"),
    ("/morph", ("0, 7", 0, 24, "slerp", "linear", True, 256, True), "less than minimum"),
    ("/morph", ("0, 7", 10**6, 24, "slerp", "linear", True, 256, True), "greater than maximum"),
    ("/morph", ("0-15", 120, 24, "slerp", "linear", True, 256, True), "more than the 600 allowed"),
    ("/morph", ("7", 24, 24, "slerp", "linear", True, 256, True), "at least two keyframes"),
    ("/morph", ("0, x", 24, 24, "slerp", "linear", True, 256, True), "seed"),
    ("/morph", ("-4, 7", 24, 24, "slerp", "linear", True, 256, True), "'-4' is negative"),
    ("/morph", ("[0, 1e400]", 24, 24, "slerp", "linear", True, 256, True), "whole number"),
    ("/morph", ('[0, {"seed": 1, "edits": {"3": 1e400}}]', 24, 24, "slerp", "linear", True, 256, True),
     "between -5 and 5"),
    ("/face_math", ("", "1", "2"), "concept A has no exemplar faces"),
    ("/face_math", ("1", "2", "1, 2, 3, 4"), "at most 3"),
    ("/load_hub", ("bogus/repo",), "cannot be reached"),
    ("/load_hub", ("",), "repo id"),
    ("/load_hub", ("not a repo",), "repo id"),
    ("/apply_state", ("hello",), "not a face"),
    ("/apply_state", ('{"seed": 1e400}',), "whole number"),
    ("/apply_state", ('{"seed": 1, "edits": {"500": 1}}',), "dimension 500 does not exist"),
    ("/use_dimension", (100,), "pick a dimension from 0 to 99"),
    ("/use_dimension", (1e308,), "pick a dimension from 0 to 99"),
    ("/use_dimension", (-1,), "pick a dimension from 0 to 99"),
    ("/use_dimension", (None,), "type the dimension"),
    ("/scan", (10**9,), "greater than maximum value 12"),
    ("/use_direction", ("Bogus",), "pick a direction from the list"),
    ("/walk", ("Nope", 3, 4, 12, "linear", False, 64, False), "pick a direction"),
])
def test_bad_input_gives_a_clear_message_and_the_session_keeps_working(client, api_name, args, expected):
    face(client, {"seed": 5, "edits": {"2": 1.0}})
    assert expected in error_of(client, *args, api_name=api_name)
    assert json.loads(client.predict(api_name="/share")) == {"seed": 5, "edits": {"2": 1.0}}
    client.predict(0, api_name="/scan")  # the session's other actions still work
    assert face(client, 3).shape == (256, 256, 3)


@pytest.mark.parametrize("fmt", ["mp4", "gif"])
def test_single_format_morph_endpoints(client, fmt):
    path = client.predict("0, 7", 3, 12, "lerp", "linear", False, 64, False, api_name=f"/morph_{fmt}")
    assert path.endswith(f".{fmt}")
    with open(path, "rb") as f:
        head = f.read(16)
    assert (b"ftyp" in head) if fmt == "mp4" else head.startswith(b"GIF8")


def test_named_direction_moves_the_face_and_its_readout(client):
    plain = face(client, 3)
    older = face(client, {"seed": 3, "moves": {AGE: 2.5}})
    assert np.abs(older.astype(int) - plain).mean() > 2
    _, attributes = client.predict({"seed": 3}, api_name="/face")
    labels = {c["label"] for c in attributes["confidences"]}
    assert len(labels) == 5 and labels <= {"male", "young", "eyeglasses", "smiling", "blond hair", "black hair", "bald",
                                            "mustache", "wearing hat", "bangs", "heavy makeup", "no beard",
                                            "pale skin", "mouth slightly open"}


def test_direction_browser_and_use_direction(client):
    face(client, 3)
    grid, caption = client.predict("Age, gender, glasses, smile", api_name="/scan_directions")
    assert "Age, gender kept" in caption and "moves young" in caption
    assert image(grid).shape[1] > 300
    _, caption = client.predict("SeFa (label-free)", api_name="/scan_directions")
    assert "SeFa 1" in caption
    client.predict("SeFa 2", api_name="/use_direction")
    face(client, {"seed": 3, "moves": {"SeFa 2": 1.0}})


def test_teaching_a_direction(client):
    from gan_core.editing.directions import MIN_MARKS

    for seed in range(3):
        face(client, seed)
        marks = client.predict(api_name="/mark_yes")
    assert marks == f"**3** marked yes, **0** marked no (about {MIN_MARKS - 3} more to go)"
    assert f"mark at least {MIN_MARKS} faces" in error_of(client, "freckles", api_name="/fit_direction")
    for seed in range(3, 6):
        face(client, seed)
        client.predict(api_name="/mark_yes")
    for seed in range(6, 11):
        face(client, seed)
        client.predict(api_name="/mark_no")
    assert "name the concept" in error_of(client, " ", api_name="/fit_direction")
    assert "already a direction" in error_of(client, AGE, api_name="/fit_direction")
    assert "letters, digits" in error_of(client, "**bold** <b>", api_name="/fit_direction")
    path, note, *_ = client.predict("freckles", api_name="/fit_direction")
    assert "freckles" in note
    saved = json.loads(open(path).read())
    assert saved["name"] == "freckles" and len(saved["vector"]) == 100
    moved = face(client, {"seed": 0, "moves": {"freckles": 3}})
    assert np.abs(moved.astype(int) - face(client, 0)).mean() > 1


def test_walk_a_direction(client):
    face(client, 5)
    strip, mp4, gif, info = client.predict(AGE, 3, 4, 12, "linear", False, 64, False, api_name="/walk")
    assert info.startswith("5 frames walking Age")
    with Image.open(gif) as g:
        assert g.n_frames == 5


def direction_file(tmp_path, name, obj) -> dict:
    path = tmp_path / name
    path.write_text(obj if isinstance(obj, str) else json.dumps(obj))
    return gradio_client.handle_file(str(path))


@pytest.mark.parametrize("obj, expected", [
    ("not json", "not JSON"),
    ({"name": "tiny", "method": "user", "vector": [1, 2, 3]}, "3 numbers"),
    ({"name": "odd", "method": "conditional", "vector": [1.0] * 100}, "user direction"),
    ({"name": "odd", "method": "user", "quality": {"flip": "lots"}, "vector": [1.0] * 100}, "quality"),
    ({"name": "nan", "method": "user", "vector": [float("nan")] * 100}, "finite"),
    ('{"name": "big", "method": "user", "vector": [' + ", ".join(["1e400"] * 100) + "]}", "finite"),
    ({"name": "x" * 80, "method": "user", "vector": [1.0] * 100}, "40 characters"),
])
def test_crafted_direction_files_are_refused_and_the_browser_keeps_working(client, tmp_path, obj, expected):
    assert expected in error_of(client, direction_file(tmp_path, "d.json", obj), api_name="/upload_direction")
    _, caption = client.predict("Age, gender, glasses, smile", api_name="/scan_directions")
    assert "Age, gender kept" in caption


def test_uploading_a_direction_file(client, tmp_path):
    good = direction_file(tmp_path, "good.json", {"name": "mine", "method": "user", "vector": [1.0] + [0.0] * 99})
    note, *_ = client.predict(good, api_name="/upload_direction")
    assert "mine" in note
    face(client, {"seed": 1, "moves": {"mine": 2.0}})


# --- ask the discriminator and the training dashboard -------------------------------------------------
SEED_SOURCE, UPLOAD_SOURCE, CURRENT = "A seed", "An uploaded picture", "Current face (Explore)"
THROUGH_Z, ON_PIXELS = "Through G: its input z", "On the pixels (an adversarial example)"


def ask_d(client, source=SEED_SOURCE, seed=3, upload=None):
    return client.predict(source, seed, upload, api_name="/ask")


def test_ask_the_discriminator_and_climb_its_gradient(client):
    face_path, verdict, heat, signed = ask_d(client)
    p0 = float(verdict.split("D says ")[1].split()[0])
    assert 0 < p0 < 1
    assert image(face_path).shape == (256, 256, 3) and image(heat).shape == (256, 256, 3)
    stepped, difference, plot, note, strip, how = client.predict(THROUGH_Z, 3, 0.05, api_name="/steps")
    probs = [row[1] for row in plot["data"]]
    assert "3 step(s) through G's input z" in note and len(probs) == 4 and probs[-1] > probs[0]
    assert probs[0] == pytest.approx(p0, abs=5e-4) and len(strip) == 4  # step 0 is the verdict's number
    _, _, plot, note, _, _ = client.predict(THROUGH_Z, 2, 0.05, api_name="/steps")  # carries on
    assert len(plot["data"]) == 6 and "5 in all" in note
    _, _, plot, note, _, _ = client.predict(ON_PIXELS, 3, 0.25, api_name="/steps")  # another kind: from step 0
    assert len(plot["data"]) == 4 and "adversarial example" in note
    maps = client.predict(1, 4, api_name="/feature_maps")
    assert len(maps) == 4 and maps[0]["caption"].startswith("unit ")
    face(client, {"seed": 4, "edits": {"1": 1.0}})
    _, verdict, _, _ = ask_d(client, CURRENT)
    assert "seed 4, 1 slider moved" in verdict


def test_asking_about_an_upload(client, tmp_path):
    noise = tmp_path / "noise.png"
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (90, 120, 3), dtype=np.uint8)).save(noise)
    shown, verdict, heat, signed = ask_d(client, UPLOAD_SOURCE, upload=gradio_client.handle_file(str(noise)))
    assert "No face found in your picture" in verdict and "D says" not in verdict  # no number for a non-face
    assert shown is None and heat is None and signed is None  # and no pictures from the last question
    face_path, verdict, _, _ = ask_d(client, UPLOAD_SOURCE, upload=photo_of(tmp_path, client, [105], "me.jpg"))
    assert image(face_path).shape == (256, 256, 3) and "your picture" in verdict  # the face found in it
    assert "held-out real faces" in verdict and "police" in verdict  # read against D's own scores
    _, _, plot, note, _, how = client.predict(THROUGH_Z, 3, 0.05, api_name="/steps")  # no z: pixels offered
    assert "G did not make this picture" in note and len(plot["data"]) == 1 and how["value"] == ON_PIXELS
    text = tmp_path / "notes.png"
    text.write_text("this is not an image")
    assert "not an image" in error_of(client, UPLOAD_SOURCE, 3, gradio_client.handle_file(str(text)),
                                      api_name="/ask")
    assert "upload a picture first" in error_of(client, UPLOAD_SOURCE, 3, None, api_name="/ask")


def test_a_huge_16_bit_png_is_refused_before_it_is_decoded(client, tmp_path):
    bomb = tmp_path / "bomb.png"
    Image.new("I;16", (7000, 7000)).save(bomb)
    assert bomb.stat().st_size < 1_000_000
    assert "memory" in error_of(client, UPLOAD_SOURCE, 3, gradio_client.handle_file(str(bomb)), api_name="/ask")
    assert face(client, 3).shape == (256, 256, 3)


def test_training_dashboard_reads_the_shipped_history(client):
    summary, losses, outputs, slider, grid, caption = client.predict(FACES, api_name="/training_run")
    assert "38,242 steps" in summary
    series = {row[2] for row in outputs["data"]}
    assert {"D(x): real images", "D(G(z)): generated images", "0.5: D cannot tell"} <= series
    assert image(grid).shape[0] > 200
    grid, caption = client.predict(FACES, 1, api_name="/training_grid")
    assert "Grid at step" in caption
    video = client.predict(DIGITS, 4, api_name="/timelapse")
    with open(video["video"] if isinstance(video, dict) else video, "rb") as f:
        assert b"ftyp" in f.read(64)
    assert "not in the list of choices" in error_of(client, "/etc", api_name="/training_run")


def test_live_training_belongs_to_the_page_that_started_it(client, studio_url):
    import time
    message, *_ = client.predict(100, 0.5, api_name="/live_start")
    assert message.startswith("training")
    assert "already going" in error_of(client, 100, 0.5, api_name="/live_start")
    other = gradio_client.Client(studio_url, verbose=False)  # another visitor
    try:
        assert "only the page that started" in error_of(other, api_name="/live_stop")
    finally:
        other.close()
    time.sleep(2)
    stopped = client.predict(api_name="/live_stop")
    assert "of 100" in stopped and not stopped.startswith("training")
    summary, losses, outputs, *_ = client.predict("Live run (digits, trained here)", api_name="/training_run")
    assert "steps" in summary and losses["data"]


# --- your own photo -------------------------------------------------------------------------------
def photo_of(tmp_path, client, seeds, name) -> dict:
    """A photo (a JPEG) of generated faces pasted on a background, as a user would upload it."""
    from gan_core.photos.align import paste
    from gan_core.model.checkpoints import load_gan
    from gan_core.model.latent import z_from_seeds

    gan = load_gan("checkpoints/celeba64", "cpu")
    faces = gan.generate(z_from_seeds(seeds, 100))
    rng = np.random.default_rng(seeds[0])
    photo = np.hstack([paste(f, rng, canvas=360, scales=(3.0, 3.5), degrees=8)[0] for f in faces])
    path = tmp_path / name
    Image.fromarray(photo).save(path, quality=90)
    return gradio_client.handle_file(str(path))


def find(client, *photos) -> tuple:
    client.predict(list(photos), None, api_name="/add_photos")
    return client.predict(api_name="/find_photos")


def test_a_photo_is_found_edited_morphed_and_used_in_face_math(client, tmp_path):
    client.predict(FACES, api_name="/choose_model")
    image_path, _, results, info = find(client, photo_of(tmp_path, client, [101], "me.jpg"))
    assert "photo 1" in info and "current face" in info
    assert [r["caption"] for r in results][:2] == ["photo 1", "aligned"] and len(results) == 3
    mine = json.loads(client.predict(api_name="/share"))
    assert set(mine) == {"z"} and len(mine["z"]) == 100  # the current face is the photo's z
    older = face(client, {**mine, "moves": {AGE: 2.5}})  # the named sliders work on it
    assert np.abs(older.astype(int) - image(image_path)).mean() > 2
    _, verdict, _, _ = client.predict(CURRENT, 0, None, api_name="/ask")
    assert "your face" in verdict
    strip, mp4, gif, note = client.predict(AGE, 3, 4, 12, "linear", False, 64, False, api_name="/walk")
    assert note.startswith("5 frames walking Age")  # a direction walked from the photo
    _, _, _, info = find(client, photo_of(tmp_path, client, [102], "friend.jpg"))
    friend = json.loads(client.predict(api_name="/share"))
    keyframes = json.dumps([mine, friend])
    strip, mp4, gif, note = client.predict(keyframes, 4, 12, "slerp", "linear", False, 64, False, api_name="/morph")
    assert note.startswith("5 frames")
    result, *_ = client.predict("47, 71, 83", "16, 18, 21", json.dumps([mine]), api_name="/face_math")
    assert image(result).shape == (256, 256, 3)


def test_several_photos_at_once_and_one_without_a_face(client, tmp_path):
    blank = tmp_path / "wall.png"
    Image.new("RGB", (300, 200), (120, 130, 140)).save(blank)
    _, _, results, info = find(client, photo_of(tmp_path, client, [103], "a.jpg"),
                               gradio_client.handle_file(str(blank)), photo_of(tmp_path, client, [104], "b.jpg"))
    assert [r["caption"] for r in results[::3]] == ["photo 1", "photo 3"]
    assert "No face found in photo 2" in info and "crop it by hand" in info
    _, _, results, info = client.predict(2, 50, 50, 80, api_name="/find_cropped")
    assert "Cropped by hand" in info and "Photo 2 is the current face" in info
    assert [r["caption"] for r in results[::3]] == ["photo 1", "photo 2", "photo 3"]  # photo 2 joins the found


def test_a_second_photo_after_the_first_was_found(client, tmp_path):
    """The box keeps the first photo's path (its file read and deleted) and adds the second."""
    client.predict(FACES, api_name="/choose_model")
    first = photo_of(tmp_path, client, [106], "one.jpg")
    _, _, results, _ = find(client, first)
    second = photo_of(tmp_path, client, [107], "two.jpg")
    client.predict([first, second], None, api_name="/add_photos")
    _, _, results, info = client.predict(api_name="/find_photos")
    assert [r["caption"] for r in results[::3]] == ["photo 1", "photo 2"] and "photo 2" in info


def test_bad_photos_are_refused_and_the_session_keeps_its_face(client, tmp_path):
    face(client, {"seed": 5, "edits": {"2": 1.0}})
    blank = tmp_path / "wall.png"
    Image.new("RGB", (300, 200), (120, 130, 140)).save(blank)
    client.predict([gradio_client.handle_file(str(blank))], None, api_name="/add_photos")
    assert "No face found" in error_of(client, api_name="/find_photos")
    assert "pick one of your photos: 1" in error_of(client, 5, 50, 50, 50, api_name="/find_cropped")
    text = tmp_path / "notes.jpg"
    text.write_text("not a photo")
    assert "photo 1: " in error_of(client, [gradio_client.handle_file(str(text))], None, api_name="/add_photos")
    bomb = tmp_path / "bomb.png"
    Image.new("I;16", (7000, 7000)).save(bomb)
    assert "memory" in error_of(client, [gradio_client.handle_file(str(bomb))], None, api_name="/add_photos")
    assert "add a photo first" in error_of(client, [], None, api_name="/add_photos")  # the box emptied
    assert "upload a photo first" in error_of(client, 1, 50, 50, 50, api_name="/find_cropped")
    assert json.loads(client.predict(api_name="/share")) == {"seed": 5, "edits": {"2": 1.0}}


def test_truncation_is_the_sessions_and_every_face_takes_it(client):
    plain = face(client, 5)  # a face sent without psi is z as drawn
    gallery_plain = client.predict(5, api_name="/gallery")
    pulled, _ = client.predict(0.5, api_name="/truncation")
    assert np.abs(image(pulled).astype(int) - plain).mean() > 1
    assert json.loads(client.predict(api_name="/share")) == {"seed": 5, "psi": 0.5}
    gallery_pulled = client.predict(5, api_name="/gallery")  # the gallery follows the session's psi
    assert not np.array_equal(image(gallery_pulled[0]["image"]), image(gallery_plain[0]["image"]))
    assert np.array_equal(face(client, {"seed": 5, "psi": 0.5}), image(pulled))  # a shared psi comes back
    assert "greater than maximum value 1" in error_of(client, 1.5, api_name="/truncation")  # Gradio checks it
    assert json.loads(client.predict(api_name="/share"))["psi"] == 0.5  # and the session kept it
    client.predict(1.0, api_name="/truncation")


def test_a_user_error_is_shown_in_the_page_language_and_english_without_one(studio_url, client):
    chinese = gradio_client.Client(studio_url, verbose=False, headers={"Cookie": "studio-lang=zh-CN"})
    try:
        assert "未知的方向 'Bogus'；这个模型有：" in error_of(chinese, {"seed": 1, "moves": {"Bogus": 1}}, api_name="/face")
        assert "既不是种子（整数），也不是本页找到的照片的名字" in error_of(chinese, "0, x", 24, 24, "slerp", "linear", True, 256, True, api_name="/morph")
    finally:
        chinese.close()
    assert "'x' is neither a seed (a whole number)" in error_of(client, "0, x", 24, 24, "slerp", "linear", True, 256,
                                                                True, api_name="/morph")


def test_renders_share_one_budget_for_the_whole_server(client):
    import app
    from studio.page import RENDERS
    from studio.upload_gate import UploadGate

    assert UploadGate in [m.cls for m in app.demo.launch.keywords["app_kwargs"]["middleware"]]

    by_name = {fn.api_name: fn for fn in app.demo.fns.values() if fn.api_name}
    for name in ("morph", "morph_mp4", "morph_gif", "walk", "timelapse"):
        assert (by_name[name].concurrency_id, by_name[name].concurrency_limit) == ("render", RENDERS), name
    for name in ("face", "gallery", "pick_seed", "truncation"):
        assert by_name[name].concurrency_id != "render", name


def test_an_ended_session_starts_afresh(studio_url):
    import datetime

    import app
    from studio.session_bounds import sweep

    client = gradio_client.Client(studio_url, verbose=False)
    try:
        first = face(client, 5)
        holder = app.demo.state_holder
        assert client.session_hash in holder.session_data
        holder.time_last_used[client.session_hash] -= datetime.timedelta(hours=2)  # as if idle since
        assert sweep(holder) == [client.session_hash]  # the other clients' sessions are not idle
        assert client.session_hash not in holder.session_data
        assert np.array_equal(face(client, 5), first)  # the next call gets a fresh session, and works
    finally:
        client.close()


def test_a_choice_sent_as_a_list_or_null_is_a_clear_message(client):
    assert "expected a text or one of the offered choices, got []" in error_of(client, [], api_name="/choose_model")
    message = error_of(client, None, api_name="/choose_model")
    assert "Internal error" not in message and "internal error" not in message
