"""Training on several processes: torchrun with 2 gloo ranks on the CPU, a rank killed mid-run,
an elastic restart, and the pieces (ranks, shared random numbers, SyncBatchNorm2d)."""
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from gan_core.training.distributed import Ranks, SharedRandom, SyncBatchNorm2d, convert_sync_batchnorm
from gan_core.model.networks import Generator
from gan_core.model.config import GANConfig
from gan_core.data.images import synthetic_images
from gan_core.training.loop import TrainConfig, Trainer

ROOT = Path(__file__).resolve().parent.parent
WORKER = ROOT / "tests" / "ddp_worker.py"
ENV = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"}
TINY_RUN = ["--dry-run", "--image-size", "32", "--g-width", "8", "--d-width", "8", "--nz", "16", "--batch-size", "16"]


def torchrun(*args, ranks=2, extra=()):
    return [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={ranks}",
            "--monitor-interval=0.2", *extra, *map(str, args)]


def weights(path):
    return {k: v for k, v in load_file(str(path)).items() if "running_" not in k and "num_batches" not in k}


# --- the pieces -------------------------------------------------------------------------------
def test_ranks_from_torchruns_environment():
    assert Ranks.from_env({}) == Ranks()
    ranks = Ranks.from_env({"RANK": "3", "WORLD_SIZE": "4", "LOCAL_RANK": "1", "LOCAL_WORLD_SIZE": "2"})
    assert (ranks.rank, ranks.world, ranks.local_rank, ranks.local_world) == (3, 4, 1, 2)
    assert not ranks.main and ranks.distributed and ranks.rows(128) == slice(96, 128)
    with pytest.raises(ValueError, match="inconsistent"):
        Ranks.from_env({"RANK": "4", "WORLD_SIZE": "4"})


def test_shared_random_gives_each_rank_its_rows_of_one_draw():
    whole = SharedRandom(torch.Generator().manual_seed(5)).randn(8, 3)
    halves = [SharedRandom(torch.Generator().manual_seed(5), Ranks(r, 2)).randn(4, 3) for r in range(2)]
    assert torch.equal(torch.cat(halves), whole)
    generators = [torch.Generator().manual_seed(5) for _ in range(2)]
    for g, r in zip(generators, range(2)):
        SharedRandom(g, Ranks(r, 2)).rand(4)
    assert torch.equal(generators[0].get_state(), generators[1].get_state())  # every rank's stream stays in step


def test_sync_batchnorm_alone_is_batchnorm_and_keeps_the_state_dict():
    G = Generator(GANConfig(image_size=32, nz=16, g_width=8))
    before = {k: v.clone() for k, v in G.state_dict().items()}
    z = torch.randn(6, 16, generator=torch.Generator().manual_seed(0))
    expected = G(z)
    convert_sync_batchnorm(G)
    assert any(isinstance(m, SyncBatchNorm2d) for m in G.modules())
    assert G.state_dict().keys() == before.keys()
    G.load_state_dict(before)
    assert torch.allclose(G(z), expected)  # one process: plain BatchNorm


def test_the_global_batch_must_split_evenly(tmp_path):
    with pytest.raises(ValueError, match="does not split evenly over 3 ranks"):
        Trainer(GANConfig(image_size=32, nz=16, g_width=8, d_width=8), TrainConfig(out=str(tmp_path), batch_size=16),
                synthetic_images(32, 32), Ranks(0, 3))
    for bad in ({"stream": "sometimes"}, {"compile": "fast"}, {"compile": ""}, {"dist_timeout": 0}, {"workers": -1}):
        with pytest.raises(ValueError):
            TrainConfig(**bad)


# --- torchrun ---------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def two_and_one(tmp_path_factory):
    """The same 10 steps (DiffAugment, flips, instance noise, SyncBatchNorm) on 2 ranks and on 1."""
    two, one = tmp_path_factory.mktemp("two"), tmp_path_factory.mktemp("one")
    for command, out in ((torchrun(WORKER, two, 10, "--sync-batchnorm"), two),
                         ([sys.executable, str(WORKER), str(one), "10", "--sync-batchnorm"], one)):
        done = subprocess.run(command, env=ENV, capture_output=True, text=True, timeout=240)
        assert done.returncode == 0, done.stderr[-3000:]
    return two, one


def test_two_ranks_end_with_identical_weights_and_rank_0_writes_once(two_and_one):
    two, _ = two_and_one
    rank0, rank1 = weights(two / "rank0.safetensors"), weights(two / "rank1.safetensors")
    assert rank0.keys() == rank1.keys() and len(rank0) > 20
    assert all(torch.equal(rank0[k], rank1[k]) for k in rank0)
    run = two / "run"
    assert sorted(p.name for p in run.iterdir()) == ["checkpoint.safetensors", "log.jsonl", "samples"]
    assert [json.loads(line)["step"] for line in (run / "log.jsonl").read_text().splitlines()] == list(range(1, 11))


def test_the_same_global_batch_on_one_and_two_ranks_trains_the_same(two_and_one):
    """Tolerance: the ranks' sums meet in a different order than one process adds them (BatchNorm
    statistics, gradient averages), which moves float32 results by about 1e-7; over 10 steps the
    weights differed by 1.8e-7 at most and the logged losses (5 decimals) not at all. 1e-4 is far
    below what a real difference makes: another seed moves these losses by about 0.1, and
    BatchNorm over each rank's half instead of the global batch by about 0.02."""
    two, one = two_and_one
    records = [json.loads((folder / "records0.json").read_text()) for folder in (two, one)]
    assert len(records[0]) == len(records[1]) == 10
    for a, b in zip(*records):
        for key in ("loss_d", "loss_g", "d_real", "d_fake", "d_accuracy"):
            assert abs(a[key] - b[key]) <= 1e-4, (a["step"], key)
    w2, w1 = weights(two / "rank0.safetensors"), weights(one / "rank0.safetensors")
    assert max((w2[k] - w1[k]).abs().max().item() for k in w1) < 1e-5
    # the release: the EMA generator, BatchNorm statistics recalibrated, as one process exports it
    e2, e1 = (load_file(str(folder / "export" / "model.safetensors")) for folder in (two, one))
    assert e2.keys() == e1.keys() and any("running_var" in k for k in e1)
    assert max((e2[k].double() - e1[k].double()).abs().max().item() for k in e1) < 1e-4


def rank_pid(marker: str, rank: int) -> int | None:
    """The pid of the torchrun worker with RANK=rank whose command line contains marker."""
    for proc in Path("/proc").iterdir():
        try:
            if marker in (proc / "cmdline").read_bytes().decode(errors="replace") and \
                    f"RANK={rank}".encode() in (proc / "environ").read_bytes().split(b"\0"):
                return int(proc.name)
        except (OSError, ValueError):
            continue
    return None


def start_and_kill_rank_1(out: Path, steps: int = 100000, extra=()):
    """Start a 2-rank run, wait for its first checkpoint, SIGKILL rank 1; the torchrun process
    (its output goes to out.log)."""
    command = torchrun(ROOT / "train.py", *TINY_RUN, "--steps", steps, "--checkpoint-every", "20",
                       "--dist-timeout", "30", "--out", out, extra=extra)
    log = open(f"{out}.log", "w")
    job = subprocess.Popen(command, env=ENV, stdout=log, stderr=subprocess.STDOUT, text=True)
    deadline = time.monotonic() + 120
    while not (out / "checkpoint.safetensors").is_file():
        assert job.poll() is None and time.monotonic() < deadline, Path(f"{out}.log").read_text()[-2000:]
        time.sleep(0.1)
    pid = rank_pid(str(out), 1)
    assert pid is not None
    os.kill(pid, signal.SIGKILL)
    return job, time.monotonic()


@pytest.mark.skipif(not Path("/proc/self/environ").exists(), reason="finds the rank's process through /proc")
def test_a_killed_rank_ends_the_job_with_a_clear_message_then_it_resumes_on_one_process(tmp_path):
    out = tmp_path / "run"
    job, killed = start_and_kill_rank_1(out)
    job.wait(timeout=90)
    output = Path(f"{out}.log").read_text()
    assert job.returncode != 0 and time.monotonic() - killed < 35  # within --dist-timeout 30 and torchrun's grace
    assert "lost the other ranks" in output or "stopped at step" in output, output[-2000:]
    assert "resume with --resume" in output
    step = json.loads((out / "log.jsonl").read_text().splitlines()[-1])["step"]

    resumed = subprocess.run([sys.executable, str(ROOT / "train.py"), "--resume", str(out), "--steps", str(step + 5)],
                             env=ENV, capture_output=True, text=True, timeout=120)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert json.loads((out / "log.jsonl").read_text().splitlines()[-1])["step"] == step + 5


@pytest.mark.slow  # 16 s: a killed rank and torchrun's restart (the killed-rank test covers the message)
@pytest.mark.skipif(not Path("/proc/self/environ").exists(), reason="finds the rank's process through /proc")
def test_an_elastic_restart_resumes_from_the_last_checkpoint(tmp_path):
    out = tmp_path / "run"
    job, _ = start_and_kill_rank_1(out, steps=100, extra=["--max-restarts=1"])
    assert job.wait(timeout=180) == 0, Path(f"{out}.log").read_text()[-3000:]
    output = Path(f"{out}.log").read_text()
    assert "elastic restart 1: resuming from" in output
    resumed_at = [int(m) for m in re.findall(r"step (\d+) -> 100", output)]
    assert resumed_at[0] == 0 and len(resumed_at) == 2 and resumed_at[1] > 0 and resumed_at[1] % 20 == 0
    steps = [json.loads(line)["step"] for line in (out / "log.jsonl").read_text().splitlines()]
    assert steps[-1] == 100 and set(steps) == set(range(1, 101))
    assert all(b == a + 1 or b == resumed_at[1] + 1 for a, b in zip(steps, steps[1:]))  # back to the checkpoint


def test_auto_compiles_only_for_one_cuda_process():
    from gan_core.training.loop import compile_mode

    assert compile_mode("auto", torch.device("cpu")) == ""
    assert compile_mode("auto", torch.device("cuda"), Ranks(0, 2)) == ""
    assert compile_mode("off", torch.device("cuda")) == ""
    assert compile_mode("default", torch.device("cpu")) == "default"
