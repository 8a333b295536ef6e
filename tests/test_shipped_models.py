"""The models shipped in checkpoints/: they load on the CPU with no network, give the recorded
output for fixed seeds, their configs describe their files, and their cards state their terms."""
import json
from pathlib import Path

import pytest
import torch
from safetensors import safe_open

from gan_core.model.checkpoints import load_gan
from gan_core.model.latent import z_from_seeds

CHECKPOINTS = Path(__file__).resolve().parents[1] / "checkpoints"

# Recorded once from the shipped files: per-image means of G(z) for seeds 0, 1, 2, and
# channel 0, row 16, columns 10-13 of each image (float32 on a CPU).
RECORDED = {
    "celeba64": ([-0.0538, -0.1836, 0.1788],
                 [-0.4674, -0.4325, -0.5142, -0.6342, -0.3272, -0.1812, 0.0745, 0.1356,
                  0.5024, 0.4681, 0.4958, 0.4728]),
    "mnist32": ([-0.7297, -0.5843, -0.8357],
                [-1.0, -1.0, -1.0, -1.0, -0.9999, -0.9638, -0.5194, 0.1393,
                 -1.0, -1.0, -0.9941, -0.6696]),
}
SHAPES = {"celeba64": (64, 3), "mnist32": (32, 1)}


@pytest.mark.parametrize("name", sorted(RECORDED))
def test_shipped_model_gives_the_recorded_output(name):
    gan = load_gan(CHECKPOINTS / name, "cpu")
    assert gan.D is not None
    with torch.inference_mode():
        x = gan.G(z_from_seeds([0, 1, 2], gan.config.nz))
    means, pixels = RECORDED[name]
    assert torch.allclose(x.mean(dim=(1, 2, 3)), torch.tensor(means), atol=2e-3)
    assert torch.allclose(x[:, 0, 16, 10:14].flatten(), torch.tensor(pixels), atol=2e-3)


@pytest.mark.parametrize("name", sorted(RECORDED))
def test_config_describes_the_files(name):
    folder = CHECKPOINTS / name
    config = json.loads((folder / "config.json").read_text())
    size, channels = SHAPES[name]
    assert (config["image_size"], config["channels"]) == (size, channels)
    with safe_open(str(folder / "model.safetensors"), framework="pt") as f:
        first = f.get_tensor("main.0.weight")  # z -> 4x4 transposed convolution
        last = f.get_tensor(max((k for k in f.keys() if k.endswith(".weight")), key=lambda k: int(k.split(".")[1])))
    assert first.shape[0] == config["nz"]
    assert first.shape[1] == config["g_width"] * 2 ** (size.bit_length() - 4)
    assert last.shape[1] == channels
    faces = load_gan(folder, "cpu").generate(z_from_seeds(range(4), config["nz"]))
    assert faces.shape == (4, size, size, channels)
    assert sum(p.stat().st_size for p in folder.rglob("*") if p.is_file()) < 20 * 2**20
    record = [p for p in folder.glob("training_log.jsonl")] + list((folder / "history").glob("*.jpg"))
    assert record and sum(p.stat().st_size for p in record) < 2 * 2**20


def test_cards_state_the_data_terms():
    faces = (CHECKPOINTS / "celeba64" / "README.md").read_text()
    assert "non-commercial research purposes only" in faces
    digits = (CHECKPOINTS / "mnist32" / "README.md").read_text()
    assert "Attribution-Share Alike 3.0" in digits
