"""What all sessions together may hold: sessions that stop talking end, and the memory of the
rest is bounded for the whole server.

    sweeper = start_sweeper(demo)          # a daemon thread; app.py starts it
    sweep(demo.state_holder)               # one pass of the sessions (the thread also bounds Gradio's
                                           # cache every SWEEP_EVERY seconds: studio/upload_gate.py)

Gradio keeps every session (its gr.State values and a copy of the page's config, about 0.6 MB)
until its tab closes, and an API client's never closes. A pass ends (removes from Gradio's state
holder, and deletes its files) each session idle for IDLE seconds, then, while the sessions'
memory (SESSION_BASE each, plus the pictures, photos and tuned weights their state holds) is over
BUDGET, the least recently used ones. A session that was ended starts afresh on its next event.
"""
from __future__ import annotations

import dataclasses
import datetime
import logging
import threading

import numpy as np
import torch

from gradio.utils import get_upload_folder

from studio.session_files import ROOT, remove_session
from studio.upload_gate import bound_cache

IDLE = 30 * 60                # seconds without an event after which a session ends
BUDGET = 512 << 20            # bytes all sessions together may hold
SESSION_BASE = 600_000        # what Gradio keeps for any session (measured: 570 kB for a trivial one)
MAX_SESSIONS = BUDGET // SESSION_BASE  # Gradio's own bound on sessions (launch's state_session_capacity)
SWEEP_EVERY = 30.0            # seconds between passes
RECENT = 60.0                 # seconds: a session this recent is never ended for the budget's sake
log = logging.getLogger("studio")


def footprint(value, seen: set | None = None) -> int:
    """The bytes the arrays and tensors in `value` hold, following dataclasses, dicts, lists,
    tuples and sets (each array counted once)."""
    seen = set() if seen is None else seen
    if id(value) in seen:
        return 0
    seen.add(id(value))
    if isinstance(value, np.ndarray):
        return value.nbytes
    if isinstance(value, torch.Tensor):
        return value.numel() * value.element_size()
    if isinstance(value, dict):
        return sum(footprint(k, seen) + footprint(v, seen) for k, v in value.items())
    if isinstance(value, (list, tuple, set, frozenset)):
        return sum(footprint(v, seen) for v in value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return sum(footprint(getattr(value, f.name, None), seen) for f in dataclasses.fields(value))
    if hasattr(value, "__dict__") and type(value).__module__.split(".")[0] in ("gan_core", "studio"):
        return footprint(vars(value), seen)
    return 0


def sweep(holder, idle: float = IDLE, budget: int = BUDGET, now: datetime.datetime | None = None) -> list[str]:
    """End the sessions of Gradio's state `holder` idle for `idle` seconds, then the least recently
    used ones while all of them hold more than `budget` bytes. Returns the ended sessions' ids."""
    now = now or datetime.datetime.now()
    with holder.lock:
        last = {sid: holder.time_last_used.get(sid, now) for sid in holder.session_data}
    ages = {sid: (now - when).total_seconds() for sid, when in last.items()}
    ended = [sid for sid, age in ages.items() if age > idle]
    kept = sorted((sid for sid in ages if sid not in ended), key=lambda sid: -ages[sid])  # oldest first
    sizes = {sid: SESSION_BASE + footprint(dict(getattr(holder.session_data.get(sid), "state_data", {})))
             for sid in kept}
    total = sum(sizes.values())
    for sid in kept:
        if total <= budget or ages[sid] < RECENT:
            break
        ended.append(sid)
        total -= sizes[sid]
    for sid in ended:
        with holder.lock:
            holder.session_data.pop(sid, None)
            holder.time_last_used.pop(sid, None)
        remove_session(sid, ROOT)
    if ended:
        log.info("ended %d sessions (idle or over the memory budget); %d remain, %.0f MB",
                 len(ended), len(holder.session_data), total / 1e6)
    return ended


def start_sweeper(demo, every: float = SWEEP_EVERY) -> threading.Thread:
    """A daemon thread that sweeps `demo`'s sessions every `every` seconds while the process lives."""
    def loop():
        while True:
            stop.wait(every)
            holder = getattr(demo, "state_holder", None)
            try:
                if holder is not None:
                    sweep(holder)
                bound_cache(get_upload_folder())  # Gradio's copies of uploads and outputs
            except Exception:  # never let one bad pass end the sweeping
                log.exception("session sweep failed")

    stop = threading.Event()
    thread = threading.Thread(target=loop, name="session-sweeper", daemon=True)
    thread.start()
    return thread
