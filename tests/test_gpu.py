"""GPU checks (skipped where there is no CUDA): training steps and generation on the GPU."""
import numpy as np
import pytest
import torch

from gan_core.model.checkpoints import load_gan
from gan_core.model.config import GANConfig
from gan_core.data.images import synthetic_images
from gan_core.training.export import export_release
from gan_core.model.latent import z_from_seeds
from gan_core.training.loop import TrainConfig, Trainer

pytestmark = [pytest.mark.gpu, pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")]


def test_training_steps_on_the_gpu(tmp_path):
    config = GANConfig(image_size=64, g_width=16, d_width=16)
    trainer = Trainer(config, TrainConfig(out=str(tmp_path), batch_size=32, device="cuda", steps=4,
                                          diffaugment="color,translation,cutout", flip=True),
                      synthetic_images(128, 64))
    stats = torch.stack([trainer.train_step() for _ in range(4)])
    assert stats.is_cuda and torch.isfinite(stats).all()
    folder = export_release(trainer, tmp_path / "release")
    on_gpu = load_gan(folder, "cuda")
    on_cpu = load_gan(folder, "cpu")
    z = z_from_seeds(range(8), config.nz)
    difference = np.abs(on_gpu.generate(z).astype(int) - on_cpu.generate(z).astype(int))
    assert difference.max() <= 2  # the same faces on both devices, up to float rounding


def test_streamed_batches_on_the_gpu_equal_the_in_memory_ones(tmp_path):
    from PIL import Image

    from gan_core.training.batches import Batches, StreamedBatches
    from gan_core.data.images import open_images

    for i, image in enumerate(synthetic_images(24, 16)):
        Image.fromarray(image.permute(1, 2, 0).numpy()).save(tmp_path / f"{i:03d}.png")
    files = open_images(tmp_path, 16)
    cuda = torch.device("cuda")
    memory = Batches(files.decode_all().images, 8, cuda, seed=5, flip=True)
    stream = StreamedBatches(files, 8, cuda, seed=5, flip=True, workers=2)
    for step in range(7):
        a = memory.batch(step, torch.Generator(cuda).manual_seed(step))
        b = stream.batch(step, torch.Generator(cuda).manual_seed(step))
        assert b.is_cuda and torch.equal(a, b)
