"""What D's number means (gan_core.analysis.verdicts) and how the Ask D tab shows it: a reading
against D's measured scores, no number for a picture without a face, a face judged on its crop."""
import json
import shutil
from pathlib import Path

import gradio as gr
import numpy as np
import pytest
from PIL import Image

from gan_core.analysis import verdicts
from gan_core.analysis.verdicts import (CONCLUSIONS, READINGS_NAME, Readings, Scores, conclude, judge, load_readings,
                                        read)
from gan_core.data.uploads import load_photo
from gan_core.model.checkpoints import CheckpointError, load_gan

pytestmark = pytest.mark.usefixtures("one_thread")
DATA = Path(__file__).parent / "data"
ROOT = Path(__file__).resolve().parents[1]
FACES, DIGITS = "Faces (CelebA 64x64)", "Digits (MNIST 32x32)"
SHIPPED = {FACES: ROOT / "checkpoints" / "celeba64", DIGITS: ROOT / "checkpoints" / "mnist32"}


def made_up(real=(0, 1, 2, 3, 4), fake=(-4, -3, -2, -1, 0), threshold=0.5) -> Readings:
    return Readings(Scores("real", len(real), tuple(map(float, real))),
                    Scores("fake", len(fake), tuple(map(float, fake)), psi=0.8), threshold, 0.9)


# --- the reading ------------------------------------------------------------------------------------
def test_a_reading_on_a_tiny_made_up_distribution():
    real = Scores("real", 5, (0.0, 1.0, 2.0, 3.0, 4.0))  # quantiles at 0, 25, 50, 75, 100%
    assert [real.share_below(x) for x in (-1, 0, 0.5, 2, 2.5, 4, 9)] == [0, 0, 0.125, 0.5, 0.625, 1, 1]
    tied = Scores("tied", 5, (0.0, 1.0, 1.0, 1.0, 2.0))
    assert tied.share_below(1.0) == 0.5 and tied.share_below(0.5) == 0.125  # ties count half
    assert real.quantile(0.5) == 2 and real.quantile(0.125) == 0.5
    assert Scores.of([3, 1, 2, 0, 4], "r").quantiles == (0, 1, 2, 3, 4)  # sorted, one a score when few

    r = made_up().read(2.0)
    assert r.probability == pytest.approx(1 / (1 + np.exp(-2.0)))
    assert (r.below_real, r.below_fake, r.says_real, r.conclusion) == (0.5, 1.0, True, "typical_real")
    assert (r.real_count, r.fake_count, r.fake_psi) == (5, 5, 0.8)
    assert made_up().read(-0.5).conclusion == "fake" and made_up().read(-9).conclusion == "below_fakes"
    assert made_up().read(0.5).conclusion == "low_real" and made_up().read(3.9).conclusion == "above_real"
    assert not made_up().read(0.4).says_real
    assert {conclude(a, b) for a in np.linspace(0, 1, 21) for b in np.linspace(0, 1, 21)} == set(CONCLUSIONS)


def test_readings_round_trip_and_a_broken_file_is_refused(tmp_path):
    readings = made_up()
    verdicts.save_readings(tmp_path, readings)
    assert load_readings(tmp_path) == readings
    assert load_readings(tmp_path / "elsewhere") is None and load_readings(None) is None
    for broken in ("not json", {"format": "d_readings", "version": 2},
                   {**readings.to_json(), "real": {"what": "r", "count": 5, "quantiles": [3, 2, 1]}},
                   {**readings.to_json(), "threshold": "high"}):
        (tmp_path / READINGS_NAME).write_text(broken if isinstance(broken, str) else json.dumps(broken))
        with pytest.raises(CheckpointError) as caught:
            load_readings(tmp_path)
        assert caught.value.key == "verdict_unreadable"


@pytest.mark.parametrize("model", [FACES, DIGITS])
def test_the_shipped_models_readings(model):
    """d_readings.json of each shipped model: its schema, measured on this very D, at the studio's truncation."""
    from studio.state import default_psi

    folder = SHIPPED[model]
    raw = json.loads((folder / READINGS_NAME).read_text())
    assert set(raw) == {"format", "version", "score", "model", "threshold", "threshold_p", "balanced_accuracy",
                        "real", "fake", "others"}
    assert (raw["format"], raw["version"]) == ("d_readings", 1)
    from gan_core.model.checkpoints import load_tensors, tensors_digest

    assert raw["model"]["discriminator_sha256"] == tensors_digest(
        load_tensors(folder / "discriminator.safetensors")[0])  # measured on the weights of the D that ships
    readings = load_readings(folder)
    assert readings.real.count == (1572 if model == FACES else 2000) and readings.fake.count == 5000
    assert readings.fake.psi == default_psi(model)  # the gallery's truncation
    assert [o.psi for o in readings.others] == ([1.0] if model == FACES else [])
    for scores in (readings.real, readings.fake, *readings.others):
        assert len(scores.quantiles) == verdicts.LEVELS and list(scores.quantiles) == sorted(scores.quantiles)
    assert 0.7 < readings.balanced_accuracy < 0.9 and raw["threshold_p"] == pytest.approx(
        1 / (1 + np.exp(-raw["threshold"])), abs=1e-5)
    assert readings.real.quantile(0.5) > readings.fake.quantile(0.5)  # D scores real images higher, as a rule


def test_a_model_without_the_file_gets_the_raw_number_and_a_note(tiny_gan_folder):
    from studio.discriminator_tab import verdict_text

    gan = load_gan(tiny_gan_folder, device="cpu")
    assert load_readings(tiny_gan_folder) is None
    judged = read(gan, np.full((32, 32, 3), 128, np.uint8), load_readings(tiny_gan_folder))
    assert judged.found and judged.reading is None and 0 < judged.verdict.probability < 1
    text = verdict_text(judged.verdict.probability, "it", judged.reading)
    assert "D says" in text and "No reading beside the number" in text and "police" in text
    text = verdict_text(0.3, "it", made_up().read(-0.5))
    assert "higher than 0% of 5 held-out real faces and 88% of 5 fresh fakes (ψ 0.8" in text
    assert "D takes it for a fake" in text and "not a judge of photographs" in text


# --- judging pictures -----------------------------------------------------------------------------
@pytest.fixture(scope="module")
def faces():
    from studio.state import STORE

    return STORE.get(FACES), STORE.aligner(FACES), STORE.readings(FACES)


def noise_picture(path: Path) -> str:
    Image.fromarray(np.random.default_rng(0).integers(0, 256, (240, 320, 3), dtype=np.uint8)).save(path)
    return str(path)


def test_no_number_for_a_picture_without_a_face(faces, tmp_path):
    gan, aligner, readings = faces
    for path in (DATA / "coffee.jpg", DATA / "chelsea.jpg", noise_picture(tmp_path / "noise.png")):
        judged = judge(gan, load_photo(path, max_side=800), aligner, readings)
        assert not judged.found and judged.reading is None and judged.verdict is None and judged.image is None, path


def test_a_face_is_judged_on_its_aligned_crop(faces):
    gan, aligner, readings = faces
    photo = load_photo(DATA / "astronaut.jpg", max_side=800)
    judged = judge(gan, photo, aligner, readings)
    assert judged.found and judged.image.shape == (64, 64, 3)
    assert np.array_equal(judged.image, aligner.align(photo).crop)  # the crop, not the whole picture
    assert judged.reading.probability == pytest.approx(judged.verdict.probability)
    assert judged.reading == readings.read(judged.verdict.logit)
    digits = load_gan(SHIPPED[DIGITS], device="cpu")
    centre = judge(digits, photo, None, None)  # no face finder: the centre square
    assert centre.found and centre.image.shape == (32, 32, 1) and centre.reading is None


# --- the tab ---------------------------------------------------------------------------------------
def upload(tmp_path, name: str) -> str:
    """A copy of a test picture, as the server holds an upload (the tab deletes it once read)."""
    return str(shutil.copy(DATA / name, tmp_path / name))


def test_the_tab_says_why_a_picture_without_a_face_has_no_number(faces, tmp_path):
    from studio.discriminator_tab import SOURCES, ask_discriminator, show_feature_maps, show_steps, take_steps
    from studio.session import Session

    session = Session.opening(FACES)
    session, image, verdict, heat, signed = ask_discriminator(session, SOURCES[1], 3, None)  # a face first
    assert image is not None and session.subject is not None
    pictures = [upload(tmp_path, "coffee.jpg"), upload(tmp_path, "chelsea.jpg"), noise_picture(tmp_path / "n.png")]
    for path in pictures:
        session, image, verdict, heat, signed = ask_discriminator(session, SOURCES[2], 0, path)
        assert image is None and heat is None and signed is None  # the last face's pictures cleared
        assert "No number for this picture" in verdict and "No face found in your picture" in verdict
        assert "D says" not in verdict and "police" in verdict
        assert session.subject is None and session.steps is None  # nothing left to step from
        assert not Path(path).exists()
        # what the click runs next: no message, the maps and the step panel cleared
        assert show_feature_maps(session, 0, 4) == []
        _, stepped, difference, plot, note, strip, _ = show_steps(session)
        assert stepped is None and difference is None and plot is None and not strip and "no number" in note
        for how in ("z", "pixels"):
            with pytest.raises(gr.Error, match="no number"):
                take_steps(session, how, 1, 0.05)
    session, image, verdict, _, _ = ask_discriminator(session, SOURCES[2], 0, pictures[-1])  # asked twice: no file
    assert image is None and "No number" in verdict
    session, image, *_ = ask_discriminator(session, SOURCES[1], 3, None)  # a seed again: steps work
    assert image is not None and show_feature_maps(session, 0, 2)


def test_the_tab_judges_an_uploaded_face_on_its_crop_on_either_model(faces, tmp_path):
    from studio.discriminator_tab import SOURCES, ask_discriminator
    from studio.session import Session
    from studio.state import big

    gan, aligner, readings = faces
    path = upload(tmp_path, "astronaut.jpg")
    crop = aligner.align(load_photo(path, max_side=800)).crop
    session = Session.opening(FACES)
    session, image, verdict, heat, signed = ask_discriminator(session, SOURCES[2], 0, path)
    assert np.array_equal(session.subject["image"], crop) and np.array_equal(image, big(crop, smooth=False))
    assert heat.shape == signed.shape == (256, 256, 3)
    assert "the face found in your picture" in verdict and "held-out real faces" in verdict
    assert "fresh fakes (ψ 0.8" in verdict and "not a judge of photographs" in verdict
    session.switch(DIGITS)  # the same upload on the digits model: its centre square, in digits' words
    session, image, verdict, _, _ = ask_discriminator(session, SOURCES[2], 0, path)
    assert session.subject["image"].shape == (32, 32, 1) and "held-out real digits" in verdict
    assert "face" not in verdict.lower() and "not a judge of handwriting" in verdict
    session.switch(FACES)
    session, image, verdict, _, _ = ask_discriminator(session, SOURCES[2], 0, path)
    assert np.array_equal(session.subject["image"], crop)


def test_a_broken_readings_file_leaves_the_raw_number(monkeypatch):
    from studio import discriminator_tab
    from studio.discriminator_tab import SOURCES, ask_discriminator
    from studio.session import Session

    def broken(model):
        raise CheckpointError("verdict_unreadable", path="d_readings.json", error="not JSON")

    monkeypatch.setattr(discriminator_tab.STORE, "readings", broken)
    _, image, verdict, _, _ = ask_discriminator(Session.opening(DIGITS), SOURCES[1], 3, None)
    assert image is not None and "D says" in verdict and "No reading beside the number" in verdict
    assert "real digits" in verdict and "face" not in verdict.lower()
