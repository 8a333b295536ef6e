"""The digit classifier: the held-out split, training on tiny synthetic digits, its file."""
import numpy as np
import pytest
import torch

from gan_core.model.checkpoints import CheckpointError
from gan_core.analysis.digits import (TRAIN_DIGITS, accuracy, load_digit_classifier, split_digits,
                             train_digit_classifier)

pytestmark = pytest.mark.usefixtures("one_thread")


def tiny_digits(n: int, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Two easy classes at 16x16: a vertical bar (0) and a horizontal one (1), with noise."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 2, n)
    images = rng.integers(0, 40, (n, 1, 16, 16)).astype(np.uint8)
    for image, label in zip(images, labels):
        if label:
            image[0, 6:10, 2:14] = 255
        else:
            image[0, 2:14, 6:10] = 255
    return torch.from_numpy(images), torch.from_numpy(labels)


def test_the_last_digits_are_held_out():
    images = torch.zeros(TRAIN_DIGITS + 5, 1, 4, 4, dtype=torch.uint8)
    (train, train_labels), (held, held_labels) = split_digits(images, ["3"] * (TRAIN_DIGITS + 5))
    assert len(train) == TRAIN_DIGITS and len(held) == 5 and held_labels.tolist() == [3] * 5
    with pytest.raises(ValueError, match="more than"):
        split_digits(images[:10], ["1"] * 10)


def test_a_classifier_learns_tiny_digits_and_round_trips(tmp_path):
    images, labels = tiny_digits(256)
    classifier = train_digit_classifier(images, labels, epochs=3, batch_size=64, width=8, log=lambda _: None)
    test_images, test_labels = tiny_digits(64, seed=1)
    assert accuracy(classifier, test_images, test_labels)["accuracy"] > 0.9
    probs = classifier.predict(test_images.permute(0, 2, 3, 1))
    assert probs.shape == (64, 10) and torch.allclose(probs.sum(1), torch.ones(64))
    classifier.save(tmp_path)
    loaded = load_digit_classifier(tmp_path)
    assert torch.allclose(loaded.predict(test_images.permute(0, 2, 3, 1)), probs)
    assert load_digit_classifier(tmp_path / "nowhere") is None


def test_a_file_that_is_not_a_digit_classifier_is_a_clear_error(tmp_path):
    from gan_core.model.checkpoints import save_tensors

    save_tensors(tmp_path / "digits.safetensors", {"w": torch.zeros(2)}, {"image_size": 32})
    with pytest.raises(CheckpointError, match="not a digit classifier"):
        load_digit_classifier(tmp_path)


def test_digit_report_and_fid():
    from gan_core.analysis.digits import digit_fid, digit_report

    images, labels = tiny_digits(256)
    classifier = train_digit_classifier(images, labels, epochs=6, batch_size=64, width=8, log=lambda _: None)
    nhwc = images.permute(0, 2, 3, 1)
    report = digit_report(classifier, nhwc)
    confidence = classifier.predict(nhwc).max(1).values
    assert report["count"] == 256 and report["confident_count"] == int((confidence >= 0.9).sum())
    assert report["confident"] == round(report["confident_count"] / 256, 4)
    assert sum(report["shares"][:2]) > 0.95 and abs(sum(report["shares"]) - 1) < 1e-3  # two kinds of digit
    assert classifier.features(nhwc).shape == (256, 64)
    same = digit_fid(classifier, nhwc[:128], nhwc[128:])
    bars = digit_fid(classifier, nhwc[labels == 0], nhwc[labels == 1])
    assert 0 <= same < bars


def test_outlier_exposure_keeps_non_digits_unconfident():
    from gan_core.analysis.digits import not_digits
    from gan_core.model.networks import to_uint8

    images, labels = tiny_digits(256)
    noise = to_uint8(not_digits(images, labels, 100, torch.Generator().manual_seed(1)))
    assert noise.shape == (100, 16, 16, 1)
    exposed = train_digit_classifier(images, labels, epochs=4, batch_size=64, width=8, outliers=0.5,
                                     log=lambda _: None)
    assert (exposed.predict(noise).max(1).values >= 0.9).float().mean() < 0.1
    test_images, test_labels = tiny_digits(64, seed=1)
    assert accuracy(exposed, test_images, test_labels)["accuracy"] > 0.9  # digits still read
