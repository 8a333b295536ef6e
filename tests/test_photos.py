"""Photos in the model: the face finder on pastes of generated faces, on a real portrait and on
pictures that hold no face; likeness; the encoder and the refinement on a tiny model, whole-photo
uploads, and the hand crop."""
import io
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from gan_core.photos.align import EYES_64, MIN_FACE, Aligner, NoFace, apply, eye_error, paste
from gan_core.photos import likeness
from gan_core.model.checkpoints import CheckpointError, load_gan
from gan_core.model.config import GANConfig
from gan_core.photos.encoder import EncoderTraining, load_encoder, save_encoder, train_encoder
from gan_core.editing.face import Face
from gan_core.photos.inversion import Settings, describe, invert
from gan_core.model.latent import z_from_seeds
from gan_core.model.networks import GAN, Discriminator, Generator
from gan_core.data.uploads import load_photo

pytestmark = pytest.mark.usefixtures("one_thread")
FACES = "checkpoints/celeba64"
DATA = Path(__file__).parent / "data"  # small public-domain / CC0 pictures (README.md there)


@pytest.fixture(scope="module")
def faces_gan():
    return load_gan(FACES, "cpu")


@pytest.fixture(scope="module")
def aligner(faces_gan):
    mean = faces_gan.generate(z_from_seeds(range(128), faces_gan.config.nz)).astype(np.float32).mean(0)
    return Aligner(mean.round().astype(np.uint8))


def test_the_aligner_recovers_the_crop_of_pasted_generated_faces(faces_gan, aligner):
    faces = faces_gan.generate(z_from_seeds(range(100, 124), faces_gan.config.nz))
    rng = np.random.default_rng(0)
    errors, misses = [], 0
    for face in faces:
        photo, pasted = paste(face, rng, canvas=384)
        try:
            found = aligner.align(photo)
        except NoFace:
            misses += 1
            continue
        assert found.crop.shape == (64, 64, 3)
        errors.append(eye_error(found.matrix, pasted))
    assert misses <= 4
    assert np.median(errors) < 3.0  # generated faces' eyes sit near the training crop's


def test_no_face_and_a_face_too_small_are_refused_clearly(faces_gan, aligner):
    rng = np.random.default_rng(1)
    with pytest.raises(NoFace, match="no face found"):
        aligner.align(np.full((300, 400, 3), 128, np.uint8))
    face = faces_gan.generate(z_from_seeds([3], 100))[0]
    photo, _ = paste(face, rng, canvas=256, scales=(0.4, 0.45), degrees=0)  # a 26-pixel face
    with pytest.raises(NoFace, match=f"at least {MIN_FACE} pixels"):
        aligner.align(photo)


def _picture(name: str) -> np.ndarray:
    return np.array(Image.open(DATA / f"{name}.jpg").convert("RGB"))


def test_pictures_without_a_face_are_refused():
    import cv2

    rng = np.random.default_rng(3)
    yy, xx = np.mgrid[:320, :320]
    blobs = np.full((320, 320, 3), 90, np.uint8)
    for _ in range(12):
        cv2.circle(blobs, tuple(int(v) for v in rng.integers(0, 320, 2)), int(rng.integers(8, 60)),
                   tuple(int(v) for v in rng.integers(0, 256, 3)), -1)
    pictures = {
        "noise": rng.integers(0, 256, (320, 320, 3), dtype=np.uint8),
        "blurred noise": cv2.normalize(cv2.GaussianBlur(rng.integers(0, 256, (320, 320, 3), dtype=np.uint8), (0, 0), 8),
                                       None, 0, 255, cv2.NORM_MINMAX),
        "gradient": np.repeat(np.linspace(0, 255, 320, dtype=np.uint8)[None, :, None], 320, 0).repeat(3, 2),
        "checkerboard": np.repeat(((yy // 20 + xx // 20) % 2 * 255).astype(np.uint8)[..., None], 3, 2),
        "shapes": blobs,
        "cat": _picture("chelsea"),      # the cat's face is no person's
        "coffee": _picture("coffee"),    # nor is a cup's reflection
    }
    aligner = Aligner()
    for name, picture in pictures.items():
        with pytest.raises(NoFace, match="no face found"):
            aligner.align(picture)
            pytest.fail(f"a face was found in the {name}")


def test_a_real_portrait_is_found_with_its_eyes_where_the_training_faces_have_them():
    photo = _picture("astronaut")           # 320 px; the eyes marked by hand
    eyes = np.array([(127.0, 63.0), (154.0, 65.0)])
    for picture in (photo, np.repeat(photo.mean(2, keepdims=True).astype(np.uint8), 3, 2)):  # colour, grey
        found = Aligner().align(picture)
        assert found.crop.shape == (64, 64, 3) and found.faces == 1
        assert np.abs(apply(found.matrix, eyes) - np.array(EYES_64)).max() < 2.0
    big = Aligner(np.zeros((128, 128, 3), np.uint8)).align(photo)  # the crop follows the template's size
    assert big.crop.shape == (128, 128, 3)
    assert np.abs(apply(big.matrix, eyes) - 2 * np.array(EYES_64)).max() < 4.0


def test_likeness_knows_a_face_from_another(faces_gan):
    import cv2

    crop = Aligner().align(_picture("astronaut")).crop
    others = faces_gan.generate(z_from_seeds(range(20, 24), faces_gan.config.nz))
    blurred = cv2.GaussianBlur(crop, (0, 0), 0.7)
    d = likeness.descriptors(np.stack([crop, blurred, *others]))
    assert d.shape == (6, 128) and d.dtype == np.float32
    same = likeness.distance(d[:1], likeness.descriptors(crop[None]))[0]
    near = likeness.distance(d[0], d[1])
    far = likeness.distance(d[:1], d[2:])
    assert same < 1e-4 and near < likeness.CLOSE and far.min() > near
    assert likeness.describe(near) == "close" and likeness.describe(0.5) == "fair" and likeness.describe(far.max()) == "rough"


def test_of_two_faces_the_largest_is_taken_and_said(faces_gan, aligner):
    face = faces_gan.generate(z_from_seeds([105], 100))[0]
    rng = np.random.default_rng(2)
    small, _ = paste(face, rng, canvas=360, scales=(2.5, 2.5), degrees=0)
    large, _ = paste(face, rng, canvas=360, scales=(3.5, 3.5), degrees=0)
    found = aligner.align(np.hstack([small, large]))
    assert found.faces >= 2 and "took the largest" in found.note
    assert found.box[0] >= 360  # the larger face, on the right


def test_eye_places_follow_the_crop_size():
    assert EYES_64[0][0] < 32 < EYES_64[1][0]


@pytest.fixture
def tiny_gan(tiny_config):
    torch.manual_seed(0)
    return GAN(tiny_config, Generator(tiny_config).eval(), Discriminator(tiny_config).eval(), torch.device("cpu"))


def test_refinement_brings_the_reconstruction_closer(faces_gan):
    target = faces_gan.generate(z_from_seeds([7, 8], faces_gan.config.nz))
    guess = invert(faces_gan, target, None, Settings(steps=0, tune=None))
    refined = invert(faces_gan, target, None, Settings(steps=25, lr=0.1, tune=None))
    assert np.mean(refined.psnr) > np.mean(guess.psnr) + 3
    assert refined.z.shape == (2, faces_gan.config.nz) and refined.reconstructions.shape == target.shape
    face = Face(z=refined.z[0].tolist())
    assert np.array_equal(face.render(faces_gan), refined.reconstructions[0])  # the found z is a face like any other
    with pytest.raises(ValueError, match="64x64"):
        invert(faces_gan, np.zeros((1, 32, 32, 3), np.uint8))
    with pytest.raises(ValueError, match="0 to 300 steps"):
        invert(faces_gan, target, None, Settings(steps=10_000))
    assert describe(30) == "close" and describe(21) == "fair" and describe(12) == "rough"


def test_the_encoder_learns_and_round_trips(tiny_gan, tmp_path):
    real = torch.from_numpy(tiny_gan.generate(z_from_seeds(range(32), 16))).permute(0, 3, 1, 2).contiguous()
    logs = []
    encoder = train_encoder(tiny_gan, real, EncoderTraining(steps=40, generated=16, real=8, lr=1e-3, width=8),
                            on_log=logs.append, log_every=10)
    assert logs[-1]["z"] < logs[0]["z"]  # E(G(z)) gets closer to z
    target = tiny_gan.generate(z_from_seeds([50], 16))
    with_encoder = invert(tiny_gan, target, encoder, Settings(steps=0))
    assert with_encoder.z.shape == (1, 16)
    save_encoder(tmp_path, encoder)
    again = load_encoder(tmp_path, tiny_gan.config)
    assert torch.allclose(again.encode(target), encoder.encode(target))
    other = GANConfig(image_size=32, channels=3, nz=8, g_width=8, d_width=8)
    with pytest.raises(CheckpointError, match="another model"):
        load_encoder(tmp_path, other)
    assert load_encoder(tmp_path / "none", tiny_gan.config) is None


def test_a_whole_photo_is_checked_upright_and_shrunk(tmp_path):
    big = Image.fromarray(np.random.default_rng(0).integers(0, 255, (3000, 4000, 3), dtype=np.uint8))
    buffer = io.BytesIO()
    big.save(buffer, "JPEG", quality=80)
    photo = load_photo(buffer.getvalue(), max_side=800)
    assert photo.dtype == np.uint8 and max(photo.shape[:2]) == 800 and photo.shape[2] == 3
    grey16 = tmp_path / "grey.png"
    Image.fromarray((np.arange(200 * 300).reshape(200, 300) % 60000).astype(np.uint16)).save(grey16)
    assert load_photo(grey16).shape == (200, 300, 3)
    with pytest.raises(ValueError, match="memory"):
        bomb = tmp_path / "bomb.png"
        Image.new("I;16", (7000, 7000)).save(bomb)
        load_photo(bomb)


def test_a_hand_crop_is_a_square_of_the_photo():
    from studio.photos import hand_crop

    photo = np.zeros((200, 400, 3), np.uint8)
    photo[:, 200:] = 255
    crop = hand_crop(photo, 75, 50, 50, 64)  # the right half's middle: all white
    assert crop.shape == (64, 64, 3) and crop.min() == 255
    assert hand_crop(photo, 0, 0, 100, 32).shape == (32, 32, 3)  # kept inside the photo


def test_train_encoder_cli_trains_resumes_and_exports(tiny_gan_folder, tmp_path, capsys):
    import train_encoder

    out = tmp_path / "run"
    args = ["--checkpoint", str(tiny_gan_folder), "--out", str(out), "--steps", "3", "--generated", "8", "--real", "0"]
    assert train_encoder.main(args) == 0
    assert train_encoder.main([*args[:-4], "--steps", "5", "--generated", "8", "--real", "0", "--export"]) == 0
    assert "from step 3" in capsys.readouterr().out
    assert load_encoder(tiny_gan_folder, GANConfig(image_size=32, channels=3, nz=16, g_width=8, d_width=8)) is not None
    assert train_encoder.main(["--checkpoint", str(tmp_path / "missing")]) == 2


def test_the_search_is_bounded_in_checks_and_time(monkeypatch):
    from gan_core.photos import align

    rng = np.random.default_rng(4)
    noise = rng.integers(0, 256, (400, 400, 3), dtype=np.uint8)  # HOG proposes dozens of "faces" in it
    checks = []
    monkeypatch.setattr(Aligner, "confirm", lambda self, photo, box: checks.append(box) or False)
    with pytest.raises(NoFace):
        Aligner().align(noise)
    assert 0 < len(checks) <= align.MAX_CONFIRM
    checks.clear()
    monkeypatch.setattr(align, "TIME_BUDGET", 0.0)
    with pytest.raises(NoFace):
        Aligner().align(noise)
    assert not checks  # out of time: nothing more is looked at


def test_the_camera_checks_a_picture_from_its_header_and_never_decodes_it(tmp_path):
    import base64

    import gradio as gr
    from gradio.data_classes import ImageData as FileData

    from studio.checked_image import CheckedImage
    from tests.test_uploads import encoded, png_header_only

    camera = CheckedImage(sources=["webcam", "clipboard"], type="filepath")
    huge = tmp_path / "huge.png"
    huge.write_bytes(png_header_only(13000, 13000))  # 507 MB of pixels behind a tiny file
    with pytest.raises(gr.Error, match="huge.png"):
        camera.preprocess(FileData(path=str(huge), orig_name="huge.png"))
    small = tmp_path / "small.png"
    small.write_bytes(encoded(Image.new("RGB", (40, 30), (10, 200, 30))))
    assert camera.preprocess(FileData(path=str(small))) == str(small)  # passed on undecoded, as its file
    inline = "data:image/png;base64," + base64.b64encode(png_header_only(13000, 13000)).decode()
    with pytest.raises(gr.Error, match="MB of memory|megapixels|too large|pixels"):
        camera.preprocess(FileData(url=inline, path=None))
    inline = "data:image/png;base64," + base64.b64encode(small.read_bytes()).decode()
    path = camera.preprocess(FileData(url=inline, path=None))
    assert Path(path).read_bytes() == small.read_bytes()
    Path(path).unlink()
    assert camera.preprocess(None) is None
