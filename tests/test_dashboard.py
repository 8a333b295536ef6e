"""gan_core.analysis.dashboard: curves and grids from train.py's run folders and from release folders."""
import json
from pathlib import Path

import numpy as np
import pytest

import train
from gan_core.analysis import dashboard
from gan_core.analysis.dashboard import CHANCE, curve_tables, grid_at, read_run, summary, timelapse
from gan_core.training.run_log import read_log

MNIST32 = Path(__file__).resolve().parents[1] / "checkpoints" / "mnist32"
TINY_FLAGS = ["--image-size", "32", "--g-width", "8", "--d-width", "8", "--nz", "16", "--batch-size", "16"]


pytestmark = pytest.mark.usefixtures("one_thread")  # see conftest.py


@pytest.fixture(scope="module")
def dry_run(tmp_path_factory):
    """A train.py --dry-run of 3 steps, resumed to 5, and exported: (run folder, release folder)."""
    root = tmp_path_factory.mktemp("dry")
    out, release = root / "run", root / "release"
    assert train.main(["--dry-run", "--out", str(out), "--steps", "3", *TINY_FLAGS]) == 0
    assert train.main(["--resume", str(out), "--steps", "5", "--export", str(release)]) == 0
    return out, release


def test_reads_a_train_py_run(dry_run):
    run = read_run(dry_run[0])
    assert [r["step"] for r in run.records] == [1, 2, 3, 4, 5]
    assert run.grid_steps == [3, 5] and all(path.suffix == ".png" for _, path in run.grids)
    assert run.last_step == 5 and "5 steps" in summary(run)
    losses, outputs = curve_tables(run.records)
    assert list(losses.columns) == ["step", "value", "series"]
    assert sorted(set(losses.series)) == ["D loss", "G loss"] and len(losses) == 10
    assert set(outputs.series) == {"D(x): real images", "D(G(z)): generated images", CHANCE,
                                   "D's accuracy: real and generated told apart"}
    chance = outputs[outputs.series == CHANCE]
    assert list(chance.step) == [1, 5] and (chance.value == 0.5).all()
    probabilities = outputs[outputs.series != CHANCE].value
    assert ((probabilities >= 0) & (probabilities <= 1)).all()


def test_reads_a_release_folder(dry_run):
    run = read_run(dry_run[1])
    assert run.log.name == "training_log.jsonl" and run.last_step == 5
    assert run.grid_steps == [3, 5] and all(path.suffix == ".jpg" for _, path in run.grids)


def test_reads_the_shipped_digits_model():
    run = read_run(MNIST32)
    assert len(run.records) >= 10 and run.last_step == 22939
    assert len(run.grids) == 10
    step, grid = grid_at(run, 4100)
    assert step == 4000 and grid.dtype == np.uint8 and grid.ndim == 3
    assert grid_at(run, 0)[0] == run.grid_steps[0] and grid_at(run, 10**9)[0] == 22939
    assert grid_at(run, "8000")[0] == 8000  # a slider may hand over text


def test_timelapse_is_an_mp4_of_labelled_grids(dry_run, tmp_path):
    import imageio.v2 as imageio

    run = read_run(dry_run[0])
    path = timelapse(run, tmp_path / "lapse.mp4", fps=4, hold=0.5)
    reader = imageio.get_reader(path)
    frames = [frame for frame in reader]
    reader.close()
    grid = grid_at(run, 5)[1]
    assert len(frames) == 2 + 2  # two grids, the last held for half a second
    assert frames[0].shape[1] == grid.shape[1] + grid.shape[1] % 2 and frames[0].shape[0] > grid.shape[0]
    labelled = next(dashboard.timelapse_frames(run))
    assert labelled[: labelled.shape[0] - grid.shape[0]].max() > 200  # white text on the band


def test_log_quirks(tmp_path):
    log = tmp_path / "log.jsonl"
    records = [{"step": 2, "loss_d": 1.0}, {"step": 1, "loss_d": 2.0}, {"step": 2, "loss_d": 3.0}]
    log.write_text("".join(json.dumps(r) + "\n" for r in records) + '{"step": 3, "loss')
    assert read_log(log) == [{"step": 1, "loss_d": 2.0}, {"step": 2, "loss_d": 3.0}]  # sorted, resumed step wins
    assert read_log(tmp_path / "missing.jsonl") == []
    losses, outputs = curve_tables([{"step": 1, "loss_d": float("nan"), "loss_g": 1.0}])
    assert list(losses.series) == ["G loss"] and list(outputs.series) == [CHANCE, CHANCE]


def test_a_bad_line_is_skipped_with_a_warning(tmp_path, caplog):
    log = tmp_path / "log.jsonl"
    log.write_text('{"step": 1}\n{"step": 2, "loss_d": 0.\n[3]\n{"step": 4}\n')  # a half-written record, a list
    with caplog.at_level("WARNING"):
        assert [r["step"] for r in read_log(log)] == [1, 4]
    assert ["line 2" in m or "line 3" in m for m in caplog.messages] == [True, True]
    run = read_run(tmp_path)
    assert run.last_step == 4


def test_bad_folders_are_clear(tmp_path):
    with pytest.raises(ValueError, match="no such run folder") as info:
        read_run(tmp_path / "nowhere")
    assert str(tmp_path) not in str(info.value)  # the Training tab shows these: no server path
    with pytest.raises(ValueError, match="no training log here"):
        read_run(tmp_path)
    (tmp_path / "log.jsonl").write_text("")
    with pytest.raises(ValueError, match="no records yet"):
        read_run(tmp_path)
    (tmp_path / "log.jsonl").write_text('{"step": 10, "loss_d": 1.0}\n')
    run = read_run(tmp_path / "log.jsonl")  # the log file itself names its folder
    with pytest.raises(ValueError, match="no sample grids yet"):
        grid_at(run, 10)
    with pytest.raises(ValueError, match="no sample grids to make a time-lapse"):
        timelapse(run, tmp_path / "x.mp4")
    assert not (tmp_path / "x.mp4").exists()
    run.grids = [(10, tmp_path / "samples" / "step_0000010.png")]
    with pytest.raises(ValueError, match="a step is a number"):
        grid_at(run, "soon")
    with pytest.raises(ValueError, match="fps"):
        timelapse(run, tmp_path / "x.mp4", fps=0)


def test_find_runs_lists_run_folders_only(tmp_path):
    from gan_core.analysis.dashboard import find_runs
    assert find_runs(tmp_path / "nowhere") == []
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "log.jsonl").write_text('{"step": 1}\n')
    (tmp_path / "b").mkdir()  # no log: not a run
    (tmp_path / "c.txt").write_text("not a folder")
    assert find_runs(tmp_path) == [tmp_path / "a"]
