"""gan_core.analysis.metrics: Frechet distance, sliced Wasserstein distance, nearest neighbours, and the
Inception input pipeline (no Inception model and no ../shared data needed)."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from gan_core.analysis import metrics
from gan_core.data.images import synthetic_images



# --- Frechet distance -------------------------------------------------------------------------

def test_frechet_distance_of_identical_stats_is_zero():
    rng = np.random.default_rng(0)
    mu, sigma = metrics.feature_stats(rng.normal(size=(500, 16)))
    assert abs(metrics.frechet_distance(mu, sigma, mu, sigma)) < 1e-6


def test_frechet_distance_matches_closed_form_for_diagonal_gaussians():
    rng = np.random.default_rng(1)
    mu1, mu2 = rng.normal(size=8), rng.normal(size=8)
    s1, s2 = rng.uniform(0.1, 3, size=8), rng.uniform(0.1, 3, size=8)
    expected = np.sum((mu1 - mu2) ** 2) + np.sum(s1 + s2 - 2 * np.sqrt(s1 * s2))
    got = metrics.frechet_distance(mu1, np.diag(s1), mu2, np.diag(s2))
    assert got == pytest.approx(expected, rel=1e-9, abs=1e-9)
    # symmetric, and float32 covariances (as in the reference .npz) are fine
    assert metrics.frechet_distance(mu2, np.diag(s2).astype(np.float32), mu1, np.diag(s1)) == pytest.approx(expected, rel=1e-6)


def test_frechet_distance_of_full_covariances_against_eigen_formula():
    rng = np.random.default_rng(2)
    a, b = rng.normal(size=(6, 6)), rng.normal(size=(6, 6))
    s1, s2 = a @ a.T + 0.1 * np.eye(6), b @ b.T + 0.1 * np.eye(6)
    # tr((s1 s2)^1/2) = sum of sqrt of the eigenvalues of s1 s2 (real and positive here)
    tr_sqrt = np.sum(np.sqrt(np.linalg.eigvals(s1 @ s2).real))
    expected = np.trace(s1) + np.trace(s2) - 2 * tr_sqrt
    assert metrics.frechet_distance(np.zeros(6), s1, np.zeros(6), s2) == pytest.approx(expected, rel=1e-8)


def test_frechet_distance_survives_singular_covariances():
    rng = np.random.default_rng(3)
    features = rng.normal(size=(5, 32))  # 5 samples in 32-d: rank-deficient covariance
    mu, sigma = metrics.feature_stats(features)
    value = metrics.frechet_distance(mu, sigma, mu + 1, sigma)
    assert np.isfinite(value) and value == pytest.approx(32, abs=0.5)


def test_feature_stats_is_mean_and_unbiased_covariance():
    rng = np.random.default_rng(4)
    features = rng.normal(size=(50, 3)).astype(np.float32)
    mu, sigma = metrics.feature_stats(features)
    assert mu.dtype == np.float64 and sigma.shape == (3, 3)
    np.testing.assert_allclose(mu, features.astype(np.float64).mean(0))
    np.testing.assert_allclose(sigma, np.cov(features.astype(np.float64).T))
    with pytest.raises(ValueError):
        metrics.feature_stats(features[:1])


def test_frechet_distance_rejects_mismatched_shapes():
    with pytest.raises(ValueError, match="mismatched"):
        metrics.frechet_distance(np.zeros(3), np.eye(3), np.zeros(4), np.eye(4))


# --- Inception input ----------------------------------------------------------------------------

def test_inception_input_is_the_documented_tf_pipeline():
    images = torch.from_numpy(np.random.default_rng(5).integers(0, 256, (2, 64, 64, 3), dtype=np.uint8))
    images[0, :, :, 0] = 255  # a saturated channel must be clamped to 0.9921875, not 0.9921875+
    x = metrics.inception_input(images)
    assert x.shape == (2, 3, 299, 299) and x.dtype == torch.float32
    resized = torch.nn.functional.interpolate(images.permute(0, 3, 1, 2).float(), size=(299, 299),
                                              mode="bilinear", align_corners=False)
    torch.testing.assert_close(x, (resized / 128 - 1).clamp(-1, 0.9921875))
    assert x.min() >= -1 and x.max() <= 0.9921875
    assert torch.allclose(x[0, 0], torch.tensor(0.9921875), atol=1e-5)  # (the resize's rounding varies by threads)
    with pytest.raises(ValueError):
        metrics.inception_input(images.float())


def test_inception_features_batches_and_pools():
    calls = []

    def fake_model(x):  # [B, 3, 299, 299] -> feature maps [B, 4, 2, 2], averaged by the caller
        calls.append(len(x))
        return x[:, :1, :2, :2].repeat(1, 4, 1, 1)

    images = np.zeros((7, 64, 64, 3), np.uint8)
    seen = []
    feats = metrics.inception_features(fake_model, images, batch_size=3, progress=seen.append)
    assert calls == [3, 3, 1] and seen == [3, 3, 1]
    assert feats.shape == (7, 4) and feats.dtype == np.float64 and np.allclose(feats, -1)


# --- Sliced Wasserstein distance --------------------------------------------------------------

def _faces(n=96, seed=0):
    """Smooth blobs plus a little texture, uint8 [N, 64, 64, 3]."""
    smooth = synthetic_images(n, 64, 3, seed=seed).permute(0, 2, 3, 1).numpy().astype(np.int16)
    noise = np.random.default_rng(seed).integers(-12, 13, smooth.shape)
    return np.clip(smooth + noise, 0, 255).astype(np.uint8)


def _blur(images):
    x = torch.from_numpy(images).permute(0, 3, 1, 2).float()
    x = metrics.pyr_up(metrics.pyr_down(x))
    return x.round().clamp(0, 255).to(torch.uint8).permute(0, 2, 3, 1).numpy()


def test_laplacian_pyramid_matches_scipy_reference():
    """ProGAN's pyramid: scipy.ndimage.convolve with the 5x5 binomial kernel, mode 'mirror'."""
    from scipy import ndimage

    kernel = np.outer([1, 4, 6, 4, 1], [1, 4, 6, 4, 1]).astype(np.float32)[None, None] / 256

    def down(m):
        return ndimage.convolve(m, kernel, mode="mirror")[:, :, ::2, ::2]

    def up(m):
        z = np.zeros(m.shape[:2] + (m.shape[2] * 2, m.shape[3] * 2), m.dtype)
        z[:, :, ::2, ::2] = m
        return ndimage.convolve(z, kernel * 4, mode="mirror")

    x = np.random.default_rng(6).integers(0, 256, (2, 3, 64, 64)).astype(np.float32)
    expected = [x]
    for _ in range(2):
        expected.append(down(expected[-1]))
        expected[-2] = expected[-2] - up(expected[-1])
    got = metrics.laplacian_pyramid(torch.from_numpy(x), 3)
    assert [tuple(g.shape) for g in got] == [(2, 3, 64, 64), (2, 3, 32, 32), (2, 3, 16, 16)]
    for g, e in zip(got, expected):
        np.testing.assert_allclose(g.numpy(), e, atol=1e-3)
    assert metrics.swd_resolutions(64) == [64, 32, 16] and metrics.swd_resolutions(32) == [32, 16]


def test_swd_self_is_small_blurred_is_large_and_seeded():
    real = _faces(96, seed=0)
    same = metrics.swd(real, real, seed=0)
    other = metrics.swd(real, _faces(96, seed=1), seed=0)     # same distribution, other images
    blurred = metrics.swd(real, _blur(real), seed=0)
    assert set(same) == {"64", "32", "16", "avg"}
    assert same["avg"] == pytest.approx(np.mean([same["64"], same["32"], same["16"]]))
    # with itself only the random choice of neighbourhoods differs (sampling noise); the blur
    # removes the fine detail, so the finest level is the one that sees it most
    assert same["64"] < 0.2 * blurred["64"] and other["64"] < 0.2 * blurred["64"]
    assert same["avg"] < 0.5 * blurred["avg"]
    assert metrics.swd(real, real, seed=0) == same                # deterministic for a seed
    assert metrics.swd(real, real, seed=1) != same


def test_swd_sees_a_colour_shift_at_the_coarse_level():
    real = _faces(96, seed=0)
    shifted = real.astype(np.int16)
    shifted[..., 0] = (shifted[..., 0] * 0.5 + shifted[..., 2] * 0.5)  # a colour cast, not a brightness offset
    shifted = shifted.clip(0, 255).astype(np.uint8)
    same, cast = metrics.swd(real, real, seed=0), metrics.swd(real, shifted, seed=0)
    assert cast["16"] > 3 * same["16"]


def test_swd_rejects_unequal_or_small_sets():
    real = _faces(8)
    with pytest.raises(ValueError, match="same size"):
        metrics.swd(real, real[:4])
    with pytest.raises(ValueError, match="at least"):
        metrics.swd(real[:, :8, :8], real[:, :8, :8])


# --- nearest neighbours -----------------------------------------------------------------------

def test_nearest_neighbours_finds_exact_copies_and_matches_brute_force():
    rng = np.random.default_rng(7)
    refs = rng.integers(0, 256, (300, 16, 16, 3), dtype=np.uint8)
    picks = np.array([5, 299, 0, 123, 5])
    queries = np.concatenate([refs[picks], rng.integers(0, 256, (20, 16, 16, 3), dtype=np.uint8)])
    index, distance = metrics.nearest_neighbours(queries, refs, chunk=7)
    assert index.dtype == np.int64 and distance.dtype == np.float64
    np.testing.assert_array_equal(index[:5], picks)
    assert np.all(distance[:5] == 0)
    brute = np.sqrt(((queries[:, None].astype(np.float64) - refs[None].astype(np.float64)) ** 2)
                    .reshape(len(queries), len(refs), -1).sum(-1))
    np.testing.assert_array_equal(index[5:], brute[5:].argmin(1))
    np.testing.assert_allclose(distance, brute.min(1), rtol=1e-12)


def test_nearest_neighbours_near_duplicates_are_told_apart():
    refs = np.full((50, 8, 8, 3), 128, np.uint8)
    refs += np.arange(50, dtype=np.uint8)[:, None, None, None]  # refs differ by one grey level each
    query = refs[[17]].copy()
    query[0, 0, 0, 0] += 1                                      # one pixel off ref 17
    index, distance = metrics.nearest_neighbours(query, refs)
    assert index[0] == 17 and distance[0] == pytest.approx(1.0)


def test_distance_summary():
    s = metrics.distance_summary(np.arange(101.0))
    assert s == {"min": 0.0, "p5": 5.0, "median": 50.0, "mean": 50.0, "max": 100.0, "count": 101}


def test_precision_and_recall_tell_quality_from_variety():
    from gan_core.analysis.metrics import precision_recall

    rng = np.random.default_rng(0)
    real = rng.normal(size=(400, 16))
    same = precision_recall(real, real)
    assert same["precision"] == same["recall"] == 1.0  # every point inside its own ball
    fair = precision_recall(real, rng.normal(size=(400, 16)))
    assert 0.6 < fair["precision"] < 1 and 0.6 < fair["recall"] < 1
    narrow = precision_recall(real, 0.3 * rng.normal(size=(400, 16)))  # truncated too far: real-looking, not varied
    assert narrow["precision"] > 0.95 and narrow["recall"] < 0.2
    assert precision_recall(real, rng.normal(size=(400, 16)) + 10)["precision"] == 0.0  # nothing looks real
    with pytest.raises(ValueError):
        precision_recall(real, real[:, :8])
