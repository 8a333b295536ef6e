"""The launched app through gradio_client: every endpoint, good and bad input."""
import json

import numpy as np
import pytest
from PIL import Image

gradio_client = pytest.importorskip("gradio_client")

SLOTS = 6
NO_EDITS = [0, 1, 2, 3, 4, 5, 0, 0, 0, 0, 0, 0]


@pytest.fixture(scope="module")
def client(studio_url):
    return gradio_client.Client(studio_url, verbose=False)


def image(path) -> np.ndarray:
    with Image.open(path) as im:
        return np.asarray(im.convert("RGB"))


def error_of(client, *args, api_name):
    with pytest.raises(Exception) as info:
        client.predict(*args, api_name=api_name)
    return str(info.value)


def test_api_lists_every_action(client):
    names = set(client.view_api(print_info=False, return_format="dict")["named_endpoints"])
    assert {"/choose_model", "/load_hub", "/gallery", "/face", "/share", "/apply_state", "/scan",
            "/use_dimension", "/morph", "/face_math"} <= names


def test_face_and_slider_edit(client):
    plain = image(client.predict(3, *NO_EDITS, api_name="/face"))
    assert plain.shape == (256, 256, 3) and plain.std() > 10
    again = image(client.predict(3, *NO_EDITS, api_name="/face"))
    assert np.array_equal(plain, again)  # same seed, same face
    edited = image(client.predict(3, 0, 1, 2, 3, 4, 5, 2.5, 0, 0, 0, 0, 0, api_name="/face"))
    assert np.abs(edited.astype(int) - plain).mean() > 1  # moving z[0] changes the face


def test_gallery(client):
    items = client.predict(10, api_name="/gallery")
    assert len(items) == 16
    assert [item["caption"] for item in items[:2]] == ["seed 10", "seed 11"]


def test_scanner_and_use_dimension(client):
    grid, caption = client.predict(3, 1, *NO_EDITS, api_name="/scan")
    assert "dimensions 8 to 15" in caption
    assert image(grid).shape[1] > image(grid).shape[0] * 0.8  # 8 rows x 7 columns
    slots = client.predict(42, *NO_EDITS, api_name="/use_dimension")
    assert 42 in [int(d) for d in slots[:SLOTS]]


def test_share_and_apply_round_trip(client):
    text = client.predict(7, 0, 1, 2, 3, 4, 5, 1.5, 0, 0, 0, 0, -2, api_name="/share")
    assert json.loads(text) == {"seed": 7, "edits": {"0": 1.5, "5": -2.0}}
    seed, *rest = client.predict(text, api_name="/apply_state")
    dims, values, face = rest[:SLOTS], rest[SLOTS:2 * SLOTS], rest[-1]
    assert seed == 7
    assert {int(d): v for d, v in zip(dims, values) if v} == {0: 1.5, 5: -2.0}
    assert image(face).shape == (256, 256, 3)


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
    digit = image(client.predict(1, *NO_EDITS, api_name="/face"))
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
    assert image(client.predict(3, *NO_EDITS, api_name="/face")).shape == (256, 256, 3)


@pytest.mark.parametrize("fmt", ["mp4", "gif"])
def test_single_format_morph_endpoints(client, fmt):
    path = client.predict("0, 7", 3, 12, "lerp", "linear", False, 64, False, api_name=f"/morph_{fmt}")
    assert path.endswith(f".{fmt}")
    with open(path, "rb") as f:
        head = f.read(16)
    assert (b"ftyp" in head) if fmt == "mp4" else head.startswith(b"GIF8")
