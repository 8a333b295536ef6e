""""Real or fake?": the detector and two-sample test, dealing and scoring rounds, the session tally,
D's threshold measured on held-out real images and fresh fakes, and what a player's score says."""
import numpy as np
import pytest
import torch

from gan_core.model.checkpoints import CheckpointError, load_gan, save_tensors
import gan_core.analysis.game as game
from gan_core.analysis.game import (CALIBRATION_SEED, ROUND, Deck, Round, Tally, balanced_accuracy, best_threshold,
                                    calibrate, chance_of_at_least, conclusion)
from gan_core.analysis.real_or_fake import accuracy, load_detector, train_detector, two_sample_test

pytestmark = pytest.mark.usefixtures("one_thread")


def blobs(n: int, bright: bool, seed: int) -> np.ndarray:
    """uint8 [n, 16, 16, 1]: noise, with a bright square in the middle when `bright`."""
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 60, (n, 16, 16, 1)).astype(np.uint8)
    if bright:
        images[:, 5:11, 5:11] = 250
    return images


def test_the_two_sample_test_tells_different_sets_apart_and_not_like_ones():
    different = two_sample_test(blobs(200, True, 0), blobs(200, False, 1), epochs=4)
    alike = two_sample_test(blobs(200, False, 2), blobs(200, False, 3), epochs=4)
    assert different["accuracy"] > 0.95 and different["train"] == 100 and different["test"] == 100
    assert 0.3 < alike["accuracy"] < 0.7


def test_a_detector_round_trips_and_a_bad_file_is_a_clear_error(tmp_path):
    detector = train_detector(blobs(64, True, 0), blobs(64, False, 1), epochs=4)
    assert accuracy(detector, blobs(32, True, 5), blobs(32, False, 6)) > 0.9
    detector.save(tmp_path)
    loaded = load_detector(tmp_path)
    images = blobs(8, True, 7)
    assert torch.allclose(loaded.predict(images), detector.predict(images))
    assert load_detector(tmp_path / "nowhere") is None
    save_tensors(tmp_path / "real_or_fake.safetensors", {"w": torch.zeros(2)}, {"image_size": 16})
    with pytest.raises(CheckpointError, match="not a real-or-fake detector"):
        load_detector(tmp_path)


def test_rounds_mix_real_and_fake_and_score_the_player_d_and_the_detector(tiny_gan_folder):
    gan = load_gan(tiny_gan_folder, device="cpu")
    real = np.full((20, 32, 32, 3), 7, np.uint8)  # the real pool: flat images G never makes
    deck = Deck(real, gan, train_detector(real, gan.generate(torch.randn(20, 16)), epochs=2))
    rng = np.random.default_rng(0)
    rounds = [deck.deal(rng) for _ in range(20)]
    counts = {sum(r.real) for r in rounds}
    assert len(counts) > 2  # how many are real varies: counting gives nothing away
    for r in rounds:
        assert r.images.shape == (ROUND, 32, 32, 3) and len(r.d_says) == ROUND and len(r.detector_says) == ROUND
        assert all((img == 7).all() == truth for img, truth in zip(r.images, r.real))
    r = rounds[0]
    perfect = r.score(list(r.real))
    assert perfect.right == ROUND and perfect.reals == sum(r.real)
    assert r.score([not t for t in r.real]).right == 0
    assert perfect.d_right == sum((p > r.d_threshold) == t for p, t in zip(r.d_says, r.real))
    assert r.d_threshold == deck.d_calibration.threshold and r.detector_threshold == 0.5
    for bad in ([True] * (ROUND - 1), [None] * ROUND, ["real"] * ROUND):
        with pytest.raises(ValueError, match="mark each"):
            r.score(bad)
    tally = Tally().add(perfect).add(r.score([True] * ROUND))
    assert (tally.rounds, tally.count, tally.detector_count) == (2, 2 * ROUND, 2 * ROUND)
    assert tally.right == ROUND + sum(r.real)


def test_a_deck_refuses_real_images_that_do_not_fit(tiny_gan_folder):
    gan = load_gan(tiny_gan_folder, device="cpu")
    with pytest.raises(ValueError, match="uint8"):
        Deck(np.zeros((20, 16, 16, 3), np.uint8), gan)
    with pytest.raises(ValueError, match="at least"):
        Deck(np.zeros((3, 32, 32, 3), np.uint8), gan)
    with pytest.raises(ValueError, match="at least 16"):  # half measures D's threshold, half is dealt
        Deck(np.zeros((15, 32, 32, 3), np.uint8), gan)


def test_chance_of_a_score():
    assert chance_of_at_least(0, 8) == 1 and chance_of_at_least(8, 8) == 1 / 256
    assert chance_of_at_least(6, 8) == pytest.approx(37 / 256)


def test_the_fakes_come_from_any_seed_of_the_model(tiny_gan_folder, monkeypatch):
    import gan_core.analysis.game as game
    from gan_core.model.latent import MAX_SEED, z_from_seeds

    seeds = []
    monkeypatch.setattr(game, "z_from_seeds", lambda drawn, nz: seeds.extend(drawn) or z_from_seeds(drawn, nz))
    deck = Deck(np.full((20, 32, 32, 3), 7, np.uint8), load_gan(tiny_gan_folder, device="cpu"))
    rng = np.random.default_rng(0)
    for _ in range(10):
        deck.deal(rng)
    assert len(seeds) > 20 and 2**31 <= max(seeds) <= MAX_SEED  # the face seeds' whole range, as the studio's


# --- D's threshold --------------------------------------------------------------------------------
def test_the_threshold_separates_a_made_up_ds_outputs():
    rng = np.random.default_rng(0)
    real, fake = rng.uniform(0.25, 0.35, 300), rng.uniform(0.10, 0.20, 200)  # a shy D: everything below 0.5
    t = best_threshold(real, fake)
    assert real.min() > t > fake.max() and t == pytest.approx((real.min() + fake.max()) / 2)
    assert balanced_accuracy(real, fake, t) == 1 and balanced_accuracy(real, fake, 0.5) == 0.5
    found = calibrate(real[:200], fake)
    assert (found.accuracy, found.count) == (1.0, 200) and found.mean_real > found.mean_fake
    assert found.says_real(0.3) and not found.says_real(0.2)
    # overlapping scores: no cut does better (every score is a possible cut)
    real, fake = rng.normal(0.3, 0.05, 400), rng.normal(0.2, 0.05, 400)
    t = best_threshold(real, fake)
    assert balanced_accuracy(real, fake, t) >= max(balanced_accuracy(real, fake, c) for c in np.r_[real, fake, 0, 1])
    assert 0.2 < t < 0.3
    # a D that cannot tell: its best cut is no better than a coin, and the tie goes to 0.5
    assert best_threshold([0.4, 0.6], [0.4, 0.6]) == 0.5
    assert calibrate([0.9, 0.8], [0.1, 0.2], 0.5).threshold == 0.5  # a fixed threshold, measured
    with pytest.raises(ValueError):
        best_threshold([], [0.1])


def made_up_d(gan, images):
    """A shy D: 0.3 on the flat real images, 0.15 on everything else (below 0.5 either way)."""
    flat = (images == images[:, :1, :1]).reshape(len(images), -1).all(axis=1)
    return np.where(flat, 0.3, 0.15) + np.linspace(0, 0.01, len(images))


def test_verdicts_use_the_measured_threshold(tiny_gan_folder, monkeypatch):
    monkeypatch.setattr(game, "probabilities", made_up_d)
    gan = load_gan(tiny_gan_folder, device="cpu")
    real = np.stack([np.full((32, 32, 3), v, np.uint8) for v in range(40)])  # 40 different flat images
    deck = Deck(real, gan, calibrate=12)
    found = deck.d_calibration
    assert found.count == 12 and 0.16 < found.threshold < 0.3 and found.accuracy == 1.0
    assert Deck(real, gan, calibrate=12).d_calibration == found  # reproducible: fixed shuffle, fixed seeds
    held, dealt = {int(x[0, 0, 0]) for x in deck.held}, {int(x[0, 0, 0]) for x in deck.real}
    assert len(held) == 12 and not held & dealt and len(held | dealt) == 40  # the measured ones are never dealt
    rng = np.random.default_rng(1)
    for _ in range(5):
        r = deck.deal(rng)
        assert r.d_threshold == found.threshold and r.d_real == r.real  # at 0.5, D would call them all fake
        assert r.score(list(r.real)).d_right == ROUND
        assert {int(x[0, 0, 0]) for x, t in zip(r.images, r.real) if t} <= dealt
    assert Round(r.images, r.real, r.d_says, None).score(list(r.real)).d_right == ROUND - sum(r.real)  # 0.5


def test_rounds_never_deal_the_measured_seeds(tiny_gan_folder):
    deck = Deck(np.full((20, 32, 32, 3), 7, np.uint8), load_gan(tiny_gan_folder, device="cpu"))

    class Drawn:  # first a measured seed, then an ordinary one
        calls = 0

        def integers(self, low, high, count, endpoint):
            self.calls += 1
            return np.full(count, CALIBRATION_SEED + 3 if self.calls == 1 else 12345, np.int64)

    assert deck._seeds(Drawn(), 3) == [12345] * 3


# --- what a score says --------------------------------------------------------------------------
def test_a_score_is_a_coins_a_tell_or_backwards():
    assert [conclusion(r, 8) for r in (0, 1, 2, 4, 6, 7, 8)] == ["backwards"] * 2 + ["coin"] * 3 + ["told"] * 2
    assert conclusion(17, 24) == "told" and conclusion(16, 24) == "coin"  # several rounds: the tally decides
    assert conclusion(0, 0) == "coin"


def a_round() -> Round:
    """Fakes at 2, 4, 5 and 8; D flags 4 and 8 (below its 0.2), the detector 2, 4 and 8."""
    real = (True, False, True, False, False, True, True, False)
    d = (0.3, 0.25, 0.4, 0.1, 0.22, 0.35, 0.18, 0.05)
    detector = (0.9, 0.2, 0.8, 0.1, 0.7, 0.95, 0.6, 0.01)
    return Round(np.zeros((ROUND, 32, 32, 3), np.uint8), real, d, detector, 0.2, 0.5)


def test_the_conclusion_for_a_coin_like_score_and_a_high_one():
    from studio.game_tab import conclusion_text, result_text

    r = a_round()
    coin = [True] * ROUND  # everything "real": 4 of 8
    text = conclusion_text(Tally().add(r.score(coin)), r, coin)
    assert "about as well as a coin: you could not tell them apart" in text and "4 of 8 right in this round" in text
    assert "One round is little to go on" in text
    sharp = list(r.real)
    text = conclusion_text(Tally().add(r.score(sharp)), r, sharp)
    assert text.startswith("**You could tell: here is what gave them away.** 8 of 8 right in this round; a coin does "
                           "that well only once in 256 tries.")
    assert "caught the fakes 2, 4, 5, 8; D called 4, 8 fake, the detector 2, 4, 8." in text
    missed = [True, True, True, False, True, True, True, True]  # only fake 4 caught: 5 of 8, after two perfect rounds
    tally = Tally().add(r.score(sharp)).add(r.score(sharp)).add(r.score(missed))
    text = conclusion_text(tally, r, missed)
    assert "21 of 24 right over 3 rounds; a coin does that well only once in 7,216 tries" in text
    assert "caught the fakes 4; D called 4 fake" in text
    backwards = [not t for t in r.real]
    assert "Worse than a coin" in conclusion_text(Tally().add(r.score(backwards)), r, backwards)
    lines = result_text(r.score(sharp), r, Tally().add(r.score(sharp)), sharp).split("\n\n")
    assert lines[0].startswith("**You: 8 of 8 right**") and lines[1].startswith("**You could tell")
    assert lines[2] == "**D** (real above 0.20): 5 of 8. **The detector** (real above 0.50): 7 of 8."


def test_the_tab_says_what_d_and_the_detector_are(tiny_gan_folder, monkeypatch):
    from studio.game_tab import DIGITS, judges_text

    monkeypatch.setattr(game, "probabilities", made_up_d)
    gan = load_gan(tiny_gan_folder, device="cpu")
    real = np.stack([np.full((32, 32, 3), v, np.uint8) for v in range(40)])
    deck = Deck(real, gan, calibrate=12)
    text = judges_text(deck, DIGITS)
    assert "trained against G all along" in text and "12 held-out real digits" in text
    assert f"D calls an image real above {deck.d_calibration.threshold:.2f}" in text and "detector" not in text
    deck = Deck(real, gan, train_detector(real, gan.generate(torch.randn(40, 16)), epochs=1), calibrate=12)
    assert "**The detector**, a small CNN trained afterwards" in judges_text(deck, DIGITS)
