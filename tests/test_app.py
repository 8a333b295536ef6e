"""The launched app through gradio_client: every endpoint, good and bad input."""
import json

import numpy as np
import pytest
from PIL import Image

gradio_client = pytest.importorskip("gradio_client")

SLOTS, NAMED = 6, 4
NO_MOVES = [None] * NAMED + [0] * NAMED
NO_EDITS = [0, 1, 2, 3, 4, 5, 0, 0, 0, 0, 0, 0] + NO_MOVES


@pytest.fixture(scope="module")
def client(studio_url):
    return gradio_client.Client(studio_url, verbose=False)


def image(path) -> np.ndarray:
    with Image.open(path) as im:
        return np.asarray(im.convert("RGB"))


def face(client, *args) -> np.ndarray:
    path, _ = client.predict(*args, api_name="/face")
    return image(path)


def error_of(client, *args, api_name):
    with pytest.raises(Exception) as info:
        client.predict(*args, api_name=api_name)
    return str(info.value)


def test_api_lists_every_action(client):
    names = set(client.view_api(print_info=False, return_format="dict")["named_endpoints"])
    assert {"/choose_model", "/load_hub", "/gallery", "/face", "/share", "/apply_state", "/scan",
            "/use_dimension", "/morph", "/face_math"} <= names


def test_face_and_slider_edit(client):
    plain = face(client, 3, *NO_EDITS)
    assert plain.shape == (256, 256, 3) and plain.std() > 10
    again = face(client, 3, *NO_EDITS)
    assert np.array_equal(plain, again)  # same seed, same face
    edited = face(client, 3, 0, 1, 2, 3, 4, 5, 2.5, 0, 0, 0, 0, 0, *NO_MOVES)
    assert np.abs(edited.astype(int) - plain).mean() > 1  # moving z[0] changes the face


def test_gallery(client):
    items = client.predict(10, api_name="/gallery")
    assert len(items) == 16
    assert [item["caption"] for item in items[:2]] == ["seed 10", "seed 11"]


def test_scanner_and_use_dimension(client):
    grid, caption = client.predict(3, 1, *NO_EDITS, api_name="/scan")
    assert "dimensions 8 to 15" in caption
    assert image(grid).shape[1] > image(grid).shape[0] * 0.8  # 8 rows x 7 columns
    slots = client.predict(42, *NO_EDITS[:2 * SLOTS], api_name="/use_dimension")
    assert 42 in [int(d) for d in slots[:SLOTS]]


def test_share_and_apply_round_trip(client):
    text = client.predict(7, 0, 1, 2, 3, 4, 5, 1.5, 0, 0, 0, 0, -2, "Age, gender kept", None, None, None,
                          1.25, 0, 0, 0, api_name="/share")
    assert json.loads(text) == {"seed": 7, "edits": {"0": 1.5, "5": -2.0}, "moves": {"Age, gender kept": 1.25}}
    seed, *rest = client.predict(text, api_name="/apply_state")
    dims, values, names, offsets = (rest[:SLOTS], rest[SLOTS:2 * SLOTS], rest[2 * SLOTS:2 * SLOTS + NAMED],
                                    rest[2 * SLOTS + NAMED:2 * SLOTS + 2 * NAMED])
    assert seed == 7
    assert {int(d): v for d, v in zip(dims, values) if v} == {0: 1.5, 5: -2.0}
    assert {n: v for n, v in zip(names, offsets) if v} == {"Age, gender kept": 1.25}
    assert image(rest[-2]).shape == (256, 256, 3)


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
    info, *dims = client.predict("Digits (MNIST 32x32)", api_name="/choose_model")
    assert "32x32" in info
    digit = face(client, 1, *NO_EDITS)
    assert np.abs(digit[..., 0].astype(int) - digit[..., 1]).max() <= 4  # greyscale (up to webp rounding)
    client.predict("Faces (CelebA 64x64)", api_name="/choose_model")


@pytest.mark.parametrize("api_name,args,expected", [
    ("/face", (-1, *NO_EDITS), "less than minimum"),
    ("/face", (2**32, *NO_EDITS), "greater than maximum"),
    ("/gallery", (2**40,), "greater than maximum"),
    ("/morph", ("0, 7", 0, 24, "slerp", "linear", True, 256, True), "less than minimum"),
    ("/morph", ("0, 7", 10**6, 24, "slerp", "linear", True, 256, True), "greater than maximum"),
    ("/morph", ("0-15", 120, 24, "slerp", "linear", True, 256, True), "more than the 600 allowed"),
    ("/morph", ("7", 24, 24, "slerp", "linear", True, 256, True), "at least two keyframes"),
    ("/morph", ("0, x", 24, 24, "slerp", "linear", True, 256, True), "seed"),
    ("/face_math", ("", "1", "2"), "concept A has no exemplar faces"),
    ("/face_math", ("1", "2", "1, 2, 3, 4"), "at most 3"),
    ("/load_hub", ("bogus/repo",), "cannot be reached"),
    ("/load_hub", ("",), "repo id"),
    ("/load_hub", ("not a repo",), "not a Hub repo id"),
    ("/apply_state", ("hello",), "not a shared state"),
    ("/apply_state", ('{"seed": 1, "edits": {"500": 1}}',), "dimension 500 does not exist"),
])
def test_bad_input_gives_a_clear_message_and_the_app_keeps_serving(client, api_name, args, expected):
    assert expected in error_of(client, *args, api_name=api_name)
    assert face(client, 3, *NO_EDITS).shape == (256, 256, 3)


@pytest.mark.parametrize("fmt", ["mp4", "gif"])
def test_single_format_morph_endpoints(client, fmt):
    path = client.predict("0, 7", 3, 12, "lerp", "linear", False, 64, False, api_name=f"/morph_{fmt}")
    assert path.endswith(f".{fmt}")
    with open(path, "rb") as f:
        head = f.read(16)
    assert (b"ftyp" in head) if fmt == "mp4" else head.startswith(b"GIF8")


AGE = "Age, gender kept"


def values_of(outputs) -> list:
    """Dropdown outputs come back as updates (new choices and a value) or as plain values."""
    return [o.get("value") if isinstance(o, dict) else o for o in outputs]


def test_named_direction_moves_the_face_and_unknown_ones_are_refused(client):
    plain = face(client, 3, *NO_EDITS)
    older = face(client, 3, *NO_EDITS[:2 * SLOTS], AGE, None, None, None, 2.5, 0, 0, 0)
    assert np.abs(older.astype(int) - plain).mean() > 2
    _, attributes = client.predict(3, *NO_EDITS, api_name="/face")
    labels = {c["label"] for c in attributes["confidences"]}
    assert len(labels) == 5 and labels <= {"male", "young", "eyeglasses", "smiling", "blond hair", "black hair", "bald",
                                            "mustache", "wearing hat", "bangs", "heavy makeup", "no beard",
                                            "pale skin", "mouth slightly open"}
    message = error_of(client, 3, *NO_EDITS[:2 * SLOTS], "Bogus", None, None, None, 1, 0, 0, 0, api_name="/face")
    assert "unknown direction 'Bogus'" in message
    assert "unknown direction" in error_of(client, "Bogus", *NO_MOVES, api_name="/use_direction")


def test_direction_browser_and_use_direction(client):
    grid, caption = client.predict(3, "Age, gender, glasses, smile", *NO_EDITS, api_name="/scan_directions")
    assert "Age, gender kept" in caption and "moves young" in caption
    assert image(grid).shape[1] > 300
    _, caption = client.predict(3, "SeFa (label-free)", *NO_EDITS, api_name="/scan_directions")
    assert "SeFa 1" in caption
    named = client.predict("SeFa 2", *NO_MOVES, api_name="/use_direction")
    assert "SeFa 2" in named[:NAMED]


def test_teaching_a_direction(client):
    for seed in range(3):
        client.predict(seed, *NO_EDITS, api_name="/mark_yes")
    assert "mark at least 10 faces" in error_of(client, "freckles", *NO_MOVES, api_name="/fit_direction")
    for seed in range(3, 6):
        client.predict(seed, *NO_EDITS, api_name="/mark_yes")
    for seed in range(6, 11):
        client.predict(seed, *NO_EDITS, api_name="/mark_no")
    assert "name the concept" in error_of(client, " ", *NO_MOVES, api_name="/fit_direction")
    assert "already a direction" in error_of(client, AGE, *NO_MOVES, api_name="/fit_direction")
    path, note, *named = client.predict("freckles", *NO_MOVES, api_name="/fit_direction")
    assert "freckles" in note and "freckles" in values_of(named[:NAMED])
    saved = json.loads(open(path).read())
    assert saved["name"] == "freckles" and len(saved["vector"]) == 100
    moved = face(client, 0, *NO_EDITS[:2 * SLOTS], "freckles", None, None, None, 3, 0, 0, 0)
    assert np.abs(moved.astype(int) - face(client, 0, *NO_EDITS)).mean() > 1


def test_walk_a_direction(client):
    strip, mp4, gif, info = client.predict(AGE, 3, 4, 12, "linear", False, 64, False, 5, *NO_EDITS, api_name="/walk")
    assert info.startswith("5 frames walking Age")
    with Image.open(gif) as g:
        assert g.n_frames == 5
    assert "pick a direction" in error_of(client, "Nope", 3, 4, 12, "linear", False, 64, False, 5, *NO_EDITS,
                                          api_name="/walk")


def test_uploading_a_direction_file(client, tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text("not json")
    message = error_of(client, gradio_client.handle_file(str(bad)), *NO_MOVES, api_name="/upload_direction")
    assert "not JSON" in message
    short = tmp_path / "short.json"
    short.write_text(json.dumps({"name": "tiny", "vector": [1, 2, 3]}))
    message = error_of(client, gradio_client.handle_file(str(short)), *NO_MOVES, api_name="/upload_direction")
    assert "3 numbers" in message
    good = tmp_path / "good.json"
    good.write_text(json.dumps({"name": "mine", "vector": [1.0] + [0.0] * 99}))
    note, *named = client.predict(gradio_client.handle_file(str(good)), *NO_MOVES, api_name="/upload_direction")
    assert "mine" in note and "mine" in values_of(named[:NAMED])


# --- ask the discriminator and the training dashboard -------------------------------------------------
SEED_SOURCE, UPLOAD_SOURCE, CURRENT = "A seed", "An uploaded picture", "Current face (Explore)"


def ask_d(client, source=SEED_SOURCE, seed=3, upload=None):
    return client.predict(source, seed, upload, 0, *NO_EDITS, api_name="/ask")


def test_ask_the_discriminator_and_climb_its_gradient(client):
    face_path, verdict, heat, signed = ask_d(client)
    p0 = float(verdict.split("D says ")[1].split()[0])
    assert 0 < p0 < 1
    assert image(face_path).shape == (256, 256, 3) and image(heat).shape == (256, 256, 3)
    stepped, difference, plot, note = client.predict(3, 0.25, api_name="/pixel_steps")
    probs = [row[1] for row in plot["data"]]
    assert "3 step(s)" in note and len(probs) == 4 and probs[-1] > probs[0]
    strip, g_plot, g_note = client.predict(3, "weights", 2e-5, api_name="/generator_steps")
    assert len(strip) == 4 and "The shipped G is unchanged" in g_note
    maps = client.predict(1, 4, api_name="/feature_maps")
    assert len(maps) == 4 and maps[0]["caption"].startswith("unit ")


def test_asking_about_an_upload(client, tmp_path):
    photo = tmp_path / "photo.png"
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (90, 120, 3), dtype=np.uint8)).save(photo)
    face_path, verdict, _, _ = ask_d(client, UPLOAD_SOURCE, upload=gradio_client.handle_file(str(photo)))
    assert image(face_path).shape == (256, 256, 3) and "your picture" in verdict
    assert "need a face G made" in error_of(client, 3, "weights", 2e-5, api_name="/generator_steps")
    text = tmp_path / "notes.png"
    text.write_text("this is not an image")
    assert "not an image" in error_of(client, UPLOAD_SOURCE, 3, gradio_client.handle_file(str(text)), 0, *NO_EDITS,
                                      api_name="/ask")
    assert "upload a picture first" in error_of(client, UPLOAD_SOURCE, 3, None, 0, *NO_EDITS, api_name="/ask")


def test_training_dashboard_reads_the_shipped_history(client):
    summary, losses, outputs, slider, grid, caption = client.predict("Faces (CelebA 64x64)", api_name="/training_run")
    assert "38,242 steps" in summary
    series = {row[2] for row in outputs["data"]}
    assert {"D(x): real images", "D(G(z)): generated images", "0.5: D cannot tell"} <= series
    assert image(grid).shape[0] > 200
    grid, caption = client.predict("Faces (CelebA 64x64)", 1, api_name="/training_grid")
    assert "Grid at step" in caption
    video = client.predict("Digits (MNIST 32x32)", 4, api_name="/timelapse")
    with open(video["video"] if isinstance(video, dict) else video, "rb") as f:
        assert b"ftyp" in f.read(64)
    assert "not in the list of choices" in error_of(client, "/etc", api_name="/training_run")


def test_live_training_one_at_a_time(client):
    import time
    message, *_, run = client.predict(100, 0.5, api_name="/live_start")
    assert message.startswith("training") and run.startswith("Live run")
    assert "already going" in error_of(client, 100, 0.5, api_name="/live_start")
    time.sleep(2)
    stopped = client.predict(api_name="/live_stop")
    assert "of 100" in stopped and not stopped.startswith("training")
    summary, losses, outputs, *_ = client.predict(run, api_name="/training_run")
    assert "steps" in summary and losses["data"]
