"""Teaching you can see: the Ask D tab's steps go through G by default, carry on from click to
click, start from the verdict's own number, and change the picture visibly while D's verdict rises;
pixel steps stay, as the adversarial example they are."""

import gradio as gr
import numpy as np
import pytest

from gan_core.analysis import teacher
from gan_core.model.checkpoints import load_gan
from tests.conftest import lively_gan_folder
from gan_core.model.config import GANConfig
from gan_core.model.latent import truncate, z_from_seed

pytestmark = pytest.mark.usefixtures("one_thread")  # see conftest.py

FACES_MODEL, DIGITS_MODEL = "Faces (CelebA 64x64)", "Digits (MNIST 32x32)"
VISIBLE = 8.0  # grey levels RMS that three default clicks must reach


def lively(folder, config):
    """A tiny GAN with He-initialised weights (DCGAN's N(0, 0.02) start is too flat for D to prefer anything)."""
    return load_gan(lively_gan_folder(folder, config), "cpu")


def rms(a, b) -> float:
    return float(np.sqrt(np.mean((a.astype(np.float32) - b.astype(np.float32)) ** 2)))


# --- gan_core: the walk through G -----------------------------------------------------------------
@pytest.mark.parametrize("channels", [3, 1])
@pytest.mark.parametrize("target", ["z", "weights"])
def test_step_0_of_a_walk_is_exactly_the_verdicts_number(tmp_path, channels, target):
    gan = lively(tmp_path / "g", GANConfig(image_size=32, channels=channels, nz=16, g_width=8, d_width=8))
    z = z_from_seed(5, 16)
    picture = gan.generate(z[None])[0]
    steps = teacher.Walk(gan, z, target, 1e-3 if target == "weights" else 0.1).take(2)
    assert np.array_equal(steps.images[0], picture)
    assert steps.probabilities[0] == teacher.ask(gan, picture).probability == teacher.probability(gan, picture)
    for image, p in zip(steps.images, steps.probabilities):  # every step: D's number for the picture shown
        assert p == teacher.ask(gan, image).probability


@pytest.mark.parametrize("target", ["z", "weights"])
def test_a_walk_carries_on_from_click_to_click(tmp_path, tiny_config, target):
    gan = lively(tmp_path / "g", tiny_config)
    lr = 1e-3 if target == "weights" else 0.1
    whole = teacher.Walk(gan, 3, target, lr).take(4)
    walk = teacher.Walk(gan, 3, target, lr)
    first, second = walk.take(2), walk.take(2)
    assert np.array_equal(second.images[0], first.images[-1])  # click 2 starts where click 1 stopped
    assert all(np.array_equal(a, b) for a, b in zip(first.images + second.images[1:], whole.images))
    assert walk.taken == 4 and whole.probabilities[-1] > whole.probabilities[0]
    assert all(p.grad is None for p in [*gan.G.parameters(), *gan.D.parameters()])


def test_teaching_defaults_come_from_the_config_with_a_fallback(tiny_config):
    assert teacher.teaching_defaults(tiny_config) == teacher.FALLBACK_TEACHING  # a model without them
    given = GANConfig(**{**tiny_config.to_dict(), "extra": {"teaching": {
        "how": "weights", "count": 3, "z": 0.07, "weights": 5.0, "pixels": True}}})
    defaults = teacher.teaching_defaults(given)
    assert defaults["how"] == "weights" and defaults["count"] == 3 and defaults["z"] == 0.07
    assert defaults["weights"] == teacher.FALLBACK_TEACHING["weights"]  # above MAX_LR: not taken
    assert defaults["pixels"] == teacher.FALLBACK_TEACHING["pixels"]   # not a number
    odd = GANConfig(**{**tiny_config.to_dict(), "extra": {"teaching": {"how": "paint", "count": 0}}})
    assert teacher.teaching_defaults(odd) == teacher.FALLBACK_TEACHING


@pytest.mark.parametrize("folder, seeds", [("celeba64", (0, 7)), ("mnist32", (0, 4))])
def test_three_default_clicks_change_the_shipped_models_picture_while_d_rises(folder, seeds):
    gan = load_gan(f"checkpoints/{folder}", "cpu")
    settings = teacher.teaching_defaults(gan.config)
    assert settings["how"] == "z"  # through G, by default
    psi = gan.config.extra.get("psi", 0.8)  # the studio's opening truncation (CONFIG.default_psi unless the model says)
    for seed in seeds:
        z = truncate(z_from_seed(seed, gan.config.nz), psi)
        start = gan.generate(z[None])[0]
        walk = teacher.Walk(gan, z, settings["how"], settings[settings["how"]])
        clicks = [walk.take(settings["count"]) for _ in range(3)]
        assert clicks[0].probabilities[0] == teacher.ask(gan, start).probability
        assert rms(clicks[-1].images[-1], start) >= VISIBLE, seed
        assert clicks[-1].probabilities[-1] > clicks[0].probabilities[0], seed


# --- the tab ------------------------------------------------------------------------------------------
@pytest.fixture
def asked():
    """A session whose D was asked about the current face (through the tab's own handlers)."""
    from studio.discriminator_tab import SOURCES, ask_discriminator, show_steps
    from studio.session import Session

    def ask(model=FACES_MODEL, source=SOURCES[0], seed=0):
        session = Session.opening(model)
        session = ask_discriminator(session, source, seed, None)[0]
        show_steps(session)  # as the Ask button's chain does
        return session
    return ask


def plotted(outputs) -> list[float]:
    return list(outputs[3]["D(image)"])


def test_the_default_steps_go_through_g_and_carry_on(asked):
    from studio.discriminator_tab import KIND_WORDS, model_settings, take_steps

    session = asked()
    _, how, count, size = model_settings(session)
    assert how["value"] == KIND_WORDS["z"] and count == 5 and size["value"] == 0.05
    start = session.steps["images"][0]
    changes = []
    for click in range(1, 4):
        out = take_steps(session, how["value"], count, size["value"])
        probs = plotted(out)
        assert len(probs) == 1 + click * count  # each click carries on from the last
        changes.append(rms(session.steps["images"][-1], start))
        assert "through G's input z" in out[4] and f"{changes[-1]:.1f} grey levels" in out[4]
        assert len(out[5]) == min(7, len(probs))  # the strip along the path
    assert changes[-1] >= VISIBLE and probs[-1] > probs[0]
    assert out[-1] == gr.skip()  # the kind stays


def test_a_quick_step_click_is_not_undone_by_the_ask_chain():
    """Step clicked before the Ask chain's last event ran: the chain shows the steps, it keeps them."""
    from studio.discriminator_tab import KIND_WORDS, SOURCES, ask_discriminator, show_steps, take_steps
    from studio.session import Session

    session = ask_discriminator(Session.opening(FACES_MODEL), SOURCES[1], 3, None)[0]
    taken = take_steps(session, KIND_WORDS["z"], 2, 0.05)  # before the chain's show_steps
    shown = show_steps(session)
    assert len(plotted(shown)) == 3 and shown[4] == taken[4] and "step(s) through G" in shown[4]


def test_the_same_starting_value_everywhere(asked):
    from studio.discriminator_tab import KIND_WORDS, SOURCES, ask_discriminator, take_steps
    from gan_core.analysis.teacher import ask

    for model in (FACES_MODEL, DIGITS_MODEL):
        session = asked(model, SOURCES[1], 3)
        verdict = ask(session.gan, session.subject["image"]).probability
        text = ask_discriminator(session, SOURCES[1], 3, None)[2]
        assert f"{verdict:.3f}" in text
        assert session.steps["probs"][0] == verdict
        for kind in ("z", "weights", "pixels"):
            out = take_steps(session, KIND_WORDS[kind], 1, {"z": 0.05, "weights": 1e-4, "pixels": 0.25}[kind])
            assert plotted(out)[0] == verdict, (model, kind)  # step 0 of the plot
            assert f"from {verdict:.3f} to" in out[4]  # and of the note


def test_pixel_steps_are_an_adversarial_example(asked):
    from studio.discriminator_tab import KIND_WORDS, take_steps

    session = asked()
    start = session.steps["images"][0]
    for click in range(1, 3):
        out = take_steps(session, KIND_WORDS["pixels"], 5, 0.25)
        assert len(plotted(out)) == 1 + 5 * click
    probs = plotted(out)
    assert probs[-1] > probs[0] and rms(session.steps["images"][-1], start) < 3
    assert "adversarial example" in out[4] and "not by painting pixels" in out[4]
    out = take_steps(session, KIND_WORDS["z"], 2, 0.05)  # another kind: from the first picture again
    assert len(plotted(out)) == 3 and out[4].startswith("Steps of another kind start again")


def test_a_picture_g_did_not_make_gets_pixel_steps_only(asked):
    from studio.discriminator_tab import KIND_WORDS, new_path, reset_steps, take_steps

    session = asked()
    upload = np.random.default_rng(0).integers(0, 256, (64, 64, 3), dtype=np.uint8)
    session.subject = {"image": upload, "z": None, "what": "your picture"}
    session.steps = new_path(upload, teacher.probability(session.gan, upload))
    out = reset_steps(session)
    assert out[-1]["value"] == KIND_WORDS["pixels"] and "only steps on the pixels" in out[4]
    out = take_steps(session, KIND_WORDS["z"], 3, 0.05)  # asked anyway: said, offered, no failure
    assert out[-1]["value"] == KIND_WORDS["pixels"] and "G did not make this picture" in out[4]
    assert len(plotted(out)) == 1
    out = take_steps(session, KIND_WORDS["pixels"], 3, 0.25)
    assert len(plotted(out)) == 4 and "adversarial example" in out[4]


@pytest.mark.parametrize("click", ["check_step_click", "take_steps"])  # the page's quiet check first, the API's
def test_careless_inputs_are_refused_clearly(asked, click):
    from studio import discriminator_tab
    from studio.discriminator_tab import KIND_WORDS
    from studio.session import Session

    take_steps = getattr(discriminator_tab, click)
    with pytest.raises(gr.Error, match="ask D about a face first"):
        take_steps(Session.opening(FACES_MODEL), KIND_WORDS["z"], 1, 0.05)
    session = asked()
    for count, size, message in [(0, 0.05, "1 to 50 steps"), (51, 0.05, "1 to 50 steps"),
                                 (None, 0.05, "1 to 50 steps"), (1, 0, "above 0 and at most 1"),
                                 (1, 2.0, "above 0 and at most 1"), (1, None, "above 0")]:
        with pytest.raises(gr.Error, match=message):
            take_steps(session, KIND_WORDS["z"], count, size)
    with pytest.raises(gr.Error, match="at most 16"):
        take_steps(session, KIND_WORDS["pixels"], 1, 17)
    with pytest.raises(gr.Error, match="choose the steps"):
        take_steps(session, "paint", 1, 0.05)
    assert len(session.steps["probs"]) == 1  # nothing taken


def test_switching_model_mid_way_starts_the_panel_afresh(asked):
    from studio.discriminator_tab import KIND_WORDS, follow_model, take_steps

    session = asked()
    take_steps(session, KIND_WORDS["z"], 2, 0.05)
    session.drawn.add("ask")
    session.switch(DIGITS_MODEL)
    out = follow_model(session, 4)
    assert out[1]["value"] == KIND_WORDS["z"] and out[3]["value"] == 0.03  # the digits model's own size
    assert len(session.steps["probs"]) == 1 and session.steps["images"][0].shape == (32, 32, 1)
    out = take_steps(session, KIND_WORDS["z"], 5, 0.03)
    assert len(plotted(out)) == 6
