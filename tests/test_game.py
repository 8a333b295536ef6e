""""Real or fake?": the detector and two-sample test, dealing and scoring rounds, the session tally."""
import numpy as np
import pytest
import torch

from gan_core.model.checkpoints import CheckpointError, load_gan, save_tensors
from gan_core.analysis.game import ROUND, Deck, Tally, chance_of_at_least
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
    assert perfect.d_right == sum((p > 0.5) == t for p, t in zip(r.d_says, r.real))
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
