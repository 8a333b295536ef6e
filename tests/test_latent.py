"""Seeds and interpolation."""
import pytest
import torch

from gan_core.model.latent import (MAX_SEED, check_psi, check_seed, interpolation_path, lerp, parse_seeds, slerp, truncate,
                             z_from_seed, z_from_seeds)


def test_same_seed_same_z_and_global_rng_untouched():
    torch.manual_seed(123)
    before = torch.get_rng_state()
    a, b = z_from_seed(42, 100), z_from_seed(42, 100)
    assert torch.equal(a, b) and a.shape == (100,)
    assert not torch.equal(a, z_from_seed(43, 100))
    assert torch.equal(torch.get_rng_state(), before)
    assert torch.equal(z_from_seeds([7, 42], 100)[1], a)


def test_z_is_standard_normal():
    z = z_from_seeds(range(200), 100)
    assert abs(z.mean()) < 0.02 and abs(z.std() - 1) < 0.02


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
@pytest.mark.gpu
def test_same_z_on_gpu():
    assert torch.equal(z_from_seed(9, 100, "cuda").cpu(), z_from_seed(9, 100))


@pytest.mark.parametrize("bad", [-1, MAX_SEED + 1, 2.5, "abc", None])
def test_bad_seeds_are_refused(bad):
    with pytest.raises(ValueError, match="seed"):
        check_seed(bad)


def test_parse_seeds():
    assert parse_seeds("0-3, 10") == [0, 1, 2, 3, 10]
    assert parse_seeds("5") == [5]
    for bad in ["", "3-1", "x", "0-99999"]:
        with pytest.raises(ValueError):
            parse_seeds(bad)


def test_slerp_endpoints_norms_and_parallel_vectors():
    z0, z1 = z_from_seed(1, 100), z_from_seed(2, 100)
    t = torch.linspace(0, 1, 11)
    path = slerp(z0, z1, t)
    assert torch.allclose(path[0], z0, atol=1e-5) and torch.allclose(path[-1], z1, atol=1e-5)
    expected_norms = z0.norm() + (z1.norm() - z0.norm()) * t
    assert torch.allclose(path.norm(dim=1), expected_norms, atol=1e-4)
    # Straight lines cut through the low-density centre; the arc keeps norms up.
    assert lerp(z0, z1, 0.5).norm() < slerp(z0, z1, 0.5).norm()
    for other in (z0, 2 * z0, -z0, torch.zeros(100)):  # parallel, scaled, opposite, zero
        out = slerp(z0, other, t)
        assert torch.isfinite(out).all()
        assert torch.allclose(out[-1], other, atol=1e-5)


def test_interpolation_path_counts_and_loop():
    keys = z_from_seeds([1, 2, 3], 100)
    path = interpolation_path(keys, 10)
    assert path.shape == (21, 100)
    assert torch.allclose(path[0], keys[0]) and torch.allclose(path[10], keys[1], atol=1e-5)
    assert torch.allclose(path[-1], keys[2], atol=1e-5)
    looped = interpolation_path(keys, 10, mode="lerp", easing="ease-in-out", loop=True)
    assert looped.shape == (30, 100)  # back towards the first keyframe, which the next loop shows
    with pytest.raises(ValueError):
        interpolation_path(keys[:1], 10)
    with pytest.raises(ValueError):
        interpolation_path(keys, 10, easing="bounce")


# --- truncation --------------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["scale", "normal"])
def test_truncation_pulls_z_towards_the_mean_by_psi(method):
    z = torch.randn(20_000, 8, generator=torch.Generator().manual_seed(0))
    assert truncate(z, 1.0, method) is z  # psi 1: as drawn
    assert torch.count_nonzero(truncate(z, 0.0, method)) == 0  # psi 0: every face the average one
    for psi in (0.9, 0.7, 0.5):
        t = truncate(z, psi, method)
        assert t.shape == z.shape and torch.isfinite(t).all()
        assert abs(float(t.std()) - psi) < 0.02  # the spread is psi
        assert torch.equal(torch.sign(t), torch.sign(z))  # each number keeps its side of the mean
    if method == "normal":  # a cut normal: nothing beyond the cut, and one seed moves smoothly with psi
        assert float(truncate(z, 0.5, method).abs().max()) < 0.92
        a, b = truncate(z[:1], 0.70, method), truncate(z[:1], 0.71, method)
        assert float((a - b).abs().max()) < 0.05


@pytest.mark.parametrize("bad", [-0.1, 1.5, float("nan"), float("inf"), "x", None, True])
def test_a_bad_truncation_is_a_clear_error(bad):
    with pytest.raises(ValueError, match="truncation must be a number from 0 to 1"):
        check_psi(bad)
    with pytest.raises(ValueError, match="method"):
        truncate(torch.zeros(3), 0.5, "clip")
