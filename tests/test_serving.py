"""What the studio serves: only listed model folders (and Hub ids), session files kept apart and
deleted, the slider adapter, the Markdown escaping of user text, and logged internal errors."""
import json
import logging
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import gradio as gr
import pytest
import torch

from gan_core.model.checkpoints import CheckpointError
from gan_core.editing.directions import DIRECTIONS_INFO, save_directions, sefa
from gan_core.editing.face import Face
from studio.model_store import HUB, ModelStore, release_folders
from studio.session_files import bound_total, end_session, session_folder

ROOT = Path(__file__).resolve().parents[1]


def test_release_folders_under_checkpoints_and_runs_are_listed_by_name(tmp_path, tiny_gan_folder):
    runs = tmp_path / "runs"
    shutil.copytree(tiny_gan_folder, runs / "anime" / "export")
    (runs / "anime" / "samples").mkdir()  # not a release folder
    (runs / "half").mkdir()
    (runs / "half" / "config.json").write_text("{}")  # no weights: not listed
    assert release_folders(runs) == [runs / "anime" / "export"]
    store = ModelStore({"Tiny": tiny_gan_folder}, roots=(runs,), device="cpu")
    assert store.names == ["Tiny", "runs/anime/export"]
    assert store.get("runs/anime/export").config.nz == 16
    for typed in (str(tiny_gan_folder), str(runs / "anime" / "export"), "../runs/anime/export", "/etc", ""):
        with pytest.raises(CheckpointError) as info:
            store.get(typed)
        assert str(tmp_path) not in str(info.value)


def test_a_hub_key_never_opens_a_folder(tmp_path, tiny_gan_folder):
    store = ModelStore({}, device="cpu")
    for typed in (str(tiny_gan_folder), "../x", "/etc/passwd", "~/models", "a/b/c"):
        with pytest.raises(CheckpointError) as info:
            store.get(HUB + typed)
        assert "repo id" in str(info.value) and str(tmp_path) not in str(info.value)


def test_broken_hub_extras_name_the_repo_not_the_cache(tmp_path, tiny_gan_folder, monkeypatch):
    import huggingface_hub.constants as constants

    from tests.test_checkpoints import populate_cache

    cache = tmp_path / "hf-cache"
    cache.mkdir()
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(cache))
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    torch.manual_seed(0)
    save_directions(tiny_gan_folder, sefa(load_tiny(tiny_gan_folder).G, 2))
    info = json.loads((tiny_gan_folder / DIRECTIONS_INFO).read_text())
    info["directions"][0]["key"] = "missing"
    (tiny_gan_folder / DIRECTIONS_INFO).write_text(json.dumps(info))
    populate_cache(cache, "owner/broken", tiny_gan_folder)
    store = ModelStore({}, device="cpu")
    with pytest.raises(CheckpointError) as err:
        store.directions(HUB + "owner/broken")
    assert "owner/broken" in str(err.value) and str(cache) not in str(err.value)


def test_a_broken_encoder_breaks_only_the_encoder(tiny_gan_folder, monkeypatch):
    import studio.model_store as model_store
    from gan_core.analysis.attributes import AttributeClassifier, AttributeNet
    from gan_core.photos.encoder import ENCODER_NAME

    torch.manual_seed(0)
    save_directions(tiny_gan_folder, sefa(load_tiny(tiny_gan_folder).G, 2), {"sliders": ["SeFa 1"]})
    AttributeClassifier(("Smiling",), AttributeNet(1, width=4), image_size=32, width=4).save(tiny_gan_folder)
    (tiny_gan_folder / ENCODER_NAME).write_bytes(b"not a safetensors file")
    opened = []
    load_encoder = model_store.load_encoder
    monkeypatch.setattr(model_store, "load_encoder", lambda *args: opened.append(args) or load_encoder(*args))
    store = ModelStore({"tiny": tiny_gan_folder}, device="cpu")
    assert list(store.directions("tiny")) == ["SeFa 1", "SeFa 2"] and store.sliders("tiny") == ["SeFa 1"]
    assert store.classifier("tiny").names == ("Smiling",)
    assert opened == []  # the directions and the classifier never open the encoder
    with pytest.raises(CheckpointError):
        store.encoder("tiny")
    assert len(opened) == 1
    assert list(store.directions("tiny")) == ["SeFa 1", "SeFa 2"] and store.classifier("tiny") is not None


def load_tiny(folder):
    from gan_core.model.checkpoints import load_gan
    return load_gan(folder, "cpu")


def test_session_files_are_private_bounded_and_deleted(tmp_path):
    alice, bob = SimpleNamespace(session_hash="alice"), SimpleNamespace(session_hash="../bob")
    first = session_folder(alice, "morph", root=tmp_path)
    (first / "morph.mp4").write_bytes(b"x" * 1000)
    folders = [session_folder(alice, "morph", root=tmp_path) for _ in range(5)]
    assert not first.exists() and all(f.exists() for f in folders[-4:])  # a session keeps its last 4
    theirs = session_folder(bob, "morph", root=tmp_path)
    assert theirs.parent == tmp_path / "bob"  # a session id never becomes a path elsewhere
    end_session(alice, root=tmp_path)
    assert not (tmp_path / "alice").exists() and theirs.exists()
    (theirs / "big.bin").write_bytes(b"x" * 5000)
    os.utime(theirs, (time.time() - 3600, time.time() - 3600))
    bound_total(tmp_path, limit=1000)
    assert not theirs.exists()


def test_the_slider_adapter_builds_the_face(monkeypatch):
    from studio.session import Sliders
    from studio.state import CONFIG

    dims, values = list(range(CONFIG.slots)), [0.0] * CONFIG.slots
    values[2] = 1.5
    names, offsets = ["Age", None, None, None][:CONFIG.named_slots], [2.0, 0.0, 0.0, 0.0][:CONFIG.named_slots]
    face = Sliders.read([*dims, *values, *names, *offsets]).face(Face(z=[0.0] * 100))
    assert face.z == (0.0,) * 100 and face.nonzero_edits == {2: 1.5} and face.nonzero_moves == {"Age": 2.0}
    with pytest.raises(ValueError, match="between -5 and 5"):
        Sliders.read([*dims, *[9.0] * CONFIG.slots, *names, *offsets]).face(Face(seed=1))


def test_user_text_is_escaped_for_markdown():
    from studio.state import md

    shown = md("**bold** <img src=x onerror=alert(1)> [link](http://x)")
    assert "<img" not in shown and "\\*\\*bold" in shown and "\\[link\\]" in shown


def test_errors_by_type_a_user_error_is_a_message_and_a_bug_is_logged(caplog):
    from gan_core.errors import UserError
    from studio.state import friendly
    from tests.test_i18n import in_language

    @friendly
    def careless():
        raise UserError("seed_whole", got="x")

    @friendly
    def refused():
        raise gr.Error("pick a model first")

    @friendly
    def buggy():
        raise ValueError("expected uint8 pixels, got float32")  # gan_core's own bug (media.as_hwc)

    @friendly
    def broken():
        raise KeyError("oops")

    with pytest.raises(gr.Error, match="a seed must be a whole number, got 'x'"):
        careless()  # English without a page (API clients)
    with pytest.raises(gr.Error, match="种子必须是整数，而不是 'x'"):
        in_language("zh-CN", careless)
    with pytest.raises(gr.Error, match="a seed must be a whole number"):
        in_language("en", careless)
    with pytest.raises(gr.Error, match="pick a model first"):
        refused()  # the studio's own refusals pass through
    assert "internal error" not in caplog.text
    for bug, name, kind in ((buggy, "buggy", "ValueError"), (broken, "broken", "KeyError")):
        caplog.clear()
        with caplog.at_level(logging.ERROR, logger="studio"), pytest.raises(gr.Error, match="Internal error") as info:
            bug()
        assert "uint8" not in str(info.value) and "oops" not in str(info.value)  # the note, not the bug's text
        assert f"internal error in {name}" in caplog.text and kind in caplog.text
        assert caplog.records[-1].exc_info is not None  # logged with its traceback
    with pytest.raises(gr.Error, match="内部错误"):
        in_language("zh-CN", buggy)


def test_nothing_about_a_photo_is_logged_not_even_by_a_bug(tmp_path, caplog):
    import numpy as np
    from PIL import Image

    from studio.photos import read_photos
    from studio.session import Session
    from studio.state import friendly

    @friendly(private=True)
    def photo_bug(path):
        raise OSError(f"cannot read {path}")

    Image.fromarray(np.full((40, 40, 3), 9, np.uint8)).save(tmp_path / "alice-smith.png")
    (tmp_path / "bob-jones.png").write_bytes(b"\x89PNG not really")
    with caplog.at_level(logging.DEBUG):
        with pytest.raises(gr.Error, match="Internal error"):
            photo_bug(str(tmp_path / "carol-white.jpg"))
        with pytest.raises(gr.Error, match="bob-jones.png") as told:  # told to its sender, on the page
            read_photos(Session(), [str(tmp_path / "alice-smith.png"), str(tmp_path / "bob-jones.png")], None)
        assert told.value.print_exception is False  # and not printed in the server's log by Gradio
        with pytest.raises(gr.Error, match="alice-smith.png is no longer on the server"):
            read_photos(Session(), [str(tmp_path / "alice-smith.png")], None)  # read once, then deleted
    assert "internal error in photo_bug: OSError" in caplog.text and "raise OSError" in caplog.text  # the frames
    assert not any(name in caplog.text for name in ("alice", "bob", "carol", str(tmp_path)))


def test_errors_quote_a_short_excerpt_escaped_and_long_texts_are_refused_before_work():
    from gan_core.errors import MAX_QUOTE, UserError
    from gan_core.model.latent import check_seed
    from studio.state import MAX_TEXT, friendly
    from tests.test_i18n import in_language

    calls = []

    @friendly
    def parse(text):
        calls.append(text)
        check_seed(text)

    huge = "<a href='http://x'>Session expired, click</a>" + "9" * (MAX_TEXT - 60)
    for lang in ("en", "zh-CN"):
        with pytest.raises(gr.Error) as info:
            in_language(lang, lambda: parse(huge))
        message = info.value.message
        assert len(message) < MAX_QUOTE + 100 and "<a" not in message and "&lt;a href=" in message
    assert len(calls) == 2
    with pytest.raises(gr.Error, match="no text may be longer than 10000 characters"):
        parse("1" * (MAX_TEXT + 1))
    with pytest.raises(gr.Error, match="10000"):
        parse(["1", "2" * (MAX_TEXT + 1)])
    assert len(calls) == 2  # refused before the handler ran

    @friendly
    def refused(name):
        raise gr.Error(f"no direction named {name}")

    with pytest.raises(gr.Error) as info:
        refused("<img src=http://x/y.png>")
    assert info.value.message == "no direction named &lt;img src=http://x/y.png&gt;"
    assert len(str(UserError("seed_whole", got="x" * 10 ** 6))) < MAX_QUOTE + 60


def test_the_step_note_says_what_changed_and_what_pixel_steps_are():
    import numpy as np

    from studio.discriminator_tab import new_path, step_note, steps_outputs
    from studio.session import Session

    face = np.full((8, 8, 3), 100, np.uint8)
    session = Session(subject={"image": face}, steps=new_path(face, 0.2))
    assert "Step 0: D says 0.200" in steps_outputs(session)[4]
    path = {**new_path(face, 0.2), "images": [face, face + 1], "probs": [0.2, 0.3]}
    note = step_note("pixels", 1, path, 0.2, restarted=False)
    assert "1.0 grey levels" in note and "from 0.200 to 0.300" in note and "adversarial example" in note
    path = {**path, "images": [face, face + 20], "probs": [0.2, 0.5, 0.9]}
    note = step_note("z", 2, path, 0.5, restarted=False)
    assert "changed by 20.0 grey levels" in note and "0.500 \u2192 0.900" in note and "adversarial" not in note


def test_found_photos_become_morph_keyframes():
    from gan_core.editing.face import parse_faces
    from studio.photos import photos_to_keyframes
    from studio.session import Session

    found = [Face(z=[0.1] * 100), Face(z=[-0.2] * 100)]
    faces = parse_faces(photos_to_keyframes(Session(found=found)))
    assert [f.z[0] for f in faces] == [0.1, -0.2]
    with pytest.raises(gr.Error, match="at least two photos"):
        photos_to_keyframes(Session(found=found[:1]))


def test_an_uploaded_photo_is_read_once_and_its_file_deleted(tmp_path):
    import numpy as np
    from PIL import Image

    from studio.photos import read_photos
    from studio.session import Session

    paths = []
    for name in ("a.png", "b.jpg"):
        Image.fromarray(np.full((120, 90, 3), 200, np.uint8)).save(tmp_path / name)
        paths.append(str(tmp_path / name))
    kept = read_photos(Session(), paths, None).photos
    assert [(p.number, p.image.shape) for p in kept] == [(1, (120, 90, 3)), (2, (120, 90, 3))]
    assert not any((tmp_path / n).exists() for n in ("a.png", "b.jpg"))  # only the session's memory has them
    Image.fromarray(np.full((50, 60, 3), 90, np.uint8)).save(tmp_path / "same.png")
    twice = read_photos(Session(), [str(tmp_path / "same.png")] * 2, None)  # one upload sent twice: one photo
    assert [p.number for p in twice.photos] == [1] and not (tmp_path / "same.png").exists()
    batch = []
    for i in range(9):
        Image.fromarray(np.full((40, 40, 3), 9 * i, np.uint8)).save(tmp_path / f"x{i}.png")
        batch.append(str(tmp_path / f"x{i}.png"))
    with pytest.raises(gr.Error, match="at most 8 photos"):
        read_photos(Session(), batch, None)
    assert not list(tmp_path.iterdir())  # a refused batch leaves no file behind either
    (tmp_path / "broken.png").write_bytes(b"\x89PNG not really")
    Image.fromarray(np.full((40, 40, 3), 7, np.uint8)).save(tmp_path / "fine.png")
    with pytest.raises(gr.Error, match="photo 1"):
        read_photos(Session(), [str(tmp_path / "broken.png"), str(tmp_path / "fine.png")], None)
    assert not list(tmp_path.iterdir())


def test_idle_sessions_end_and_all_sessions_hold_at_most_a_budget(tmp_path, monkeypatch):
    import datetime
    import threading
    from collections import OrderedDict

    import numpy as np

    from studio import session_bounds
    from studio.session import Photo, Session

    monkeypatch.setattr(session_bounds, "ROOT", tmp_path)
    now = datetime.datetime(2026, 1, 1, 12, 0, 0)
    holder = SimpleNamespace(lock=threading.Lock(), session_data=OrderedDict(), time_last_used={})
    ages = {"idle": 3 * 3600, "old": 600, "middle": 300, "new": 10}
    for sid, age in ages.items():
        session = Session(model="")
        session.photos = [Photo(1, np.zeros((800, 800, 3), np.uint8))]  # 1.92 MB
        holder.session_data[sid] = SimpleNamespace(state_data={7: session})
        holder.time_last_used[sid] = now - datetime.timedelta(seconds=age)
        (tmp_path / sid).mkdir()
    each = session_bounds.SESSION_BASE + 800 * 800 * 3
    assert session_bounds.footprint(holder.session_data["new"].state_data) == 800 * 800 * 3
    ended = session_bounds.sweep(holder, idle=3600, budget=2 * each + 1, now=now)
    assert ended == ["idle", "old"] and list(holder.session_data) == ["middle", "new"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["middle", "new"]  # their files went with them
    assert session_bounds.sweep(holder, idle=3600, budget=0, now=now, busy={"middle"}) == []  # its render runs on
    assert session_bounds.sweep(holder, idle=0, budget=0, now=now, busy={"middle", "new"}) == []  # idle, but busy
    assert session_bounds.sweep(holder, idle=3600, budget=0, now=now) == ["middle"]  # the recent one stays
    assert list(holder.time_last_used) == ["new"]
    event = SimpleNamespace(session_hash="new")
    assert session_bounds.busy_sessions(SimpleNamespace(_queue=SimpleNamespace(event_ids_to_events={"e": event}))) == {"new"}
    assert session_bounds.busy_sessions(SimpleNamespace()) == set()


def test_a_new_session_builds_its_blocks_configs_only_as_it_uses_them():
    import gradio as gr
    from gradio.state_holder import SessionState

    from studio.session_bounds import lean_sessions

    with gr.Blocks() as demo:
        state = gr.State(5)
        boxes = [gr.Textbox(f"box {i}") for i in range(30)]
        gr.Dropdown(["a", "b"], value="a")
    eager = SessionState(demo)
    lean_sessions()
    lean_sessions()  # twice is once
    session = SessionState(demo)
    assert dict.__len__(session.config_values) == 0  # nothing built yet (Gradio builds all: 0.6 MB on our page)
    session._update_value_in_config(boxes[3]._id, "typed")  # an event's output
    session[state._id] = 6
    assert session[state._id] == 6 and dict.__len__(session.config_values) == 2
    shown = {c["id"]: c for c in session.components}  # deep links: every block, as Gradio would list them
    assert shown.keys() == {c["id"] for c in eager.components}
    assert shown[boxes[3]._id]["props"]["value"] == "typed" and shown[boxes[4]._id]["props"]["value"] == "box 4"


def test_each_studio_owns_its_temp_folder_and_cleans_what_dead_ones_left(tmp_path):
    import os
    import subprocess
    import sys

    from studio import session_files, state

    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    for name in ("1", str(os.getpid()), dead.stdout.strip(), "old-session"):  # pid 1 is always running
        (tmp_path / name / "sessions").mkdir(parents=True)
    session_files.clear_all(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["1"]  # a running studio's folder is not touched
    assert session_files.ROOT.parent == session_files.INSTANCE == session_files.BASE / str(os.getpid())
    assert state.LIVE.work_dir == session_files.LIVE_ROOT  # a live run killed with the app is cleaned next start


def test_uploads_are_bounded_by_a_clients_rate_and_the_caches_total(tmp_path, monkeypatch):
    from starlette.applications import Starlette
    from starlette.middleware import Middleware
    from starlette.responses import JSONResponse
    from starlette.routing import Route
    from starlette.testclient import TestClient

    from studio import upload_gate

    async def upload(request):
        return JSONResponse([len(await request.body())])

    app = Starlette(routes=[Route("/gradio_api/upload", upload, methods=["POST"]),
                            Route("/gradio_api/info", lambda r: JSONResponse({}))],
                    middleware=[Middleware(upload_gate.UploadGate, rate=3000, window=60)])
    with TestClient(app) as client:
        sent = [client.post("/gradio_api/upload", content=b"x" * 1000).status_code for _ in range(4)]
        assert sent == [200, 200, 200, 429]
        assert "Too many uploads" in client.post("/gradio_api/upload", content=b"x").json()["error"]
        other = client.post("/gradio_api/upload", content=b"x" * 1000, headers={"X-Forwarded-For": "10.0.0.9"})
        assert other.status_code == 200  # another client's budget is its own
        assert client.get("/gradio_api/info").status_code == 200  # only uploads are gated
        monkeypatch.setattr(upload_gate.CACHE, "full", True)
        assert client.post("/gradio_api/upload", content=b"x", headers={"X-Forwarded-For": "10.1.1.1"}).status_code \
            == 507

    old, new = tmp_path / "a" / "old.png", tmp_path / "b" / "new.png"
    for path, age in ((old, 600), (new, 0)):
        path.parent.mkdir()
        path.write_bytes(b"x" * 1000)
        os.utime(path, (time.time() - age,) * 2)
    assert upload_gate.bound_cache(tmp_path, limit=1500) == 1000 and not old.exists() and new.exists()
    assert not upload_gate.CACHE.full
    assert upload_gate.bound_cache(tmp_path, limit=500) == 1000 and upload_gate.CACHE.full  # too new to go
    assert upload_gate.bound_cache(tmp_path, limit=500, grace=0) == 0 and not upload_gate.CACHE.full


def test_a_render_runs_in_its_own_thread_at_a_lower_priority_and_keeps_its_context():
    import contextvars
    import os
    import sys
    import threading

    from studio.priority import NICE, lowered

    asked = contextvars.ContextVar("asked", default="")

    @lowered
    def render(frames, *, size):
        tid = threading.get_native_id()
        return threading.get_native_id(), os.getpriority(os.PRIO_PROCESS, tid), asked.get(), frames * size

    @lowered
    def broken():
        raise ValueError("a render's own error")

    asked.set("progress bar")
    here = threading.get_native_id()
    mine = os.getpriority(os.PRIO_PROCESS, here)
    tid, nice, seen, out = render(3, size=2)
    assert out == 6 and seen == "progress bar" and tid != here  # Gradio's progress bar lives in the context
    if sys.platform.startswith("linux"):
        assert nice == min(19, mine + NICE)
    assert os.getpriority(os.PRIO_PROCESS, here) == mine  # the server's worker keeps its priority
    with pytest.raises(ValueError, match="own error"):
        broken()


FREES_LEAVE = """
import os, sys
import numpy as np
from studio import allocator

def resident():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")

assert allocator.tune()
before = resident()
frames = [np.ones((512, 512, 3), np.uint8) for _ in range(120)]  # 94 MB of frames, each touched
held = resident() - before
del frames
allocator.give_back()
print(held, resident() - before)
"""


def test_memory_a_render_frees_leaves_the_process():
    """Measured in a process of its own: the test's process has servers' threads allocating beside it."""
    from studio import allocator

    if allocator.LIBC is None:
        pytest.skip("glibc's allocator only")
    out = subprocess.run([sys.executable, "-c", FREES_LEAVE], cwd=ROOT, capture_output=True, text=True,
                         timeout=120, check=True).stdout
    held, left = map(int, out.split())
    assert held > 80e6 and left < 20e6, (held, left)
