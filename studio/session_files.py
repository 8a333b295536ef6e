"""Files the studio writes for one session (morphs, time-lapses, direction downloads), kept apart
and deleted when the session ends.

    folder = session_folder(request, "morph")   # a fresh folder of this session's
    end_session(request)                        # on demo.unload: the session's folders go

Gradio copies what a handler returns into its own cache (cleaned by Blocks' delete_cache), so a
session keeps only its last few folders here, and all sessions together at most MAX_TOTAL bytes.
"""
from __future__ import annotations

import os
import re
import shutil
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace

import gradio as gr

BASE = Path(tempfile.gettempdir()) / "dcgan-studio"
INSTANCE = BASE / str(os.getpid())  # this process's own: a second studio on the machine has its own
ROOT = INSTANCE / "sessions"        # one folder a session
LIVE_ROOT = INSTANCE / "live"       # the live training run's folders
KEEP_PER_SESSION = 4            # folders a session keeps (two renders at once stay whole)
MAX_TOTAL = 1 << 30             # bytes under ROOT, all sessions together
GRACE = 120.0                   # seconds a new folder is safe from the total's bound


def _session_id(request) -> str:
    raw = str(getattr(request, "session_hash", None) or "local")
    return re.sub(r"[^A-Za-z0-9_-]", "", raw)[:64] or "local"


def _size(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def session_folder(request, kind: str, root: Path = ROOT) -> Path:
    """A new, empty folder for one of this session's files; older ones beyond the last few go."""
    session = root / _session_id(request)
    session.mkdir(parents=True, exist_ok=True)
    folder = Path(tempfile.mkdtemp(prefix=f"{time.time():.6f}-{re.sub(r'[^a-z]', '', kind)}-", dir=session))
    for old in sorted(p for p in session.iterdir() if p.is_dir())[:-KEEP_PER_SESSION]:
        shutil.rmtree(old, ignore_errors=True)
    bound_total(root)
    return folder


def bound_total(root: Path = ROOT, limit: int = MAX_TOTAL) -> None:
    """Delete the oldest folders of every session until all of them hold at most `limit` bytes."""
    if not root.is_dir():
        return
    folders = sorted((p for s in root.iterdir() if s.is_dir() for p in s.iterdir() if p.is_dir()),
                     key=lambda p: p.name)
    sizes = {p: _size(p) for p in folders}
    total, now = sum(sizes.values()), time.time()
    for folder in folders:
        if total <= limit:
            break
        if now - folder.stat().st_mtime < GRACE:
            continue
        shutil.rmtree(folder, ignore_errors=True)
        total -= sizes[folder]


def end_session(request: gr.Request, root: Path = ROOT) -> None:
    """Delete every file of a session that ended (its tab closed); for demo.unload."""
    remove_session(getattr(request, "session_hash", None), root)


def remove_session(session_hash: str | None, root: Path = ROOT) -> None:
    """Delete every file of the session `session_hash` (it closed, or was ended for being idle)."""
    if not session_hash:
        return
    shutil.rmtree(root / _session_id(SimpleNamespace(session_hash=session_hash)), ignore_errors=True)


def clear_all(base: Path = BASE) -> None:
    """Delete what earlier runs of the studio left (at start-up): this process's folder, and those of
    processes no longer running (killed, say, before they could clean up); a running studio's stay."""
    if not base.is_dir():
        return
    for entry in base.iterdir():
        if entry.name.isdigit() and int(entry.name) != os.getpid() and _running(int(entry.name)):
            continue
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry, ignore_errors=True)
        else:
            entry.unlink(missing_ok=True)


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)  # no signal: only whether the process exists
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's
        return True
    return True
