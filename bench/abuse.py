"""One abusive client against a started studio: what each attack costs the server, and whether the
normal clients still get their faces.

    $ python bench/abuse.py                      # ~5-10 minutes on a 2-core CPU
    $ python bench/abuse.py --sessions 300 --photo-sessions 6 --renders 6   # a shorter run

The app runs as its own process (`python app.py`, its own GRADIO_TEMP_DIR) on loopback; the attacks
go through gradio_client and plain HTTP, one after another:
  texts     20 keyframe texts of 10 MB each, with the page's language set to Chinese
  camera    4 camera pictures at once, each a 13000x13000 PNG header (the pixels would take 676 MB)
  sessions  N trivial API sessions (one /face call each) that never close
  photos    M sessions with 8 photos each, found in the model (tuned weights kept in the session);
            then a broken photo, and one photo sent twice in one batch
  renders   K of the largest renders (600 frames at MAX_SIZE px) at once across /morph, /morph_mp4,
            /morph_gif and /walk, while 16 normal clients call /face; their p95 against the same
            clients without the flood
  uploads   30 uploads of 9.7 MB as fast as they go, calling no endpoint
  html      face math with HTML in its text: what the error message shows
Measured: the app's resident memory (idle, peak, after), what its temp folders and Gradio's cache
hold against their bounds, that it still answers, and how often the photos' file names appear in
its log (never, is the promise). The training files' checks (a bad log line,
edited or partial checkpoints, --batch-size, a full disk) are covered by tests/test_training.py.
"""
from __future__ import annotations

import argparse
import io
import json
import os
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
import uuid
import zlib
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
FACES = "Faces (CelebA 64x64)"
PHOTO_NAME = "visitor-photo-"  # the photos' file names start so: none may appear in the app's log
MB = 1e6


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rss(pid: int) -> float:
    """Resident memory of `pid` and its children, MB."""
    total = 0
    for p in [pid, *children(pid)]:
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1]) * 1024
        except OSError:
            pass
    return total / MB


def children(pid: int) -> list[int]:
    try:
        return [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def folder_bytes(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file()) if folder.is_dir() else 0


class Peak(threading.Thread):
    """The largest resident memory of a process, polled every 0.2 s."""

    def __init__(self, pid: int):
        super().__init__(daemon=True)
        self.pid, self.peak, self.stop = pid, 0.0, threading.Event()
        self.start()

    def run(self):
        while not self.stop.is_set():
            self.peak = max(self.peak, rss(self.pid))
            time.sleep(0.2)


def png_header_only(width: int, height: int, colour_type: int = 6) -> bytes:
    """A tiny PNG whose header says width x height (RGBA by default): a decoder would allocate it all."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, colour_type, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b""))


def photo_png(seed: int) -> bytes:
    """A small face-like photo: a shipped face pasted on a plain background (the face finder finds it)."""
    from PIL import Image

    from gan_core.model.checkpoints import load_gan
    from gan_core.model.latent import z_from_seeds
    from gan_core.photos.align import paste

    gan = load_gan(ROOT / "checkpoints" / "celeba64", device="cpu")
    face = gan.generate(z_from_seeds([seed], gan.config.nz))[0]
    photo, _ = paste(face, np.random.default_rng(seed), canvas=320, scales=(2.5, 3.0), degrees=5)
    buffer = io.BytesIO()
    Image.fromarray(photo).save(buffer, "PNG")
    return buffer.getvalue()


def client(url: str, **kwargs):
    from gradio_client import Client

    return Client(url, verbose=False, httpx_kwargs={"timeout": 300}, **kwargs)  # the server is busy on purpose


def refused(fn) -> str:
    """The message a call was refused with ('' if it was not)."""
    try:
        fn()
    except Exception as err:  # gradio_client raises AppError with the server's message
        return str(err)[:160]
    return ""


def attack_texts(url: str) -> dict:
    c = client(url, headers={"Cookie": "studio-lang=zh-CN"})
    text = "1, " * (10 * 2**20 // 3)
    messages = [refused(lambda: c.predict(text, 24, 24, "slerp", "ease-in-out", False, 256, True,
                                          api_name="/morph_mp4")) for _ in range(20)]
    c.close()
    return {"refused": sum(bool(m) for m in messages), "of": 20, "message": messages[0]}


def attack_camera(url: str, folder: Path) -> dict:
    from gradio_client import handle_file

    path = folder / "huge.png"
    path.write_bytes(png_header_only(13000, 13000))

    def one(_):
        c = client(url)
        try:
            return refused(lambda: c.predict(None, handle_file(str(path)), api_name="/add_photos"))
        finally:
            c.close()
    with ThreadPoolExecutor(4) as pool:
        messages = list(pool.map(one, range(4)))
    return {"refused": sum(bool(m) for m in messages), "of": 4, "message": messages[0]}


def attack_sessions(url: str, count: int) -> dict:
    c = client(url)
    t0 = time.perf_counter()
    for i in range(count):
        c.session_hash = uuid.uuid4().hex[:11]  # a new session each call, never closed
        c.predict({"seed": i}, api_name="/face")
    c.close()
    return {"sessions": count, "seconds": round(time.perf_counter() - t0, 1)}


def attack_photos(url: str, sessions: int, folder: Path) -> dict:
    from gradio_client import handle_file

    files = []
    for i in range(8):
        files.append(folder / f"{PHOTO_NAME}{i}.png")
        files[-1].write_bytes(photo_png(i))
    c = client(url)
    sent, found, t0 = 0, 0, time.perf_counter()
    for _ in range(sessions):
        c.session_hash = uuid.uuid4().hex[:11]
        # the files box's files are read once and deleted on the server: each session uploads its own
        c.predict([handle_file(str(p)) for p in files], None, api_name="/add_photos")
        sent += sum(p.stat().st_size for p in files)
        out = c.predict(api_name="/find_photos")
        found += len(out[2]) // 3 if isinstance(out, (list, tuple)) and len(out) > 2 else 0  # 3 pictures a face
    broken = folder / f"{PHOTO_NAME}broken.png"
    broken.write_bytes(b"\x89PNG not a picture")
    c.session_hash = uuid.uuid4().hex[:11]
    broken_message = refused(lambda: c.predict([handle_file(str(broken))], None, api_name="/add_photos"))
    c.session_hash = uuid.uuid4().hex[:11]  # the same photo twice in one batch: one photo, no error
    twice = refused(lambda: c.predict([handle_file(str(files[0]))] * 2, None, api_name="/add_photos"))
    twice_found = c.predict(api_name="/find_photos") if not twice else None
    c.close()
    return {"sessions": sessions, "photos_uploaded_mb": round(sent / MB, 1), "faces_found": found,
            "seconds": round(time.perf_counter() - t0, 1), "broken_photo": broken_message,
            "same_photo_twice": twice or f"accepted, {len(twice_found[2]) // 3} face found"}


def face_times(url: str, clients: int = 16, calls: int = 12) -> list[float]:
    def one(k):
        c = client(url)
        out = []
        for i in range(calls):
            t0 = time.perf_counter()
            c.predict({"seed": 100 * k + i}, api_name="/face")
            out.append(time.perf_counter() - t0)
        c.close()
        return out
    with ThreadPoolExecutor(clients) as pool:
        return [t for ts in pool.map(one, range(clients)) for t in ts]


def attack_renders(url: str, renders: int) -> dict:
    from gan_core.data.media import MAX_FRAMES
    from gan_core.editing.morph import MAX_SIZE

    quiet = face_times(url)
    per = MAX_FRAMES // 5  # 5 segments of a looped 5-keyframe morph: the longest render, at the largest size
    morph = ("0, 7, 42, 99, 5", per, 24, "slerp", "ease-in-out", True, MAX_SIZE, True)
    calls = [("/morph", morph), ("/morph_mp4", morph), ("/morph_gif", morph),
             ("/walk", ("Age, gender kept", 3, per, 24, "ease-in-out", True, MAX_SIZE, True))]
    done: list[str] = []

    def flood(i):
        name, args = calls[i % len(calls)]
        c = client(url)
        t0 = time.perf_counter()
        message = refused(lambda: c.predict(*args, api_name=name))
        c.close()
        done.append(f"{name}: {'refused: ' + message if message else 'rendered'} in {time.perf_counter() - t0:.0f} s")
    pool = ThreadPoolExecutor(renders)
    futures = [pool.submit(flood, i) for i in range(renders)]
    time.sleep(3)  # the flood under way
    loud = face_times(url)
    for f in futures:
        f.result()
    pool.shutdown()
    p95 = lambda ts: float(np.percentile(ts, 95))  # noqa: E731
    return {"renders": renders, "face_p95_quiet_s": round(p95(quiet), 3), "face_p95_flooded_s": round(p95(loud), 3),
            "ratio": round(p95(loud) / p95(quiet), 2), "face_median_flooded_s": round(float(np.median(loud)), 3),
            "renders_done": sorted(done)}


def attack_uploads(url: str) -> dict:
    body = os.urandom(int(9.7 * 2**20))
    codes = []
    t0 = time.perf_counter()
    for i in range(30):
        boundary = uuid.uuid4().hex
        data = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"files\"; filename=\"x{i}.png\"\r\n"
                f"Content-Type: image/png\r\n\r\n").encode() + body + f"\r\n--{boundary}--\r\n".encode()
        request = urllib.request.Request(url + "gradio_api/upload", data=data, method="POST",
                                         headers={"Content-Type": f"multipart/form-data; boundary={boundary}"})
        try:
            with urllib.request.urlopen(request, timeout=60) as answer:
                codes.append(answer.status)
        except urllib.error.HTTPError as err:
            codes.append(err.code)
        except (urllib.error.URLError, ConnectionError):  # refused before the body was read: the server
            codes.append("closed")                         # answers at once and closes while it is sent
    return {"uploads": 30, "accepted": codes.count(200), "refused_429": codes.count(429),
            "refused_507": codes.count(507), "closed_early": codes.count("closed"),
            "seconds": round(time.perf_counter() - t0, 1)}


def attack_html(url: str) -> dict:
    c = client(url)
    message = refused(lambda: c.predict("<img src=http://example.invalid/x.png>", "1", "2", api_name="/face_math"))
    c.close()
    return {"message": message, "html_shown_as_text": "<img" not in message}


ATTACKS = ("texts", "camera", "sessions", "photos", "renders", "uploads", "html")


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--sessions", type=int, default=1000)
    p.add_argument("--photo-sessions", type=int, default=20)
    p.add_argument("--renders", type=int, default=12)
    p.add_argument("--attacks", default=",".join(ATTACKS), help="which attacks, in this order (a comma list)")
    p.add_argument("--out", default=str(ROOT / "bench" / "results" / "abuse.json"))
    args = p.parse_args(argv)
    chosen = [a.strip() for a in args.attacks.split(",") if a.strip()]
    if not chosen or set(chosen) - set(ATTACKS):
        p.error(f"--attacks: a comma list of {', '.join(ATTACKS)}")

    from studio.session_bounds import BUDGET
    from studio.session_files import BASE, MAX_TOTAL
    from studio.upload_gate import CACHE_BYTES

    work = Path(tempfile.mkdtemp(prefix="dcgan-abuse-"))
    cache = work / "gradio"
    port = free_port()
    url = f"http://127.0.0.1:{port}/"
    env = {**os.environ, "GRADIO_SERVER_PORT": str(port), "GRADIO_SERVER_NAME": "127.0.0.1",
           "GRADIO_ANALYTICS_ENABLED": "False", "GRADIO_TEMP_DIR": str(cache), "HF_HUB_OFFLINE": "1"}
    log = open(work / "app.log", "w")
    app = subprocess.Popen([sys.executable, "app.py"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    results: dict = {}
    try:
        t0 = time.perf_counter()
        while True:
            try:
                client(url).predict({"seed": 1}, api_name="/face")
                break
            except Exception:
                if app.poll() is not None or time.perf_counter() - t0 > 180:
                    raise SystemExit(f"the app did not start; see {work / 'app.log'}")
                time.sleep(0.5)
        time.sleep(2)
        idle = rss(app.pid)
        peak = Peak(app.pid)
        print(f"idle: {idle:.0f} MB")
        attacks = {"texts": lambda: attack_texts(url), "camera": lambda: attack_camera(url, work),
                   "sessions": lambda: attack_sessions(url, args.sessions),
                   "photos": lambda: attack_photos(url, args.photo_sessions, work),
                   "renders": lambda: attack_renders(url, args.renders),
                   "uploads": lambda: attack_uploads(url), "html": lambda: attack_html(url)}
        for name in chosen:
            attack = attacks[name]
            before = rss(app.pid)
            results[name] = {**attack(), "rss_before_mb": round(before), "rss_after_mb": round(rss(app.pid))}
            print(name, json.dumps(results[name]), flush=True)
        time.sleep(35)  # one sweep of the sessions and the cache
        alive = not refused(lambda: client(url).predict({"seed": 2}, api_name="/face"))
        peak.stop.set()
        after = rss(app.pid)
        instance = BASE / str(app.pid)
        log.flush()
        names_logged = (work / "app.log").read_text(errors="replace").count(PHOTO_NAME)
        results["summary"] = {
            "alive": alive, "idle_mb": round(idle), "peak_mb": round(peak.peak), "after_mb": round(after),
            "after_over_idle_mb": round(after - idle), "peak_over_idle_mb": round(peak.peak - idle),
            "session_budget_mb": round(BUDGET / MB),
            "temp_folder_mb": round(folder_bytes(instance) / MB, 1), "temp_bound_mb": round(MAX_TOTAL / MB),
            "gradio_cache_mb": round(folder_bytes(cache) / MB, 1), "cache_bound_mb": round(CACHE_BYTES / MB),
            "photo_names_in_log": names_logged}
        print("summary", json.dumps(results["summary"]))
        ratio = results.get("renders", {}).get("ratio", "-")
        print(f"targets: after - idle {after - idle:.0f} MB (<= 600), peak - idle {peak.peak - idle:.0f} MB (<= 1500), "
              f"/face p95 flooded / quiet {ratio}x (<= 2)")
    finally:
        app.terminate()
        try:
            app.wait(20)
        except subprocess.TimeoutExpired:
            app.kill()
        log.close()
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(json.dumps(results, indent=1) + "\n")
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
