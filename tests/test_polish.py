"""gan_core.editing.polish (D polishes faces) and Explore's "Polish with D", on a tiny model."""

import numpy as np
import pytest
import torch

from gan_core.editing import polish as polishing
from gan_core.errors import UserError
from gan_core.model.checkpoints import load_gan
from tests.conftest import lively_gan_folder
from gan_core.model.latent import truncate, z_from_seeds

pytestmark = pytest.mark.usefixtures("one_thread")  # see conftest.py


@pytest.fixture
def lively_folder(tmp_path, tiny_config):
    """The tiny GAN with He-initialised weights (as in test_teacher.py: DCGAN's N(0, 0.02) start
    gives logits too flat for D to prefer anything)."""
    return lively_gan_folder(tmp_path / "lively", tiny_config)


@pytest.fixture
def gan(lively_folder):
    return load_gan(lively_folder, "cpu")


def test_polishing_raises_ds_logit_and_keeps_each_norm(gan):
    z = truncate(z_from_seeds(range(8), gan.config.nz), 0.8)
    result = polishing.polish(gan, z, steps=5, step_size=0.3)
    assert result.z.shape == z.shape
    assert float(result.logits_after.mean()) > float(result.logits_before.mean())
    assert torch.allclose(result.z.norm(dim=1), z.norm(dim=1), rtol=1e-4)  # on the sphere of its norm
    moved = (result.z - z).norm(dim=1)
    assert (moved > 0).all() and (moved <= 5 * 0.3 + 1e-4).all()  # no step longer than asked
    with_noise = polishing.polish(gan, z, steps=5, step_size=0.3, noise=0.5, seed=1)
    assert torch.allclose(with_noise.z.norm(dim=1), z.norm(dim=1), rtol=1e-4)


def test_polishing_is_deterministic_and_each_face_its_own(gan):
    z = z_from_seeds(range(6), gan.config.nz)
    a = polishing.polish(gan, z, steps=3, noise=0.2, seed=5).z
    assert torch.equal(a, polishing.polish(gan, z, steps=3, noise=0.2, seed=5).z)
    assert not torch.equal(a, polishing.polish(gan, z, steps=3, noise=0.2, seed=6).z)
    plain = polishing.polish(gan, z, steps=3).z
    assert torch.allclose(plain[2:3], polishing.polish(gan, z[2:3], steps=3).z, atol=1e-5)  # batch-independent
    assert torch.equal(polishing.polish(gan, z, steps=0).z, z)
    zero = torch.zeros(1, gan.config.nz)  # the average face has no sphere to move on
    assert torch.equal(polishing.polish(gan, zero, steps=2).z, zero)


def test_polishing_works_inside_inference_mode_and_leaves_the_model_alone(gan):
    before = {k: v.clone() for k, v in gan.D.state_dict().items()}
    with torch.inference_mode():
        z = z_from_seeds([1, 2], gan.config.nz)
        images = polishing.polished_images(gan, z, steps=2)
    assert images.shape == (2, 32, 32, 3) and images.dtype == np.uint8
    assert all(torch.equal(v, gan.D.state_dict()[k]) for k, v in before.items())
    assert all(p.grad is None for p in [*gan.G.parameters(), *gan.D.parameters()])
    assert not gan.G.training and not gan.D.training


@pytest.mark.parametrize("settings", [dict(steps=-1), dict(steps=51), dict(steps=2.5), dict(steps="ten"),
                                      dict(steps=True), dict(step_size=0), dict(step_size=1.5),
                                      dict(step_size=float("nan")), dict(noise=-0.1), dict(noise=2)])
def test_bounds_are_refused(gan, settings):
    with pytest.raises(UserError) as caught:
        polishing.polish(gan, z_from_seeds([0], gan.config.nz), **settings)
    assert caught.value.key.startswith("polish_")


def test_too_many_faces_and_no_discriminator_are_refused(gan):
    with pytest.raises(UserError, match="at most"):
        polishing.polish(gan, torch.randn(polishing.MAX_FACES + 1, gan.config.nz), steps=1)
    gan.D = None
    assert not polishing.can_polish(gan)
    with pytest.raises(UserError):
        polishing.polish(gan, z_from_seeds([0], gan.config.nz))


# --- Explore's "Polish with D" ----------------------------------------------------------------
@pytest.fixture
def tiny_studio(monkeypatch, lively_folder):
    """The studio's model store holding only the tiny model, as "tiny"."""
    from studio import explore_tab, session, state
    from studio.model_store import ModelStore

    store = ModelStore({"tiny": lively_folder}, device="cpu")
    for module in (state, session, explore_tab):
        monkeypatch.setattr(module, "STORE", store)
    return session.Session.opening("tiny")


def test_explore_polish_on_and_off(tiny_studio):
    from studio.explore_tab import before_polish, polishing as explore_polishing, set_polish, show_gallery

    session = tiny_studio
    assert session.polish is False  # off by default (studio.state.CONFIG.polish)
    session, plain_gallery = show_gallery(session, 0)
    plain_face = set_polish(session, False)[1]
    assert before_polish(session)["visible"] is False
    session, polished_face, _ = set_polish(session, True)
    assert session.polish and explore_polishing(session, session.face)
    assert not np.array_equal(polished_face, plain_face)
    before = before_polish(session)
    assert before["visible"] is True and before["value"].shape[2] == 3
    session, polished_gallery = show_gallery(session, 0)
    assert len(polished_gallery) == len(plain_gallery)
    assert any(not np.array_equal(a[0], b[0]) for a, b in zip(plain_gallery, polished_gallery))
    share = session.face.to_text()  # the face stays its seed and sliders: polishing is how it is drawn
    assert "z" not in share and str(session.face.seed) in share
    session, again, _ = set_polish(session, False)
    assert np.array_equal(again, plain_face)
    assert before_polish(session)["visible"] is False
