"""The toy 1-D GAN (gan_core/training/toy.py) and the Training tab's live run of it (studio/equilibrium.py):
small seeded runs of a few hundred rounds; bench/toy.py measures the full runs."""
import numpy as np
import pytest
import torch

from gan_core.errors import Phrase
from gan_core.messages import MESSAGES
from gan_core.training.toy import BAND, GRID, MODES, PRESETS, X_RANGE, ToyGAN, data_density, density


@pytest.fixture(autouse=True)
def one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def test_a_snapshot_is_the_picture_and_its_figures():
    toy = ToyGAN("balanced", seed=0)
    snap = toy.snapshot()
    assert snap.step == 0
    for curve in (snap.x, snap.data, snap.g, snap.d, snap.support):
        assert curve.shape == (GRID,)
    assert snap.x[0] == X_RANGE[0] and snap.x[-1] == X_RANGE[1]
    dx = snap.x[1] - snap.x[0]
    assert snap.data.sum() * dx == pytest.approx(1, abs=0.01)     # densities over the plot's range
    assert snap.g.sum() * dx == pytest.approx(1, abs=0.02)        # G starts inside it (near 0)
    assert ((snap.d > 0) & (snap.d < 1)).all()
    assert snap.support.dtype == bool and 0 < snap.support.sum() < GRID
    assert snap.shares == (0.0, 0.0)  # G starts off to the left of both bumps
    assert snap.overlap < 0.1 and not snap.ideal
    assert 0 <= snap.d_gap <= 0.5 and snap.g_grad == 0.0


def test_the_density_estimate_matches_a_known_density():
    x = np.linspace(*X_RANGE, GRID)
    rng = np.random.default_rng(0)
    (m0, s0), (m1, s1) = MODES
    samples = np.where(rng.random(40_000) < 0.5, rng.normal(m0, s0, 40_000), rng.normal(m1, s1, 40_000))
    assert np.abs(density(samples, x) - data_density(x)).max() < 0.03


def test_same_seed_same_run_and_looking_does_not_change_it():
    a, b, c = ToyGAN("balanced", 3), ToyGAN("balanced", 3), ToyGAN("balanced", 4)
    a.train(20)
    b.train(10)
    b.snapshot()  # a frame drawn in between: its samples come from their own generator
    b.train(10)
    c.train(20)
    assert np.array_equal(a.snapshot().d, b.snapshot().d)
    assert np.array_equal(a.snapshot().g, b.snapshot().g)
    assert not np.array_equal(a.snapshot().d, c.snapshot().d)


def test_balanced_d_tells_at_first_and_g_spreads_over_both_bumps():
    toy = ToyGAN("balanced", seed=0)
    toy.train(100)
    early = toy.snapshot()
    assert early.d_gap > 2 * BAND  # D tells G's samples from the data: not flat from the start
    toy.train(300)
    snap = toy.snapshot()
    assert min(snap.shares) > 0.25 and snap.overlap > 0.6  # both bumps covered, no collapse


def test_d_too_strong_leaves_g_without_a_gradient():
    balanced, strong = ToyGAN("balanced", seed=0), ToyGAN("d_strong", seed=0)
    balanced.train(60)
    strong.train(60)
    b, s = balanced.snapshot(), strong.snapshot()
    assert s.g_grad < b.g_grad / 10   # the gradient vanishes (bench/toy.py: about 80x smaller over 30 s)
    assert s.d_fake < 0.01            # D is sure every sample of G is fake
    assert s.shares == (0.0, 0.0)     # and G has not moved towards the data


def test_g_too_strong_collapses_onto_one_bump():
    toy = ToyGAN("g_strong", seed=0)
    toy.train(100)
    snap = toy.snapshot()
    assert max(snap.shares) > 0.9 and min(snap.shares) < 0.05
    assert snap.overlap < 0.6 and not snap.ideal


def test_every_preset_says_what_you_are_seeing():
    assert set(PRESETS) == {"balanced", "d_strong", "g_strong"}
    for name, preset in PRESETS.items():
        assert preset.name == name and isinstance(preset.what, Phrase) and preset.what.key in MESSAGES
    with pytest.raises(ValueError):
        ToyGAN("strong")


def test_the_live_run_yields_frames_then_ends(monkeypatch):
    from studio import equilibrium

    monkeypatch.setattr(equilibrium, "SECONDS", 0.6)
    monkeypatch.setattr(equilibrium, "FRAME", 0.2)
    frames = list(equilibrium.run("balanced", equilibrium.Ticket()))
    assert len(frames) >= 3
    table, status, what = frames[0]
    assert list(table.columns) == ["x", "value", "series"] and len(table) == 4 * len(range(0, GRID, equilibrium.EVERY))
    assert set(table["series"]) == {"data's density", "G's density", "D(x): D's verdict (1 = real)",
                                    "1/2: D cannot tell"}
    assert set(table["series"]) <= set(equilibrium.COLOURS)
    assert status.startswith("Step 0 ·") and what.startswith("Balanced:")
    assert "Step" in frames[1][1] and "The run ended" in frames[-1][1]


def test_stop_or_another_press_ends_the_pages_run(monkeypatch):
    from studio import equilibrium

    monkeypatch.setattr(equilibrium, "FRAME", 0.1)
    ticket = equilibrium.Ticket()
    frames = equilibrium.run("g_strong", ticket)
    next(frames), next(frames)
    equilibrium.stop(ticket)  # the page's Stop: one last line that says so, no new picture
    plot, status, what = next(frames)
    assert status.endswith("Stopped.") and what.startswith("G too strong:")
    assert next(frames, None) is None
    frames = equilibrium.run("g_strong", ticket)
    next(frames)
    equilibrium.invalidate(ticket)  # another press: this run ends silently, the new one draws
    assert next(frames, None) is None
    other = equilibrium.Ticket()  # another page's run goes on
    frames = equilibrium.run("g_strong", other)
    next(frames)
    equilibrium.stop(ticket)
    assert next(frames)[1].startswith("Step")
