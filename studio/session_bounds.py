"""What all sessions together may hold: sessions that stop talking end, and the memory of the
rest is bounded for the whole server.

    sweeper = start_sweeper(demo)          # a daemon thread; app.py starts it
    sweep(demo.state_holder)               # one pass of the sessions (the thread also bounds Gradio's
                                           # cache every SWEEP_EVERY seconds: studio/upload_gate.py)

Gradio keeps every session (its gr.State values and the config of each block it used) until its
tab closes, and an API client's never closes. Gradio would also make, for every new session, the
config of all the page's 340 blocks (0.6 MB) though a session uses a few of them: lean_sessions()
makes each one when it is first used (a trivial session then holds SESSION_BASE).

A pass ends (removes from Gradio's state holder, and deletes its files) each session idle for
IDLE seconds, then, while the sessions' memory (SESSION_BASE each, plus the pictures, photos and
tuned weights their state holds) is over BUDGET, the least recently used ones; never a session
with an event queued or running. A session that was ended starts afresh on its next event.
"""
from __future__ import annotations

import dataclasses
import datetime
import logging
import threading
from types import SimpleNamespace

import numpy as np
import torch

from gradio.state_holder import SessionState
from gradio.utils import get_upload_folder

from studio import allocator
from studio.session_files import ROOT, remove_session
from studio.upload_gate import bound_cache

IDLE = 30 * 60                # seconds without an event after which a session ends
BUDGET = 256 << 20            # bytes all sessions together may hold: 19 with 8 photos each, or 4,000 trivial ones
SESSION_BASE = 60_000         # what Gradio keeps for any session (measured: 50 kB for a trivial one, lean)
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


class LazyConfigs(dict):
    """A session's config of each block (Gradio's SessionState.config_values), each made the first
    time it is asked for; iterating makes them all (Gradio does so only for deep links)."""

    def __init__(self, blocks_config, page_blocks: dict):
        super().__init__()
        self.blocks_config, self.page_blocks = blocks_config, page_blocks

    def __missing__(self, key):
        block = self.blocks_config.blocks.get(key)
        if block is None or key not in self.page_blocks:
            raise KeyError(key)
        self[key] = self.blocks_config.config_for_block(key, [], block)
        return self[key]

    def fill(self) -> "LazyConfigs":
        for key in list(self.blocks_config.blocks):
            if key in self.page_blocks and not dict.__contains__(self, key):
                self[key]
        return self

    def items(self):
        return dict.items(self.fill())

    def values(self):
        return dict.values(self.fill())

    def __iter__(self):
        return dict.__iter__(self.fill())


def lean_sessions() -> None:
    """Make Gradio's new sessions build each block's config when it is first used, not all at once
    (0.6 MB a session on this page). Idempotent; a Gradio whose SessionState needs more of the
    Blocks than its config and blocks keeps its own way."""
    if getattr(SessionState.__init__, "lean", False):
        return
    eager = SessionState.__init__

    def __init__(self, blocks):
        try:
            eager(self, SimpleNamespace(default_config=blocks.default_config, blocks={}))
        except AttributeError:
            eager(self, blocks)
            return
        self.config_values = LazyConfigs(self.blocks_config, blocks.blocks)

    __init__.lean = True
    SessionState.__init__ = __init__


def busy_sessions(demo) -> set[str]:
    """The sessions with an event queued or running (a render waiting its turn, say)."""
    queue = getattr(demo, "_queue", None)
    events = list(getattr(queue, "event_ids_to_events", {}).values())
    return {event.session_hash for event in events if getattr(event, "session_hash", None)}


def sweep(holder, idle: float = IDLE, budget: int = BUDGET, now: datetime.datetime | None = None,
          busy: set[str] = frozenset()) -> list[str]:
    """End the sessions of Gradio's state `holder` idle for `idle` seconds, then the least recently
    used ones while all of them hold more than `budget` bytes; a `busy` session (busy_sessions) is
    never ended: its event would lose its files. Returns the ended sessions' ids."""
    now = now or datetime.datetime.now()
    with holder.lock:
        last = {sid: holder.time_last_used.get(sid, now) for sid in holder.session_data}
    ages = {sid: (now - when).total_seconds() for sid, when in last.items()}
    ended = [sid for sid, age in ages.items() if age > idle and sid not in busy]
    kept = sorted((sid for sid in ages if sid not in ended), key=lambda sid: -ages[sid])  # oldest first
    sizes = {sid: SESSION_BASE + footprint(dict(getattr(holder.session_data.get(sid), "state_data", {})))
             for sid in kept}
    total = sum(sizes.values())
    for sid in kept:
        if total <= budget or ages[sid] < RECENT:
            break
        if sid in busy:  # counted, never ended
            continue
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
                    sweep(holder, busy=busy_sessions(demo))
                bound_cache(get_upload_folder())  # Gradio's copies of uploads and outputs
                allocator.give_back()  # what ended sessions and finished renders freed
            except Exception:  # never let one bad pass end the sweeping
                log.exception("session sweep failed")

    stop = threading.Event()
    thread = threading.Thread(target=loop, name="session-sweeper", daemon=True)
    thread.start()
    return thread
