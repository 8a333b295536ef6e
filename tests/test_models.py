"""The networks: shapes, ranges, the paper's initialisation, batch independence in eval mode."""
import pytest
import torch

from gan_core.model.config import GANConfig
from gan_core.model.device import pick_device
from gan_core.model.latent import z_from_seeds
from gan_core.model.networks import GAN, Discriminator, Generator, from_uint8, to_uint8


@pytest.mark.parametrize("size,channels", [(32, 1), (64, 3), (128, 3)])
def test_shapes_and_ranges(size, channels):
    config = GANConfig(image_size=size, channels=channels, nz=16, g_width=4, d_width=4)
    torch.manual_seed(0)
    G, D = Generator(config), Discriminator(config)
    images = G(torch.randn(3, 16))
    assert images.shape == (3, channels, size, size)
    assert images.min() >= -1 and images.max() <= 1
    logits = D(images)
    assert logits.shape == (3,)
    features = D.features(images)
    assert [f.shape[-1] for f in features] == [size // 2 ** (i + 1) for i in range(config.n_upsamples)]


def test_architecture_follows_the_paper():
    G, D = Generator(GANConfig()), Discriminator(GANConfig())
    convs_g = [m for m in G.modules() if isinstance(m, torch.nn.ConvTranspose2d)]
    assert [c.out_channels for c in convs_g] == [512, 256, 128, 64, 3]
    assert isinstance(G.main[-1], torch.nn.Tanh)
    # No BatchNorm right after D's input layer; LeakyReLU 0.2 throughout.
    assert isinstance(D.main[0], torch.nn.Conv2d) and isinstance(D.main[1], torch.nn.LeakyReLU)
    assert all(m.negative_slope == 0.2 for m in D.modules() if isinstance(m, torch.nn.LeakyReLU))
    assert sum(isinstance(m, torch.nn.BatchNorm2d) for m in D.modules()) == 3
    weights = torch.cat([m.weight.flatten() for m in convs_g])
    assert abs(weights.mean()) < 1e-3 and abs(weights.std() - 0.02) < 1e-3


def test_spectral_norm_option_replaces_batchnorm_in_d():
    D = Discriminator(GANConfig(image_size=32, d_width=4, d_spectral_norm=True))
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in D.modules())
    assert D(torch.zeros(2, 3, 32, 32)).shape == (2,)


def test_config_rejects_bad_values():
    with pytest.raises(ValueError, match="image_size"):
        GANConfig(image_size=48)
    with pytest.raises(ValueError, match="channels"):
        GANConfig(channels=2)
    with pytest.raises(ValueError, match="unknown config keys"):
        GANConfig.from_dict({"image_size": 64, "bogus": 1})
    assert GANConfig.from_dict(GANConfig(nz=7).to_dict()) == GANConfig(nz=7)


def test_eval_mode_face_does_not_depend_on_its_batch(tiny_config):
    torch.manual_seed(0)
    G = Generator(tiny_config)
    G.train()
    for _ in range(3):  # move the running statistics away from their initial values
        G(torch.randn(32, tiny_config.nz))
    gan = GAN(tiny_config, G, None, torch.device("cpu"))
    z = z_from_seeds(range(64), tiny_config.nz)
    batch = gan.generate(z)
    alone = gan.generate(z[5:6])
    assert batch.shape == (64, 32, 32, 3)
    assert (batch[5].astype(int) - alone[0].astype(int)).__abs__().max() <= 1
    with torch.no_grad():
        assert torch.allclose(G(z)[5], G(z[5:6])[0], atol=1e-5)


def test_uint8_round_trip():
    x = torch.linspace(-1, 1, 2 * 3 * 4 * 4).reshape(2, 3, 4, 4)
    images = to_uint8(x)
    assert images.dtype.name == "uint8" and images.shape == (2, 4, 4, 3)
    assert images.min() == 0 and images.max() == 255
    assert torch.allclose(from_uint8(images), x, atol=1 / 127.5)


def test_device_choice():
    assert pick_device("cpu").type == "cpu"
    assert pick_device("auto").type in ("cpu", "cuda", "mps")
    if not torch.cuda.is_available():
        with pytest.raises(RuntimeError, match="CUDA"):
            pick_device("cuda")


def test_gen_images_py_writes_a_grid_or_one_file_a_seed(tiny_gan_folder, tmp_path, capsys):
    import numpy as np
    from PIL import Image

    import gen_images
    from gan_core.model.checkpoints import load_gan

    common = ["--checkpoint", str(tiny_gan_folder), "--device", "cpu"]
    assert gen_images.main(common + ["--seeds", "0-3", "--out", str(tmp_path / "grid.png")]) == 0
    assert (tmp_path / "grid.png").is_file()
    assert gen_images.main(common + ["--seeds", "1,5", "--out", str(tmp_path / "faces")]) == 0
    face = load_gan(tiny_gan_folder, "cpu").generate(z_from_seeds([5], 16))[0]
    assert np.array_equal(np.asarray(Image.open(tmp_path / "faces" / "seed0000000005.png")), face)
    assert gen_images.main(common + ["--seeds", "x", "--out", str(tmp_path / "no.png")]) == 2
    assert capsys.readouterr().err.startswith("gen_images.py: ")
