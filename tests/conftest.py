"""Shared fixtures and markers for the gan_core test suite.

* No test may touch the network: HF_HUB_OFFLINE is set here, at import time, before anything
  imports huggingface_hub (whose `constants` module reads the environment once, on import).
* `slow` marks tests that take more than a few seconds; `gpu` marks tests that need CUDA and
  are skipped where it is not available.
"""
from __future__ import annotations

import os
import sys

os.environ["HF_HUB_OFFLINE"] = "1"
if "huggingface_hub" in sys.modules:  # imported before us (e.g. by a plugin): patch the read-once constant
    import huggingface_hub.constants

    huggingface_hub.constants.HF_HUB_OFFLINE = True

import pytest
import torch

from gan_core.model.checkpoints import save_gan
from gan_core.model.config import GANConfig
from gan_core.model.networks import Discriminator, Generator


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "slow: takes more than a few seconds (deselect with -m 'not slow')")
    config.addinivalue_line("markers", "gpu: needs a CUDA GPU; skipped when torch.cuda.is_available() is False")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if torch.cuda.is_available():
        return
    skip_gpu = pytest.mark.skip(reason="needs a CUDA GPU (torch.cuda.is_available() is False)")
    for item in items:
        if "gpu" in item.keywords:
            item.add_marker(skip_gpu)


@pytest.fixture(scope="module")
def one_thread():
    """Tiny models run fastest on one thread, and then a busy machine cannot stall them
    (use with pytestmark = pytest.mark.usefixtures("one_thread"))."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture
def tiny_config() -> GANConfig:
    """A DCGAN small enough to build, save and run in milliseconds on a CPU."""
    return GANConfig(image_size=32, channels=3, nz=16, g_width=8, d_width=8)


@pytest.fixture
def tiny_gan_folder(tmp_path, tiny_config):
    """A release folder (config.json, model.safetensors, discriminator.safetensors) of a tiny,
    untrained GAN built with torch.manual_seed(0), so its weights are the same in every run."""
    torch.manual_seed(0)
    G = Generator(tiny_config)
    D = Discriminator(tiny_config)
    return save_gan(tmp_path / "tiny_gan", tiny_config, G, D)


@pytest.fixture(scope="module")
def studio_url():
    """The studio app launched in-process on a free loopback port, for one test module."""
    import socket

    import app

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    app.demo.queue().launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True)
    try:
        yield f"http://127.0.0.1:{port}/"
    finally:
        app.demo.close()


_WRITES: dict = {"on": False, "paths": []}


def _audit(event, args):
    if _WRITES["on"] and event == "open" and len(args) > 1 and isinstance(args[1], str) \
            and any(mode in args[1] for mode in "wax+"):
        _WRITES["paths"].append(str(args[0]))


@pytest.fixture
def files_written():
    """Every file this process opens for writing while the test runs (Python's audit hook sees every
    open); a context manager: `with files_written() as paths: ...`."""
    import contextlib

    if not _WRITES.get("hooked"):
        sys.addaudithook(_audit)  # a hook cannot be removed: it records only while "on"
        _WRITES["hooked"] = True

    @contextlib.contextmanager
    def recording():
        _WRITES["paths"] = []
        _WRITES["on"] = True
        try:
            yield _WRITES["paths"]
        finally:
            _WRITES["on"] = False

    return recording


# --- the browser tests (tests/test_browser*.py) ------------------------------------------------
CHROMIUM_FLAGS = ["--no-sandbox", "--headless=new", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"]


@pytest.fixture(scope="module")
def browser():
    """Debian's Chromium driven by Playwright (never a downloaded browser); the test is skipped
    where either is missing."""
    import shutil
    from pathlib import Path

    sync_api = pytest.importorskip("playwright.sync_api")
    chromium = shutil.which("chromium") or "/usr/bin/chromium"
    if not Path(chromium).exists():
        pytest.skip("needs Debian's chromium (apt-get install chromium)")
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=CHROMIUM_FLAGS)
        yield browser
        browser.close()


@pytest.fixture(scope="module")
def shots(tmp_path_factory):
    """Where screenshots go: $STUDIO_SCREENSHOTS if set, else a temporary folder."""
    from pathlib import Path

    folder = Path(os.environ.get("STUDIO_SCREENSHOTS") or tmp_path_factory.mktemp("screenshots"))
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def lively_gan_folder(folder, config: GANConfig):
    """A tiny GAN saved to `folder` with He-initialised weights: DCGAN's N(0, 0.02) start gives faces
    of near-constant grey and logits of 1e-7, too flat for D to prefer anything. Returns the folder."""
    import math

    from gan_core.training.loop import recalibrate_batchnorm

    torch.manual_seed(0)
    G, D = Generator(config), Discriminator(config)
    with torch.no_grad():
        for m in [*G.modules(), *D.modules()]:
            if isinstance(m, torch.nn.Conv2d):
                m.weight.normal_(0, math.sqrt(2 / m.weight[0].numel()))
            elif isinstance(m, torch.nn.ConvTranspose2d):
                m.weight.normal_(0, math.sqrt(2 / (m.weight.shape[0] * 4)))
    recalibrate_batchnorm(G, torch.device("cpu"), batches=2, batch_size=64)
    return save_gan(folder, config, G, D)
