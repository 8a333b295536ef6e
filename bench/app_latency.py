"""How fast does the studio answer? Ours against a bare Gradio app with no-op endpoints.

    $ python bench/app_latency.py                 # ~3 minutes on a 2-core CPU
    $ python bench/app_latency.py --repeats 30 --browser
    $ python bench/app_latency.py --drag-only --fast-drag   # the drag as fast as each page takes it

Both apps run as their own processes on loopback and are called through gradio_client. The bare
app's endpoints return outputs of the same types and sizes as ours, precomputed, so their time
is Gradio's own floor (queue, (de)serialisation, file handling); each action is reported as
ours, the floor, and ours over the floor. Also: cold start of `python app.py` to its first
answer, 16 concurrent clients moving sliders, and (with --browser) slider release to the new
image shown in Chromium.
"""
from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # bench/ is not a package
AGE = "Age, gender kept"
MORPH = ("0, 7, 42, 99, 5", 30, 24, "slerp", "ease-in-out", False, 256, True)  # 4 x 30 + 1 = 121 frames

# (label, api name, arguments, repeats divisor)
ACTIONS = [
    ("slider update", "/face", lambda i: ({"seed": 3, "edits": {"0": round(0.05 * (i % 40) - 1, 2)}},), 1),
    ("named slider (Age) update", "/face", lambda i: ({"seed": 3, "moves": {AGE: round(0.05 * (i % 40) - 1, 2)}},), 1),
    ("16-face gallery", "/gallery", lambda i: (i,), 1),
    ("dimension scanner page", "/scan", lambda i: (i % 12,), 1),  # of the session's current face
    ("ask D: probability + maps", "/ask", lambda i: ("A seed", i, None), 1),
    ("one click of steps through G (5 on z)", "/steps", lambda i: ("Through G: its input z", 5, 0.05), 1),
    ("face math + 3x3 grid", "/face_math", lambda i: ("47, 71, 83", "16, 18, 21", f"3, 19, {33 + i}"), 1),
    ("121-frame 256 px MP4", "/morph_mp4", lambda i: MORPH, 4),
    ("121-frame 256 px GIF", "/morph_gif", lambda i: MORPH, 4),
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def serve_noop(port: int) -> None:
    """The floor: endpoints with our endpoints' output types, returning precomputed values."""
    import gradio as gr

    from gan_core.data.media import make_grid, write_gif, write_mp4

    from gan_core.data.images import synthetic_images
    from gan_core.data.media import upscale

    # Smooth pictures like faces; each answer is a fresh image (np.roll), so Gradio encodes it
    # anew as it must for ours (a constant array is encoded once and then served from its cache).
    face = upscale(synthetic_images(1, 64, 3)[0].permute(1, 2, 0).numpy(), 256, smooth=True)
    thumb = face[::2, ::2]
    calls = iter(range(10**9))

    def fresh(image):
        return np.roll(image, next(calls) % image.shape[1], axis=1)

    scan = make_grid(np.repeat(face[None, ::2, ::2][:, :96, :96], 56, axis=0), nrow=7)
    grid = make_grid(np.repeat(face[None, :128, :128], 9, axis=0), nrow=3)
    frames = [np.roll(face, i, axis=1) for i in range(121)]
    folder = Path(tempfile.mkdtemp(prefix="noop-"))
    mp4, gif = str(write_mp4(frames, folder / "m.mp4", 24)), str(write_gif(frames, folder / "m.gif", 24))

    labels = {name: 0.5 for name in ("male", "young", "eyeglasses", "smiling", "blond hair", "black hair", "bald",
                                      "mustache", "wearing hat", "bangs", "heavy makeup", "no beard", "pale skin")}

    def probabilities(*_):
        import pandas as pd
        return pd.DataFrame({"step": [0, 1], "D(image)": [0.4, 0.41 + next(calls) % 7 / 1000]})

    def dragged(value):  # a fresh picture per value, the same for the same value (as ours)
        return np.roll(face, int(round(float(value) * 40)), axis=1)

    with gr.Blocks() as demo:
        for name, queue in (("queue", True), ("direct", False)):  # the drag floors: a slider and a 256 px face
            slider = gr.Slider(-3, 3, 0, step=0.05, elem_id=f"slider-{name}")
            shown = gr.Image(format="webp", height=300, elem_id=f"face-{name}")
            note = gr.Label()
            slider.input(dragged, slider, shown, trigger_mode="always_last", show_progress="hidden", queue=queue)
            slider.release(lambda v: (dragged(v), labels), slider, [shown, note], trigger_mode="always_last",
                           show_progress="hidden", queue=queue)
        args = [gr.Textbox() for _ in range(3)]  # takes numbers and names alike
        text = [gr.Textbox() for _ in range(3)]
        image, gallery, file, md = gr.Image(), gr.Gallery(), gr.File(), gr.Markdown()
        images = [gr.Image() for _ in range(3)]
        button = gr.Button()
        label = gr.Label(num_top_classes=5)
        button.click(lambda *a: (fresh(face), labels), gr.JSON(), [image, label], api_name="face")
        button.click(lambda a: [(fresh(thumb), f"seed {i}") for i in range(16)], args[0], gallery, api_name="gallery")
        button.click(lambda *a: (fresh(scan), "caption"), args[:1], [image, md], api_name="scan")
        button.click(lambda *a: (fresh(face), "### D says 0.417", fresh(face), fresh(face)), args[:3],
                     [images[0], md, images[1], images[2]], api_name="ask")
        plot = gr.LinePlot(x="step", y="D(image)")
        button.click(lambda *a: (fresh(face), fresh(face), probabilities(), "5 steps",
                                 [(fresh(thumb), "0: 0.42")]), args[:3],
                     [images[0], images[1], plot, md, gallery], api_name="steps")
        button.click(lambda *a: (fresh(face), fresh(grid), fresh(face), [(fresh(thumb), n) for n in "ABC"]), text,
                     [*images, gallery], api_name="face_math")
        morph_in = [text[0], *args[:2], text[1], text[2], gr.Checkbox(), args[2], gr.Checkbox()]
        button.click(lambda *a: mp4, morph_in, file, api_name="morph_mp4")
        button.click(lambda *a: gif, morph_in, file, api_name="morph_gif")
    demo.queue(default_concurrency_limit=4).launch(server_name="127.0.0.1", server_port=port, quiet=True)


def start(cmd: list[str], port: int) -> tuple[subprocess.Popen, float]:
    """Start a server process; seconds from spawn to its first answered /face call."""
    from gradio_client import Client

    env = {**os.environ, "GRADIO_SERVER_PORT": str(port), "GRADIO_SERVER_NAME": "127.0.0.1",
           "GRADIO_ANALYTICS_ENABLED": "False"}
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    while time.perf_counter() - t0 < 120:
        try:
            Client(f"http://127.0.0.1:{port}/", verbose=False).predict(*ACTIONS[0][2](0), api_name="/face")
            return proc, time.perf_counter() - t0
        except Exception:
            if proc.poll() is not None:
                raise SystemExit(f"{cmd} exited with {proc.returncode}")
            time.sleep(0.1)
    proc.kill()
    raise SystemExit(f"{cmd} did not answer within 120 s")


def timed(client, api_name, args) -> float:
    t = time.perf_counter()
    client.predict(*args, api_name=api_name)
    return time.perf_counter() - t


def pct(values, q) -> float:
    return float(np.percentile(np.asarray(values) * 1000, q))


def measure(clients: dict, repeats: int) -> dict:
    """Per action, ours and the floor interleaved (so both see the same machine state)."""
    out = {}
    for label, api_name, make_args, divisor in ACTIONS:
        n = max(3, repeats // divisor)
        times = {name: [] for name in clients}
        for name, client in clients.items():
            if api_name == "/steps":  # a step starts from the face D was last asked about
                timed(client, "/ask", ACTIONS[4][2](0))
            timed(client, api_name, make_args(0))  # warm-up
        for i in range(n):
            for name, client in clients.items():
                times[name].append(timed(client, api_name, make_args(i + 1)))
        row = {name: {"p50_ms": pct(t, 50), "p95_ms": pct(t, 95), "n": n} for name, t in times.items()}
        row["over_floor_p50_ms"] = row["ours"]["p50_ms"] - row["floor"]["p50_ms"]
        out[label] = row
        print(f"{label:28s} ours p50 {row['ours']['p50_ms']:7.0f} ms  p95 {row['ours']['p95_ms']:7.0f} ms | "
              f"floor p50 {row['floor']['p50_ms']:5.0f} ms | over the floor {row['over_floor_p50_ms']:6.0f} ms",
              flush=True)
    return out


def concurrent(url: str, clients: int = 16, calls: int = 10) -> dict:
    from gradio_client import Client

    latencies, errors, lock = [], [], threading.Lock()
    ready = threading.Barrier(clients)  # every client connected first: the calls overlap, not the page loads

    def user(k):
        try:
            client = Client(url, verbose=False)
        except Exception as err:  # noqa: BLE001 - every failure counts
            with lock:
                errors.append(repr(err))
            ready.abort()
            return
        try:
            ready.wait(timeout=300)
        except threading.BrokenBarrierError:
            pass
        for i in range(calls):
            try:
                t = timed(client, "/face", ({"seed": k, "edits": {"0": round(0.1 * i - 0.5, 2)}},))
                with lock:
                    latencies.append(t)
            except Exception as err:  # noqa: BLE001
                with lock:
                    errors.append(repr(err))

    threads = [threading.Thread(target=user, args=(k,)) for k in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return {"clients": clients, "calls": clients * calls, "errors": len(errors), "first_errors": errors[:3],
            "p50_ms": pct(latencies, 50) if latencies else None, "p95_ms": pct(latencies, 95) if latencies else None}


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process has used so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def load_report(servers: dict, sizes=(16, 32), rounds: int = 4) -> dict:
    """Many API clients moving sliders at once, ours and the floor alternately for `rounds` rounds,
    who goes first alternating too (the clients share this machine's two cores with the servers, so
    one round is noisy): the median over rounds of each side's p95, their ratio, and each server's
    CPU time per call (the steadier figure). `servers`: name -> (url, process)."""
    out = {}
    for clients in sizes:
        runs = {"ours": [], "floor": []}
        for k in range(rounds):
            for name in (("ours", "floor") if k % 2 == 0 else ("floor", "ours")):
                url, proc = servers[name]
                before = cpu_seconds(proc.pid)
                row = concurrent(url, clients)
                row["server_cpu_ms_per_call"] = (cpu_seconds(proc.pid) - before) * 1000 / row["calls"]
                runs[name].append(row)
        p95 = {name: float(np.median([r["p95_ms"] or np.nan for r in rows])) for name, rows in runs.items()}
        cpu = {name: float(np.median([r["server_cpu_ms_per_call"] for r in rows])) for name, rows in runs.items()}
        errors = {name: sum(r["errors"] for r in rows) for name, rows in runs.items()}
        ratio = p95["ours"] / p95["floor"]
        out[str(clients)] = {"rounds": runs, "median_p95_ms": p95, "errors": errors, "p95_over_floor_p95": ratio,
                             "median_server_cpu_ms_per_call": cpu}
        for name, rows in runs.items():
            print(f"{clients} concurrent clients x 10 slider updates, {name:5s}: {errors[name]} errors; p95 per round "
                  + ", ".join(f"{r['p95_ms']:.0f}" for r in rows) + f" ms (median {p95[name]:.0f}); server CPU "
                  f"{cpu[name]:.0f} ms a call", flush=True)
        print(f"{clients} concurrent clients: ours p95 / floor p95 = {ratio:.2f}x (target <= 1.2, 0 errors)", flush=True)
    return out


def browser_slider(url: str, drags: int = 10) -> dict | None:
    """Slider release -> new face shown, in Debian's Chromium through Playwright."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        return None
    flags = ["--no-sandbox", "--headless=new", "--disable-gpu", "--disable-background-networking",
             "--disable-component-update", "--disable-sync", "--no-first-run"]
    times = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=flags)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(url)
        page.locator("#current-face img").wait_for(timeout=60_000)
        page.locator("#direction-0 input[type=range]").scroll_into_view_if_needed()
        box = page.locator("#direction-0 input[type=range]").bounding_box()  # the Age slider
        y = box["y"] + box["height"] / 2
        for i in range(drags):
            old = page.locator("#current-face img").get_attribute("src")
            page.mouse.move(box["x"] + box["width"] * 0.5, y)
            page.mouse.down()
            page.mouse.move(box["x"] + box["width"] * (0.1 + 0.08 * i), y, steps=4)
            t = time.perf_counter()
            page.mouse.up()
            while page.locator("#current-face img").get_attribute("src") == old:
                if time.perf_counter() - t > 20:
                    break
                page.wait_for_timeout(5)
            times.append(time.perf_counter() - t)
        browser.close()
    return {"drags": drags, "p50_ms": pct(times, 50), "p95_ms": pct(times, 95)}


WATCH = """(sel) => {  // every picture the browser finishes loading into the element, timed
  window.__loads = [];
  document.querySelector(sel).addEventListener('load', (e) => {
    if (e.target.tagName === 'IMG') window.__loads.push([performance.now(), e.target.src]);
  }, true);
}"""


def browser_drag(url: str, slider: str, image: str, drags: int = 10, moves: int | None = 41,
                 seconds: float = 3.0) -> dict:
    """Drag a slider for `seconds` with `moves` mouse moves on a fixed schedule (None: as fast as the
    page takes them, each move sent when the page has handled the last), `drags` times (left to right,
    then back): the moves the page took, pictures shown during each drag (per second), and release to
    the final picture shown."""
    from playwright.sync_api import sync_playwright

    flags = ["--no-sandbox", "--headless=new", "--disable-gpu", "--disable-background-networking",
             "--disable-component-update", "--disable-sync", "--no-first-run"]
    rates, finals, counts, taken = [], [], [], []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=flags)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        opened = time.perf_counter()
        page.goto(url)
        page.locator(f"{image} img").wait_for(timeout=60_000) if image == "#current-face" else \
            page.locator(image).wait_for(timeout=60_000)
        opened = time.perf_counter() - opened  # the page asked for, to its face shown
        handle = page.locator(f"{slider} input[type=range]")
        handle.scroll_into_view_if_needed()
        box = handle.bounding_box()
        y = box["y"] + box["height"] / 2
        page.evaluate(WATCH, image)
        for i in range(drags):
            a, b = (0.2, 0.8) if i % 2 == 0 else (0.8, 0.2)
            page.mouse.move(box["x"] + box["width"] * a, y)
            page.wait_for_timeout(300)
            page.evaluate("window.__loads = []")
            page.mouse.down()
            down, start = page.evaluate("performance.now()"), time.perf_counter()
            k = 0
            while (k < moves) if moves else (time.perf_counter() - start < seconds):
                k += 1
                if moves:  # on a fixed schedule; the last move, then the release at once
                    time.sleep(max(0.0, start + seconds * k / moves - time.perf_counter()))
                    where = k / moves
                else:  # as fast as the page takes them: back and forth, 50 positions a way
                    where = 1 - abs((k / 50) % 2 - 1)
                page.mouse.move(box["x"] + box["width"] * (a + (b - a) * where), y)
            taken.append(k)
            page.mouse.up()
            up = page.evaluate("performance.now()")
            page.wait_for_timeout(1500)
            loads = page.evaluate("window.__loads")
            during = [t for t, _ in loads if down < t <= up]
            counts.append(len(during))
            rates.append(len(during) / ((up - down) / 1000))
            if not loads:
                finals.append(float("nan"))
                continue
            final_src, k = loads[-1][1], len(loads) - 1
            while k > 0 and loads[k - 1][1] == final_src:  # the final picture, first shown
                k -= 1
            finals.append(max(0.0, loads[k][0] - up) / 1000)
        browser.close()
    return {"page_open_s": opened, "drags": drags, "moves": moves, "moves_taken": taken, "seconds": seconds,
            "updates_per_drag": counts,
            "updates_per_s": float(np.mean(rates)), "release_to_final_p50_ms": pct(finals, 50),
            "release_to_final_p95_ms": pct(finals, 95)}


def drag_report(ours_url: str, floor_url: str, moves: int | None = 41) -> dict:
    """The drag, in ours and in the two floors (the bare slider through the queue, and outside it);
    `moves` None: as fast as each page takes the mouse's moves."""
    out = {"ours": browser_drag(ours_url, "#direction-0", "#current-face", moves=moves)}
    for name in ("queue", "direct"):
        out[f"floor_{name}"] = browser_drag(floor_url, f"#slider-{name}", f"#face-{name}", moves=moves)
    best = max(out["floor_queue"]["updates_per_s"], out["floor_direct"]["updates_per_s"])
    out["ours_over_best_floor_rate"] = out["ours"]["updates_per_s"] / best
    for name, row in out.items():
        if isinstance(row, dict):
            print(f"drag, {name:12s}: {row['updates_per_s']:5.1f} pictures/s while dragging "
                  f"({np.mean(row['updates_per_drag']):.1f} per {row['seconds']:.0f} s drag of "
                  f"{np.mean(row['moves_taken']):.1f} moves taken); "
                  f"release to final picture p50 {row['release_to_final_p50_ms']:.0f} ms, "
                  f"p95 {row['release_to_final_p95_ms']:.0f} ms", flush=True)
    print(f"page opened to the current face shown, in Chromium: {out['ours']['page_open_s']:.1f} s")
    print(f"drag: ours / the faster floor = {out['ours_over_best_floor_rate']:.2f}x the picture rate (target >= 0.8); "
          f"release to final p50 {out['ours']['release_to_final_p50_ms']:.0f} ms (target <= 80)")
    return out


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--repeats", type=int, default=20, help="calls per action (a quarter for videos)")
    p.add_argument("--browser", action="store_true", help="also time the slider in Chromium")
    p.add_argument("--json", help="write the figures here too")
    p.add_argument("--drag-only", action="store_true", help="only the slider drag in Chromium")
    p.add_argument("--fast-drag", action="store_true",
                   help="drag as fast as each page takes the mouse's moves (else 41 moves in 3 s)")
    p.add_argument("--load-only", action="store_true", help="only the concurrent clients")
    p.add_argument("--serve-noop", type=int, help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.serve_noop:
        serve_noop(args.serve_noop)
        return 0
    from gradio_client import Client

    ours_port, floor_port = free_port(), free_port()
    ours, cold = start([sys.executable, "app.py"], ours_port)
    floor, _ = start([sys.executable, __file__, "--serve-noop", str(floor_port)], floor_port)
    try:
        print(f"cold start, `python app.py` to first answer: {cold:.1f} s (target <= 10 s)")
        if args.drag_only:
            drag_report(f"http://127.0.0.1:{ours_port}/", f"http://127.0.0.1:{floor_port}/",
                        moves=None if args.fast_drag else 41)
            return 0
        clients = {"ours": Client(f"http://127.0.0.1:{ours_port}/", verbose=False),
                   "floor": Client(f"http://127.0.0.1:{floor_port}/", verbose=False)}
        results = {"cold_start_s": cold, "actions": measure(clients, args.repeats) if not args.load_only else {}}
        results["load"] = load_report({"ours": (f"http://127.0.0.1:{ours_port}/", ours),
                                       "floor": (f"http://127.0.0.1:{floor_port}/", floor)})
        if args.load_only:
            return 0
        if args.browser:
            results["drag"] = drag_report(f"http://127.0.0.1:{ours_port}/", f"http://127.0.0.1:{floor_port}/",
                                          moves=None if args.fast_drag else 41)
            results["browser_slider"] = browser_slider(f"http://127.0.0.1:{ours_port}/")
            if results["browser_slider"]:
                b = results["browser_slider"]
                print(f"browser: slider release to new face shown: p50 {b['p50_ms']:.0f} ms, p95 {b['p95_ms']:.0f} ms")
        targets = {"slider update": 30, "named slider (Age) update": 30, "face math + 3x3 grid": 100,
                   "121-frame 256 px MP4": 1500, "121-frame 256 px GIF": 1500, "ask D: probability + maps": 60,
                   "one step up D's gradient": 60}
        print("\ntargets, over the floor (p50):")
        for label, limit in targets.items():
            over = results["actions"][label]["over_floor_p50_ms"]
            print(f"  {label:28s} {over:7.0f} ms  (<= {limit} ms: {'met' if over <= limit else 'NOT met'})")
        if args.json:
            Path(args.json).write_text(json.dumps(results, indent=2))
    finally:
        for proc in (ours, floor):
            proc.terminate()
            proc.wait(timeout=10)
    return 0


if __name__ == "__main__":
    sys.exit(main())
