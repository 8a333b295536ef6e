"""The training loop: resume equals uninterrupted, it learns, it logs, it exports; its hooks; train.py."""
import dataclasses
import json
import shutil

import pytest
import torch

import train
from gan_core.errors import UserError
from gan_core.training.augment import diff_augment
from gan_core.model import losses
from gan_core.training import loop as training
from gan_core.model.checkpoints import CheckpointError, load_gan, load_tensors, save_tensors
from gan_core.model.config import GANConfig
from gan_core.data.images import synthetic_images
from gan_core.model.latent import z_from_seeds
from gan_core.model.networks import Generator
from gan_core.training.export import export_release
from gan_core.training.model_card import write_sections
from gan_core.training.resume import init_from_release, load_checkpoint, read_checkpoint_configs, save_checkpoint
from gan_core.training.loop import TrainConfig, Trainer, d_loss, g_loss, recalibrate_batchnorm
from gan_core.training.run_log import read_log

TINY = GANConfig(image_size=32, channels=3, nz=16, g_width=8, d_width=8)


def make_trainer(tmp_path, **opts):
    settings = dict(out=str(tmp_path / "run"), batch_size=16, device="cpu", log_every=2, sample_every=4,
                    checkpoint_every=4, seed=3, diffaugment="color,translation,cutout", flip=True)
    settings.update(opts)
    return Trainer(TINY, TrainConfig(**settings), synthetic_images(64, 32, 3, seed=1))


def states(trainer):
    out = {}
    for name in ("G", "D", "G_ema"):
        out.update({f"{name}.{k}": v.clone() for k, v in getattr(trainer, name).state_dict().items()})
    for name in ("opt_g", "opt_d"):
        for i, slots in getattr(trainer, name).state_dict()["state"].items():
            out.update({f"{name}.{i}.{k}": v.clone() for k, v in slots.items()})
    return out


def test_losses_are_the_papers_cross_entropy():
    zero = torch.zeros(4)
    assert torch.isclose(d_loss(zero, zero), torch.log(torch.tensor(4.0)))
    assert torch.isclose(g_loss(zero), torch.log(torch.tensor(2.0)))
    assert d_loss(torch.full((4,), 10.0), torch.full((4,), -10.0)) < 1e-3  # D right: no loss
    assert g_loss(torch.full((4,), 10.0)) < 1e-3  # D fooled: G has no loss


def test_resume_gives_the_same_weights_as_an_uninterrupted_run(tmp_path):
    straight = make_trainer(tmp_path / "a", steps=5)
    for _ in range(5):
        straight.train_step()

    first = make_trainer(tmp_path / "b", steps=5)
    for _ in range(3):
        first.train_step()
    path = save_checkpoint(first)
    del first
    resumed = make_trainer(tmp_path / "b", steps=5)
    load_checkpoint(resumed, path)
    assert resumed.step == 3
    for _ in range(2):
        resumed.train_step()

    a, b = states(straight), states(resumed)
    assert a.keys() == b.keys() and len(a) > 30
    for key in a:
        assert torch.equal(a[key], b[key]), key


def test_training_learns_the_data(tmp_path):
    """On noisy red images, G's output moves from grey noise to red. (D uses spectral norm here:
    with BatchNorm, D normalises each all-real or all-fake batch, which hides a colour shift
    shared by the whole batch; that is DCGAN's nature, not the loop's.)"""
    noise = torch.randint(-25, 26, (128, 3, 32, 32), generator=torch.Generator().manual_seed(0))
    red = (noise + torch.tensor([205, 30, 30])[None, :, None, None]).to(torch.uint8)
    config = GANConfig(image_size=32, channels=3, nz=16, g_width=8, d_width=8, d_spectral_norm=True)
    trainer = Trainer(config, TrainConfig(out=str(tmp_path), batch_size=32, device="cpu", steps=100,
                                        lr_g=1e-3, log_every=50, sample_every=1000, checkpoint_every=1000), red)
    z = z_from_seeds(range(32), TINY.nz)

    def colour_error():
        with torch.no_grad():
            images = trainer.shipped_generator()(z)
        target = torch.tensor([205, 30, 30])[None, :] / 127.5 - 1
        return (images.mean(dim=(2, 3)) - target).abs().mean().item()

    before = colour_error()
    trainer.train(progress=False)
    assert colour_error() < 0.5 * before


def test_train_writes_log_samples_checkpoint_and_export(tmp_path):
    trainer = make_trainer(tmp_path, steps=8)
    record = trainer.train(progress=False)
    run = tmp_path / "run"
    log = read_log(run / "log.jsonl")
    assert [r["step"] for r in log] == [2, 4, 6, 8] and record == log[-1]
    for key in ("loss_d", "loss_g", "d_real", "d_fake", "img_per_s", "images"):
        assert key in log[-1]
    assert 0 <= log[-1]["d_real"] <= 1 and 0 <= log[-1]["d_fake"] <= 1
    assert sorted(p.name for p in (run / "samples").iterdir()) == ["step_0000004.png", "step_0000008.png"]
    model, opts = read_checkpoint_configs(run / "checkpoint.safetensors")
    assert model == TINY and opts["diffaugment"] == "color,translation,cutout"

    folder = export_release(trainer, tmp_path / "release", half=True)
    names = {p.name for p in folder.iterdir()}
    assert {"config.json", "model.safetensors", "discriminator.safetensors", "README.md", "samples.png",
            "training_log.jsonl", "history"} <= names
    assert len(list((folder / "history").iterdir())) == 2
    gan = load_gan(folder, "cpu")
    assert gan.D is not None and gan.config == TINY
    assert gan.generate(z_from_seeds([0, 1], TINY.nz)).shape == (2, 32, 32, 3)
    card = (folder / "README.md").read_text()
    assert "float16" in card and "Recipe" in card
    write_sections(folder, {"Quality": "FID 12.3", "Directions": "SeFa 1, SeFa 2"})  # what bench/ records
    measured = (folder / "README.md").read_text()
    assert "Not measured yet" not in measured and measured.count("## Quality\nFID 12.3\n") == 1
    assert measured.index("## Recipe") < measured.index("## Quality") < measured.index("## Directions")
    assert measured.startswith(card.split("## Quality")[0])  # the sections before it are kept as they were


def test_max_minutes_stops_early(tmp_path):
    trainer = make_trainer(tmp_path, steps=1000, max_minutes=1e-9)
    trainer.train(progress=False)
    assert trainer.step == 1 and (tmp_path / "run" / "checkpoint.safetensors").is_file()


def test_recalibrated_eval_mode_matches_training_mode_statistics():
    torch.manual_seed(0)
    G = Generator(TINY)
    with torch.no_grad():
        for p in G.parameters():
            p.add_(0.05 * torch.randn_like(p))  # weights the initial running statistics do not fit
        z = torch.randn(512, TINY.nz)
        G.train()
        batch_mode = G(z)
        G.eval()
        stale = (G(z) - batch_mode).abs().mean()
        recalibrate_batchnorm(G, torch.device("cpu"), batches=8, batch_size=256)
        fresh = (G(z) - batch_mode).abs().mean()
    assert fresh < 0.3 * stale


def test_diffaugment_keeps_shape_and_gradient():
    x = torch.rand(4, 3, 16, 16, requires_grad=True)
    g = torch.Generator().manual_seed(0)
    y = diff_augment(x, "color,translation,cutout", g)
    assert y.shape == x.shape
    y.sum().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0
    again = diff_augment(x.detach(), "color,translation,cutout", torch.Generator().manual_seed(0))
    assert torch.equal(y.detach(), again)
    with pytest.raises(ValueError, match="policy"):
        TrainConfig(diffaugment="rotate")


def test_train_py_dry_run_export_and_resume(tmp_path, capsys):
    out, release = tmp_path / "smoke", tmp_path / "release"
    code = train.main(["--dry-run", "--out", str(out), "--image-size", "32", "--g-width", "8", "--d-width", "8",
                       "--batch-size", "16", "--export", str(release), "--name", "smoke"])
    assert code == 0
    assert json.loads((release / "config.json").read_text())["name"] == "smoke"
    assert load_gan(release, "cpu").generate(z_from_seeds([3], 100)).shape == (1, 32, 32, 3)
    assert train.main(["--resume", str(out), "--steps", "3"]) == 0
    assert read_log(out / "log.jsonl")[-1]["step"] == 3


def test_train_py_reports_bad_data_clearly(tmp_path, capsys):
    assert train.main(["--data", str(tmp_path / "missing.zip"), "--out", str(tmp_path / "r")]) == 2
    assert "missing.zip" in capsys.readouterr().err


def test_train_py_can_start_from_a_release_folder(tmp_path):
    release = tmp_path / "release"
    assert train.main(["--dry-run", "--out", str(tmp_path / "a"), "--image-size", "32", "--g-width", "8",
                       "--d-width", "8", "--batch-size", "16", "--export", str(release)]) == 0
    shipped = load_gan(release, "cpu")
    trainer = Trainer(shipped.config, TrainConfig(out=str(tmp_path / "b"), batch_size=16, device="cpu", seed=9),
                      synthetic_images(64, 32))
    init_from_release(trainer, release)
    for name, value in shipped.G.state_dict().items():
        assert torch.equal(trainer.G_ema.state_dict()[name], value)
        assert torch.equal(trainer.G.state_dict()[name], value)
    assert train.main(["--init-from", str(release), "--dry-run", "--out", str(tmp_path / "c"),
                       "--batch-size", "16"]) == 0
    with pytest.raises(Exception, match="differs"):
        init_from_release(Trainer(TINY, TrainConfig(out=str(tmp_path / "d"), batch_size=16, device="cpu"),
                                  synthetic_images(64, 32)), release)
    # a D built differently: G from the release, D fresh (a stronger D to polish a shipped G)
    wider = dataclasses.replace(shipped.config, d_width=16)
    trainer = Trainer(wider, TrainConfig(out=str(tmp_path / "e"), batch_size=16, device="cpu", seed=9),
                      synthetic_images(64, 32))
    fresh_d = {k: v.clone() for k, v in trainer.D.state_dict().items()}
    assert init_from_release(trainer, release) is False
    assert all(torch.equal(trainer.G.state_dict()[k], v) for k, v in shipped.G.state_dict().items())
    assert all(torch.equal(trainer.D.state_dict()[k], v) for k, v in fresh_d.items())
    assert train.main(["--init-from", str(release), "--d-width", "16", "--dry-run", "--out", str(tmp_path / "f"),
                       "--batch-size", "16"]) == 0
    assert read_checkpoint_configs(tmp_path / "f" / "checkpoint.safetensors")[0].d_width == 16


def test_losses_live_in_their_own_module():
    assert training.d_loss is losses.d_loss and training.g_loss is losses.g_loss  # still importable from training


@pytest.mark.parametrize("change", [{"steps": "10"}, {"steps": -1}, {"batch_size": 16.0}, {"lr_g": float("nan")},
                                    {"lr_d": 0}, {"flip": 1}, {"seed": True}, {"out": None}, {"limit": 0},
                                    {"beta1": 1.0}, {"epochs": "5"}, {"batch_size": 10 ** 9}])
def test_train_config_checks_types_and_ranges(change):
    with pytest.raises(ValueError, match=next(iter(change)).split("_")[0]):
        TrainConfig(**change)


# --- hooks -----------------------------------------------------------------------------------


def test_train_hooks_stop_records_samples_and_no_checkpoints(tmp_path):
    trainer = make_trainer(tmp_path, steps=100, log_every=2, sample_every=3)
    records, grids = [], []
    record = trainer.train(progress=False, stop=lambda: trainer.step >= 5, on_record=records.append,
                           on_sample=lambda step, path: grids.append((step, path.name)), checkpoints=False)
    assert trainer.step == 5 and record == records[-1]
    assert [r["step"] for r in records] == [2, 4, 5]  # and a last record at the stop
    assert records == read_log(tmp_path / "run" / "log.jsonl")
    assert grids == [(3, "step_0000003.png"), (5, "step_0000005.png")]
    assert not (tmp_path / "run" / "checkpoint.safetensors").exists()


def test_train_max_seconds(tmp_path):
    trainer = make_trainer(tmp_path, steps=100, checkpoint_every=1000)
    trainer.train(progress=False, max_seconds=0)
    assert trainer.step == 1 and (tmp_path / "run" / "checkpoint.safetensors").is_file()


@pytest.mark.parametrize("checkpoints", [True, False])
def test_ctrl_c_saves_a_checkpoint(tmp_path, checkpoints):
    trainer = make_trainer(tmp_path, steps=100, log_every=1, checkpoint_every=1000)

    def interrupt(record):
        if record["step"] == 3:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        trainer.train(progress=False, on_record=interrupt, checkpoints=checkpoints)
    path = tmp_path / "run" / "checkpoint.safetensors"
    assert path.is_file() == checkpoints
    if checkpoints:
        assert load_tensors(path)[1]["step"] == 3


def test_a_start_removes_what_a_killed_write_left(tmp_path):
    run = tmp_path / "run"
    (run / "samples").mkdir(parents=True)
    leftovers = [run / ".checkpoint.safetensors.k1ll3d_x.tmp", run / "samples" / ".step_0000004.png.abcdefgh.tmp"]
    for path in leftovers:
        path.write_bytes(b"")
    (run / "notes.txt").write_text("mine")
    make_trainer(tmp_path, steps=1).train(progress=False)
    assert not any(p.exists() for p in leftovers) and (run / "notes.txt").read_text() == "mine"
    assert not [p for p in run.rglob("*.tmp")]


# --- train.py --resume writes only where it is told ------------------------------------------


def dry_run(out, *more):
    return train.main(["--dry-run", "--out", str(out), "--image-size", "32", "--g-width", "8", "--d-width", "8",
                       "--batch-size", "16", "--steps", "2", *more])


def snapshot(folder):
    return {p.relative_to(folder): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_resuming_a_copied_run_leaves_the_original_alone(tmp_path):
    original, copy, other = tmp_path / "original", tmp_path / "copy", tmp_path / "other"
    assert dry_run(original) == 0
    shutil.copytree(original, copy)
    before = snapshot(original)
    assert train.main(["--resume", str(copy), "--steps", "3"]) == 0
    assert snapshot(original) == before
    assert read_log(copy / "log.jsonl")[-1]["step"] == 3
    assert load_tensors(copy / "checkpoint.safetensors")[1]["step"] == 3
    # a checkpoint file: its folder; --out wins over both
    assert train.main(["--resume", str(copy / "checkpoint.safetensors"), "--steps", "4"]) == 0
    assert read_log(copy / "log.jsonl")[-1]["step"] == 4
    assert train.main(["--resume", str(copy), "--steps", "5", "--out", str(other)]) == 0
    assert load_tensors(other / "checkpoint.safetensors")[1]["step"] == 5
    assert load_tensors(copy / "checkpoint.safetensors")[1]["step"] == 4
    assert snapshot(original) == before


# --- crafted or corrupt checkpoints: a clear CheckpointError, never a traceback --------------


def drop(key):
    return lambda meta, tensors: meta.pop(key)


def put(key, value):
    return lambda meta, tensors: meta.__setitem__(key, value)


def put_train(key, value):
    return lambda meta, tensors: meta["train"].__setitem__(key, value)


def change_group(key, value):
    return lambda meta, tensors: meta["opt_g_groups"][0].__setitem__(key, value)


CRAFTS = {
    "no-model": drop("model"), "no-train": drop("train"), "no-opt_g_groups": drop("opt_g_groups"),
    "no-step": drop("step"), "step-str": put("step", "7"), "step-negative": put("step", -1),
    "step-float": put("step", 1.5), "step-bool": put("step", True), "seconds-str": put("seconds", "x"),
    "train-list": put("train", [1]), "model-str": put("model", "big"), "groups-str": put("opt_d_groups", "x"),
    "model-huge": lambda meta, tensors: meta["model"].__setitem__("g_width", 4000),
    "model-unknown": lambda meta, tensors: meta["model"].__setitem__("ngf", 1),
    "train-unknown": put_train("learning_rate", 1), "train-steps-str": put_train("steps", "many"),
    "train-batch-zero": put_train("batch_size", 0), "groups-empty": put("opt_g_groups", []),
    "group-not-dict": put("opt_g_groups", [1]), "group-params": change_group("params", [0, 1]),
    "group-lr-str": change_group("lr", "fast"), "group-amsgrad": change_group("amsgrad", True),
    "group-betas": change_group("betas", [0.5]),
    "no-rng": lambda meta, tensors: tensors.pop("rng"),
    "rng-float": lambda meta, tensors: tensors.__setitem__("rng", torch.zeros(3)),
    "no-G-weight": lambda meta, tensors: tensors.pop("G.main.0.weight"),
    "G-shape": lambda meta, tensors: tensors.__setitem__("G.main.0.weight", torch.zeros(2, 2)),
    "opt-name": lambda meta, tensors: tensors.__setitem__("opt_g.x", torch.zeros(1)),
    "opt-index": lambda meta, tensors: tensors.__setitem__("opt_g.999.exp_avg", torch.zeros(1)),
    "opt-shape": lambda meta, tensors: tensors.__setitem__("opt_g.0.exp_avg", torch.zeros(3)),
    "no-opt_d": lambda meta, tensors: [tensors.pop(k) for k in list(tensors) if k.startswith("opt_d.")],
    "no-opt_d-moment": lambda meta, tensors: tensors.pop("opt_d.0.exp_avg_sq"),
    "no-opt_g-param": lambda meta, tensors: [tensors.pop(k) for k in list(tensors) if k.startswith("opt_g.1.")],
}
CONFIG_CRAFTS = {"no-model", "no-train", "no-opt_g_groups", "no-step", "step-str", "step-negative", "step-float",
                 "step-bool", "seconds-str", "train-list", "model-str", "groups-str", "model-huge", "model-unknown",
                 "train-unknown", "train-steps-str", "train-batch-zero"}


@pytest.fixture(scope="module")
def saved_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("saved") / "run"
    assert dry_run(out) == 0
    return out


@pytest.mark.parametrize("craft", sorted(CRAFTS))
def test_crafted_checkpoints_are_clear_errors(saved_run, tmp_path, capsys, craft):
    run = tmp_path / "run"
    shutil.copytree(saved_run, run)
    path = run / "checkpoint.safetensors"
    tensors, meta = load_tensors(path)
    CRAFTS[craft](meta, tensors)
    save_tensors(path, tensors, meta)
    if craft in CONFIG_CRAFTS:
        with pytest.raises(CheckpointError, match="not a training checkpoint"):
            read_checkpoint_configs(path)
    else:
        model, opts = read_checkpoint_configs(path)
        trainer = Trainer(model, TrainConfig(**{**opts, "out": str(tmp_path / "elsewhere")}), synthetic_images(64, 32))
        before = states(trainer)
        with pytest.raises(CheckpointError, match="not a usable training checkpoint"):
            load_checkpoint(trainer, path)
        after = states(trainer)
        assert all(torch.equal(before[k], after[k]) for k in before) and trainer.step == 0  # nothing half-loaded
    capsys.readouterr()
    assert train.main(["--resume", str(run), "--steps", "3"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("train.py: ") and "Traceback" not in err and "checkpoint" in err


def test_checkpoint_with_flipped_bytes(saved_run, tmp_path, capsys):
    path = tmp_path / "run" / "checkpoint.safetensors"
    shutil.copytree(saved_run, tmp_path / "run")
    data = bytearray(path.read_bytes())
    middle = (8 + int.from_bytes(data[:8], "little") + len(data)) // 2  # inside the tensor data, after the header
    data[middle:middle + 4] = bytes(b ^ 0xFF for b in data[middle:middle + 4])
    path.write_bytes(bytes(data))
    assert train.main(["--resume", str(tmp_path / "run")]) == 2
    assert "is corrupt: its contents do not match their digest" in capsys.readouterr().err


def test_checkpoint_for_another_model(saved_run, tmp_path):
    other = Trainer(GANConfig(image_size=32, channels=3, nz=16, g_width=4, d_width=4),
                    TrainConfig(out=str(tmp_path), batch_size=16, device="cpu"), synthetic_images(64, 32))
    with pytest.raises(CheckpointError, match="saved for model"):
        load_checkpoint(other, saved_run / "checkpoint.safetensors")


def test_init_from_a_bad_folder_or_file(saved_run, tmp_path, capsys):
    release = tmp_path / "release"
    assert dry_run(tmp_path / "a", "--export", str(release)) == 0
    no_d = tmp_path / "no-d"
    shutil.copytree(release, no_d)
    (no_d / "discriminator.safetensors").unlink()
    broken = tmp_path / "broken"
    shutil.copytree(release, broken)
    (broken / "model.safetensors").write_bytes(b"not safetensors")
    cases = {tmp_path / "absent": "no config.json", release / "model.safetensors": "no config.json",
             saved_run: "no config.json", no_d: "discriminator.safetensors", broken: "not a valid safetensors file"}
    capsys.readouterr()
    for source, message in cases.items():
        assert train.main(["--init-from", str(source), "--dry-run", "--out", str(tmp_path / "b")]) == 2, source
        err = capsys.readouterr().err
        assert err.startswith("train.py: ") and message in err and "Traceback" not in err


def test_label_smoothing_is_one_sided_cross_entropy():
    r, f = torch.tensor([0.3, -1.2]), torch.tensor([0.5, -2.0])
    bce = torch.nn.functional.binary_cross_entropy_with_logits
    expected = bce(r, torch.full_like(r, 0.9)) + bce(f, torch.zeros_like(f))
    assert torch.isclose(d_loss(r, f, real_target=0.9), expected)
    assert torch.isclose(d_loss(r, f, real_target=1.0), d_loss(r, f))


def test_balancing_options_train_and_log_d_accuracy(tmp_path):
    trainer = make_trainer(tmp_path, steps=4, label_smoothing=0.1, instance_noise=0.5, g_steps=2)
    records = []
    trainer.train(progress=False, on_record=records.append, checkpoints=False)
    assert trainer.step == 4 and len(records) == 2
    assert all(0 <= r["d_accuracy"] <= 1 for r in records)
    for bad in (dict(label_smoothing=1.0), dict(instance_noise=-0.1), dict(g_steps=0)):
        with pytest.raises(ValueError):
            TrainConfig(**bad)


def test_train_py_takes_the_balancing_flags(tmp_path):
    args = train.parse_args(["--dry-run", "--out", str(tmp_path / "r"), "--label-smoothing", "0.1",
                             "--instance-noise", "0.3", "--g-steps", "2"])
    _, opts, _ = train.build(args)
    assert (opts.label_smoothing, opts.instance_noise, opts.g_steps) == (0.1, 0.3, 2)


def test_lr_decay_brings_both_learning_rates_to_zero_over_the_runs_end(tmp_path):
    opts = TrainConfig(out=str(tmp_path / "r"), steps=8, batch_size=8, device="cpu", lr_decay=0.5, log_every=4,
                       sample_every=100, lr_g=4e-4, lr_d=2e-4)
    trainer = Trainer(TINY, opts, synthetic_images(32, 32))
    seen = []
    step = trainer.train_step
    trainer.train_step = lambda: (seen.append((trainer.opt_g.param_groups[0]["lr"],
                                               trainer.opt_d.param_groups[0]["lr"])), step())[1]
    trainer.train(progress=False, checkpoints=False)
    assert seen[:5] == [(4e-4, 2e-4)] * 5  # constant over the first half (steps 0-4: done <= 0.5)
    assert seen[5] == pytest.approx((3e-4, 1.5e-4)) and seen[7] == pytest.approx((1e-4, 0.5e-4))
    with pytest.raises(UserError):
        TrainConfig(lr_decay=1.5)


# --- what a bad log line, an edited checkpoint, a huge batch or a full disk do -------------------


def test_edited_metadata_is_refused(saved_run, tmp_path, capsys):
    from safetensors import safe_open
    from safetensors.torch import save_file

    shutil.copytree(saved_run, tmp_path / "run")
    path = tmp_path / "run" / "checkpoint.safetensors"
    with safe_open(str(path), framework="pt") as f:
        tensors, metadata = {k: f.get_tensor(k) for k in f.keys()}, f.metadata()
    meta = json.loads(metadata["json"])
    meta["step"] = 90  # the tensors untouched, the digest kept: only the step changed
    save_file(tensors, str(path), metadata={**metadata, "json": json.dumps(meta)})
    with pytest.raises(CheckpointError, match="is corrupt"):
        load_tensors(path)
    assert train.main(["--resume", str(tmp_path / "run"), "--steps", "3"]) == 2
    assert "is corrupt" in capsys.readouterr().err


def test_a_huge_batch_size_is_a_clear_message(tmp_path, capsys):
    assert dry_run(tmp_path / "run", "--batch-size", "1000000000") == 2
    err = capsys.readouterr().err
    assert err.startswith("train.py: ") and "batch_size must be at most 8192" in err and "Traceback" not in err


def test_a_full_disk_is_a_clear_message_and_keeps_the_last_checkpoint(saved_run, tmp_path, capsys, monkeypatch):
    import errno

    from gan_core.model import checkpoints

    shutil.copytree(saved_run, tmp_path / "run")
    before = (tmp_path / "run" / "checkpoint.safetensors").read_bytes()

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(checkpoints, "save_file", full)
    assert train.main(["--resume", str(tmp_path / "run"), "--steps", "4", "--checkpoint-every", "1"]) == 1
    err = capsys.readouterr().err
    assert "could not write checkpoint.safetensors (No space left on device)" in err and "Traceback" not in err
    assert (tmp_path / "run" / "checkpoint.safetensors").read_bytes() == before
    assert not [p for p in (tmp_path / "run").iterdir() if p.name.endswith(".tmp")]


def test_export_skips_a_bad_log_line_and_replaces_a_release_whole(tmp_path, monkeypatch, caplog):
    from gan_core.training import export

    trainer = make_trainer(tmp_path, steps=4)
    trainer.train(progress=False)
    log = tmp_path / "run" / "log.jsonl"
    log.write_text(log.read_text().replace("\n", '\n{"step": 3, "loss_d": 0.\n', 1))  # a half-written record
    folder = export_release(trainer, tmp_path / "release")
    assert [r["step"] for r in read_log(folder / "training_log.jsonl")] == [2, 4]
    assert "line 2: not a training record" in caplog.text
    (folder / "stale.json").write_text("{}")
    first = (folder / "model.safetensors").read_bytes()

    def broken(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(export, "write_card", broken)  # the last file of a release fails
    with pytest.raises(OSError):
        export_release(trainer, folder)
    assert (folder / "stale.json").is_file() and (folder / "model.safetensors").read_bytes() == first
    assert sorted(p.name for p in tmp_path.iterdir()) == ["release", "run"]  # no half-written folder left
    monkeypatch.undo()
    export_release(trainer, folder)
    assert not (folder / "stale.json").exists() and load_gan(folder, "cpu").config == TINY
    assert sorted(p.name for p in tmp_path.iterdir()) == ["release", "run"]
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "todo.txt").write_text("mine")
    with pytest.raises(UserError, match="notes exists and is not a release folder"):
        export_release(trainer, tmp_path / "notes")
    assert (tmp_path / "notes" / "todo.txt").read_text() == "mine"
