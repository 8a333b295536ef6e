"""gan_core.training.live: a short run in the background, one at a time, stoppable by its starter, read like any run."""
import io
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from gan_core.analysis import dashboard

from gan_core.training import live as live_training
from gan_core.data.images import synthetic_images
from gan_core.training.live import LIVE_DIGITS, LiveRun, load_live_digits, make_live_digits
from gan_core.training.loop import Trainer

DIGITS_DATA = Path(__file__).resolve().parents[1] / "checkpoints" / "mnist32" / LIVE_DIGITS  # shipped

pytestmark = pytest.mark.usefixtures("one_thread")  # see conftest.py


@pytest.fixture
def live(tiny_config):
    runner = LiveRun(images=synthetic_images(64, 32, 3, seed=1), model=tiny_config, device="cpu")
    yield runner
    runner.close()


def wait_until_done(runner, timeout=30.0):
    deadline = time.monotonic() + timeout
    while runner.running and time.monotonic() < deadline:
        time.sleep(0.02)
    assert not runner.running


def test_a_short_run_logs_and_draws_like_train_py(live):
    assert live.status().message == "no live run yet"
    live.start(steps=6, minutes=1, batch_size=16, log_every=2, sample_every=3)
    wait_until_done(live)
    status = live.status()
    assert status.step == status.total == 6 and status.message.startswith("finished")
    assert [r["step"] for r in status.records] == [2, 4, 6]
    assert {"loss_d", "loss_g", "d_real", "d_fake", "img_per_s", "seconds"} <= set(status.latest)
    assert status.grid_step == 6 and status.grid.dtype == np.uint8 and status.grid.ndim == 3
    run = dashboard.read_run(status.folder)  # the dashboard reads it like any run
    assert run.grid_steps == [0, 3, 6] and run.records == status.records


def test_starts_from_inside_inference_mode(live):
    with torch.inference_mode():  # as the app's handlers run
        live.start(steps=2, minutes=1, batch_size=16, log_every=1)
    wait_until_done(live)
    assert live.status().message.startswith("finished") and live.status().step == 2


def test_one_live_run_at_a_time_and_stop(live, tiny_config):
    live.start(steps=3000, minutes=1, batch_size=16, log_every=1, sample_every=1000)
    try:
        with pytest.raises(ValueError, match="a live run is already going"):
            live.start(steps=5)
        other = LiveRun(images=synthetic_images(64, 32, 3), model=tiny_config, device="cpu")
        try:  # one run at a time per LiveRun (the studio keeps one for the process), not per module
            other.start(steps=2, batch_size=16)
            wait_until_done(other)
            assert other.status().message.startswith("finished")
        finally:
            other.close()
        deadline = time.monotonic() + 20
        while not live.status().records and time.monotonic() < deadline:
            time.sleep(0.02)
    finally:
        status = live.stop()
    assert not status.running and status.message.startswith("stopped")
    assert 0 < status.step < 3000 and status.records[-1]["step"] == status.step  # a last record at the stop
    assert status.grid_step == status.step  # and a last grid
    first = status.folder
    live.start(steps=2, batch_size=16)  # free again; a new run gets a new folder, the old one goes
    wait_until_done(live)
    assert live.status().folder != first and not first.exists()


def test_bad_settings_are_clear(live, tmp_path, tiny_config):
    for kwargs, message in [({"steps": 0}, "steps must be"), ({"steps": 10**6}, "steps must be"),
                            ({"minutes": 10}, "at most 3 minutes"), ({"minutes": "soon"}, "minutes"),
                            ({"batch_size": 2.5}, "batch size"), ({"sample_every": 0}, "sample_every")]:
        with pytest.raises(ValueError, match=message):
            live.start(**kwargs)
    with pytest.raises(ValueError, match="fewer than one batch"):
        live.start(steps=2, batch_size=128)  # 64 images
    with pytest.raises(ValueError, match="needs its data"):
        LiveRun(model=tiny_config)  # the library knows no data folder: the caller names it
    missing = LiveRun(model=tiny_config, data=tmp_path / "none.npz")
    with pytest.raises(ValueError, match="no live-training data"):
        missing.start(steps=2)
    live.start(steps=1, batch_size=16)  # failed starts left the slot free
    wait_until_done(live)


def digits_zip(path, count: int, shade: int):
    """An imagefolder zip of `count` flat 28x28 "digits" (image i is grey level shade * i, label i % 10)."""
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("metadata.csv", "file_name,label\n" + "".join(f"images/{i}.png,{i % 10}\n" for i in range(count)))
        for i in range(count):
            buffer = io.BytesIO()
            Image.fromarray(np.full((28, 28), shade * i, np.uint8)).save(buffer, "PNG")
            z.writestr(f"images/{i}.png", buffer.getvalue())
    return path


def test_make_live_digits_from_an_imagefolder_zip(tmp_path):
    source = digits_zip(tmp_path / "digits.zip", 5, 50)
    out = make_live_digits(source, tmp_path / "live.npz", count=3)
    images = load_live_digits(out)
    assert images.shape == (3, 1, 32, 32) and images.dtype.is_floating_point is False
    assert np.load(out)["labels"].tolist() == [0, 1, 2]


def test_the_shipped_live_digits():
    images = load_live_digits(DIGITS_DATA)
    assert tuple(images.shape) == (2000, 1, 32, 32)
    assert DIGITS_DATA.stat().st_size < 2**20
    assert 0.05 < images.float().mean().item() / 255 < 0.3  # white digits on black, as MNIST


def test_no_module_level_run_state():
    assert not hasattr(live_training, "_ACTIVE_LOCK") and not hasattr(live_training, "_active")


def test_only_the_starter_stops_it(live):
    live.start(steps=3000, minutes=1, batch_size=16, log_every=1, sample_every=1000, owner="page-a")
    try:
        for owner in ("page-b", ""):
            with pytest.raises(ValueError, match="only the page that started this live run can stop it; "
                                                 "it ends by itself"):
                live.stop(owner=owner)
        assert live.running
    finally:
        status = live.stop(owner="page-a")
    assert not status.running and status.message.startswith("stopped")
    live.stop(owner="page-b")  # once it has ended, anyone may ask: nothing to stop


def test_the_time_budget_still_ends_it(live):
    live.start(steps=3000, minutes=0.002, batch_size=16, log_every=5, sample_every=1000, owner="page-a")
    wait_until_done(live)
    status = live.status()
    assert status.ending == "out of time" and status.message.startswith("its 0.002 min are up") and 0 < status.step < 3000
    assert status.records[-1]["step"] == status.step and status.grid_step == status.step


def test_the_run_is_trainer_train_without_checkpoints(live, monkeypatch):
    calls = []
    train = Trainer.train

    def spy(self, *args, **kwargs):
        calls.append(kwargs)
        return train(self, *args, **kwargs)

    monkeypatch.setattr(Trainer, "train", spy)
    live.start(steps=4, minutes=1, batch_size=16, log_every=2, sample_every=2)
    wait_until_done(live)
    assert len(calls) == 1 and calls[0]["checkpoints"] is False and calls[0]["progress"] is False
    folder = live.status().folder
    assert not list(folder.glob("*.safetensors")) and (folder / "log.jsonl").is_file()
    assert [r["step"] for r in live.status().records] == [2, 4]


class CountingReader:
    """Stands in for the digit classifier: sure of the first `sure` digits it is shown."""

    def __init__(self, sure: int):
        self.sure, self.shapes = sure, []

    def predict(self, digits):
        self.shapes.append(tuple(digits.shape))
        probs = torch.full((len(digits), 10), 0.1)
        probs[:self.sure] = torch.nn.functional.one_hot(torch.zeros(self.sure, dtype=torch.long), 10).float()
        return probs


def test_the_reader_counts_legible_grid_digits_and_the_recipe_is_used(tiny_config):
    reader = CountingReader(sure=23)
    runner = LiveRun(images=synthetic_images(64, 32, 3, seed=1), model=tiny_config, device="cpu",
                     recipe={"lr_g": 1e-3, "lr_d": 1e-4, "instance_noise": 0.1}, reader=lambda: reader)
    try:
        runner.start(steps=4, minutes=1, batch_size=16, log_every=2, sample_every=2)
        wait_until_done(runner)
        status = runner.status()
        assert status.legible == 23 and reader.shapes[-1] == (64, 32, 32, 1)
        assert 0 <= status.latest["d_accuracy"] <= 1
        opts = runner._trainer.opts
        assert (opts.lr_g, opts.lr_d, opts.instance_noise, opts.ema_decay) == (1e-3, 1e-4, 0.1, 0.99)
    finally:
        runner.close()
    with pytest.raises(ValueError, match="lr_d"):
        LiveRun(recipe={"lr_d": -1})


def test_the_shipped_recipe_balances_the_players():
    assert live_training.RECIPE["lr_g"] > live_training.RECIPE["lr_d"]  # bench/digits.py --live measured it
    assert "faster" in live_training.BALANCE


def test_digits_from_a_start_row(tmp_path):
    source = digits_zip(tmp_path / "digits.zip", 6, 40)
    out = make_live_digits(source, tmp_path / "held.npz", count=2, start=3)
    assert np.load(out)["labels"].tolist() == [3, 4]
    with pytest.raises(ValueError, match="has 6 digits"):
        make_live_digits(source, tmp_path / "more.npz", count=5, start=3)


def test_the_shipped_held_out_digits_are_the_last_2000():
    folder = DIGITS_DATA.parent
    held = np.load(folder / "heldout_digits.npz")
    assert held["images"].shape == (2000, 1, 32, 32) and held["labels"].shape == (2000,)
    assert set(held["labels"].tolist()) == set(range(10))
    live = load_live_digits(DIGITS_DATA)
    assert not any((held["images"][:50, None] == live[None, :, :, :, :].numpy()).all(axis=(2, 3, 4)).any(1))


def test_the_recent_figures_and_what_they_say():
    from gan_core.training.live import LiveStatus

    def status(accuracies):
        records = [{"step": 10 * (i + 1), "d_real": 0.5 + a / 4, "d_fake": 0.5 - a / 4, "d_accuracy": a}
                   for i, a in enumerate(accuracies)]
        return LiveStatus(True, 10 * len(records), 100, 1.0, records)

    assert status([]).recent() == {} and status([]).balance == ""
    edge = status([0.9] * 8 + [0.8, 0.7])  # the last 20%: the last 2 of 10 records
    assert edge.recent() == pytest.approx({"d_real": 0.6875, "d_fake": 0.3125, "d_accuracy": 0.75, "steps": 20})
    assert edge.balance == "edge"
    even = status([0.9] * 8 + [0.55, 0.55])
    assert even.balance == "even" and even.recent()["steps"] == 20
    assert status([0.7]).recent()["steps"] == 10  # one record: all of it


def test_the_live_panel_says_what_its_numbers_say():
    from gan_core.training.live import LiveStatus
    from studio.training_tab import LIVE_GRID, live_figures, live_grid

    records = [{"step": 10, "d_real": 0.62, "d_fake": 0.39, "d_accuracy": 0.78}]
    text = live_figures(LiveStatus(True, 10, 100, 1.0, records))
    assert "D(x) 0.62" in text and "D(G(z)) 0.39" in text and "78%" in text and "keeps an edge" in text
    records = [{"step": 10, "d_real": 0.52, "d_fake": 0.48, "d_accuracy": 0.55}]
    assert "hardly tell" in live_figures(LiveStatus(True, 10, 100, 1.0, records))
    grid, caption = live_grid(LiveStatus(True, 10, 100, 1.0, records, np.zeros((274, 274, 3), np.uint8), 10))
    assert grid.shape[:2] == (LIVE_GRID, LIVE_GRID) and LIVE_GRID >= 400 and "10" in caption
