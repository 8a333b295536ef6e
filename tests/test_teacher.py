"""gan_core.analysis.teacher: asking D, its gradient, steps up it, its feature maps."""
import warnings

import numpy as np
import pytest
import torch

from gan_core.analysis import teacher
from gan_core.model.checkpoints import load_gan, save_gan
from tests.conftest import lively_gan_folder
from gan_core.model.config import GANConfig
from gan_core.model.latent import z_from_seed
from gan_core.model.networks import Discriminator, Generator


pytestmark = pytest.mark.usefixtures("one_thread")  # see conftest.py


@pytest.fixture
def gan(tmp_path, tiny_config):
    """The tiny GAN with He-initialised weights: DCGAN's N(0, 0.02) start gives faces of
    near-constant grey and logits of 1e-7, too flat for D to prefer anything."""
    return load_gan(lively_gan_folder(tmp_path / "lively", tiny_config), "cpu")


@pytest.fixture
def image(gan):
    return gan.generate(z_from_seed(7, gan.config.nz)[None])[0]


def states(module):
    return {k: v.clone() for k, v in module.state_dict().items()}


def assert_same(before, module):
    after = module.state_dict()
    assert before.keys() == after.keys()
    for key, value in before.items():
        assert torch.equal(value, after[key]), key


def test_probability_and_gradient_shapes_and_ranges(gan, image):
    verdict = teacher.ask(gan, image)
    assert 0 < verdict.probability < 1
    assert verdict.probability == pytest.approx(1 / (1 + np.exp(-verdict.logit)), abs=1e-6)
    assert verdict.probability == pytest.approx(teacher.probability(gan, image), abs=1e-5)
    assert verdict.gradient.shape == (32, 32, 3) and verdict.gradient.dtype == np.float32
    assert np.isfinite(verdict.gradient).all() and verdict.gradient_rms > 0
    assert [a.shape for a in verdict.activations] == [(8, 16, 16), (16, 8, 8), (32, 4, 4)]
    for picture in (verdict.heat_map(), verdict.signed_map(), teacher.heat_map(verdict.gradient, sigma=0)):
        assert picture.shape == (32, 32, 3) and picture.dtype == np.uint8
    assert verdict.heat_map(128).shape == verdict.signed_map(128).shape == (128, 128, 3)


def test_the_colour_maps_mean_what_they_say():
    gradient = np.zeros((16, 16, 3), np.float32)
    gradient[4, 4] = 1.0     # D wants this pixel brighter
    gradient[10, 10] = -1.0  # and this one darker
    heat = teacher.heat_map(gradient, sigma=0).astype(int)
    assert heat[4, 4].sum() > 600 and heat[0, 0].sum() < 10  # bright yellow vs black
    signed = teacher.signed_map(gradient, sigma=0).astype(int)
    assert signed[4, 4, 0] > signed[4, 4, 2] + 100    # red
    assert signed[10, 10, 2] > signed[10, 10, 0] + 100  # blue
    assert (signed[0, 0] > 240).all()                   # white where D does not care
    assert (teacher.heat_map(np.zeros((8, 8, 1))) == teacher.colormap(0.0)).all()  # flat: no NaN


def test_read_only_images_are_fine(gan, image):
    frozen = image.copy()
    frozen.flags.writeable = False
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # torch's "non-writable array" warning
        assert teacher.ask(gan, frozen).probability == pytest.approx(teacher.probability(gan, image), abs=1e-5)


def test_works_inside_inference_mode_as_the_app_calls_it(gan, image):
    with torch.inference_mode():
        verdict = teacher.ask(gan, image)
        steps = teacher.pixel_steps(gan, image, steps=1, step_size=2.0)
        g_steps = teacher.generator_steps(gan, z_from_seed(7, gan.config.nz), steps=1)
    assert verdict.gradient_rms > 0 and len(steps.images) == 2 and len(g_steps.images) == 2


def test_a_step_up_the_gradient_raises_ds_probability(gan, image):
    D = states(gan.D)
    images, probabilities = teacher.pixel_steps(gan, image, steps=3, step_size=2.0)
    assert len(images) == len(probabilities) == 4
    assert np.array_equal(images[0], image)
    assert probabilities[1] > probabilities[0] and probabilities[-1] > probabilities[0]
    assert all(i.dtype == np.uint8 and i.shape == image.shape for i in images)
    changed = np.abs(images[1].astype(int) - image.astype(int))
    assert 0.5 < np.sqrt((changed ** 2).mean()) < 4  # about step_size grey levels, rounded
    assert probabilities[-1] == pytest.approx(teacher.probability(gan, images[-1]), abs=1e-5)  # D saw what we show
    assert_same(D, gan.D)


@pytest.mark.parametrize("target", ["weights", "z"])
def test_generator_steps_train_a_copy_and_leave_the_model_alone(gan, target):
    G, D = states(gan.G), states(gan.D)
    seed_face = gan.generate(z_from_seed(3, gan.config.nz)[None])[0]
    images, probabilities = teacher.generator_steps(gan, 3, steps=4, lr=1e-3 if target == "weights" else 0.1,
                                                    target=target)
    assert len(images) == len(probabilities) == 5
    assert np.array_equal(images[0], seed_face)  # step 0 is the shipped G's face
    assert probabilities[-1] > probabilities[0]
    assert not np.array_equal(images[-1], images[0])
    assert_same(G, gan.G)
    assert_same(D, gan.D)
    assert all(p.grad is None for p in [*gan.G.parameters(), *gan.D.parameters()])
    assert not gan.G.training and not gan.D.training
    assert np.array_equal(gan.generate(z_from_seed(3, gan.config.nz)[None])[0], seed_face)


def test_feature_maps_return_top_overlays(gan, image):
    maps = teacher.feature_maps(gan, image, layer=1, top=5, size=64)
    assert len(maps) == 5
    assert len({m.channel for m in maps}) == 5 and all(0 <= m.channel < 16 for m in maps)
    strengths = [m.strength for m in maps]
    assert strengths == sorted(strengths, reverse=True)
    assert all(m.overlay.shape == (64, 64, 3) and m.overlay.dtype == np.uint8 for m in maps)
    assert teacher.ask(gan, image).feature_maps(0, 3)[0].overlay.shape == (128, 128, 3)  # 4x by default
    assert [label for label, _ in teacher.layer_choices(gan)] == [
        "layer 1: 8 maps of 16x16", "layer 2: 16 maps of 8x8", "layer 3: 32 maps of 4x4"]


def test_greyscale_model_and_colour_conversion(tmp_path):
    config = GANConfig(image_size=32, channels=1, nz=8, g_width=4, d_width=4)
    torch.manual_seed(0)
    gan = load_gan(save_gan(tmp_path / "grey", config, Generator(config), Discriminator(config)), "cpu")
    rgb = np.random.default_rng(0).integers(0, 256, (32, 32, 3), dtype=np.uint8)
    verdict = teacher.ask(gan, rgb)  # converted to grey
    assert verdict.image.shape == (32, 32, 1) and verdict.gradient.shape == (32, 32, 1)
    assert verdict.heat_map().shape == (32, 32, 3)
    assert teacher.feature_maps(gan, rgb[..., 0], top=2)[0].overlay.shape == (128, 128, 3)


def test_bad_inputs_are_clear(gan, image, tmp_path):
    with pytest.raises(ValueError, match="this model takes 32x32"):
        teacher.ask(gan, np.zeros((64, 64, 3), np.uint8))
    with pytest.raises(ValueError, match="uint8"):
        teacher.ask(gan, image.astype(np.float32))
    with pytest.raises(ValueError, match="1 to 50 steps"):
        teacher.pixel_steps(gan, image, steps=0)
    with pytest.raises(ValueError, match="step size"):
        teacher.pixel_steps(gan, image, step_size=-1)
    with pytest.raises(ValueError, match="learning rate"):
        teacher.generator_steps(gan, 0, lr=5.0)
    with pytest.raises(ValueError, match="'weights' or its input 'z'"):
        teacher.generator_steps(gan, 0, target="D")
    with pytest.raises(ValueError, match="z must have 16 numbers"):
        teacher.generator_steps(gan, torch.zeros(5))
    with pytest.raises(ValueError, match="layers 0 to 2"):
        teacher.feature_maps(gan, image, layer=3)
    with pytest.raises(ValueError, match="1 to 8 feature maps"):
        teacher.feature_maps(gan, image, layer=0, top=9)
    config = gan.config
    no_d = load_gan(save_gan(tmp_path / "no_d", config, Generator(config)), "cpu")
    with pytest.raises(ValueError, match="without its discriminator"):
        teacher.ask(no_d, image)
