"""The training loop: resume equals uninterrupted, it learns, it logs, it exports; train.py."""
import json

import pytest
import torch

import train
from gan_core.augment import diff_augment
from gan_core.checkpoints import load_gan
from gan_core.config import GANConfig
from gan_core.data import synthetic_images
from gan_core.latent import z_from_seeds
from gan_core.models import Generator
from gan_core.training import (TrainConfig, Trainer, d_loss, g_loss, read_checkpoint_configs, read_log,
                               recalibrate_batchnorm)

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
    path = first.save_checkpoint()
    del first
    resumed = make_trainer(tmp_path / "b", steps=5)
    resumed.load_checkpoint(path)
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

    folder = trainer.export(tmp_path / "release", half=True)
    names = {p.name for p in folder.iterdir()}
    assert {"config.json", "model.safetensors", "discriminator.safetensors", "README.md", "samples.png",
            "training_log.jsonl", "history"} <= names
    assert len(list((folder / "history").iterdir())) == 2
    gan = load_gan(folder, "cpu")
    assert gan.D is not None and gan.config == TINY
    assert gan.generate(z_from_seeds([0, 1], TINY.nz)).shape == (2, 32, 32, 3)
    card = (folder / "README.md").read_text()
    assert "float16" in card and "Recipe" in card


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
    trainer.init_from_release(release)
    for name, value in shipped.G.state_dict().items():
        assert torch.equal(trainer.G_ema.state_dict()[name], value)
        assert torch.equal(trainer.G.state_dict()[name], value)
    assert train.main(["--init-from", str(release), "--dry-run", "--out", str(tmp_path / "c"),
                       "--batch-size", "16"]) == 0
    with pytest.raises(Exception, match="differs"):
        Trainer(TINY, TrainConfig(out=str(tmp_path / "d"), batch_size=16, device="cpu"),
                synthetic_images(64, 32)).init_from_release(release)
