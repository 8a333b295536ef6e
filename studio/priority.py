"""Renders at a lower CPU priority than the light work beside them: on a 2-core Space, two renders
and their encoders would otherwise take both cores from every visitor's face and sliders.

    @friendly
    @lowered
    def make_morph(...): ...     # runs in a thread of its own, NICE steps nicer

Linux sets a thread's priority on its own, and the encoders a render starts (ffmpeg) inherit it.
Elsewhere the render runs as it is. A priority once lowered cannot be raised back without
privileges, so each render gets a fresh thread and the server's workers keep theirs.
"""
from __future__ import annotations

import contextvars
import functools
import os
import sys
import threading

NICE = 10  # how many steps nicer than the server a render runs (0-19)


def _lower_this_thread(steps: int) -> None:
    if not sys.platform.startswith("linux"):  # elsewhere a thread id is no process id
        return
    tid = threading.get_native_id()
    try:
        os.setpriority(os.PRIO_PROCESS, tid, min(19, os.getpriority(os.PRIO_PROCESS, tid) + steps))
    except OSError:
        pass


def lowered(fn):
    """`fn` run in a new thread NICE steps nicer, with the caller's context (Gradio's progress bar);
    returns what it returns and raises what it raises."""
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        context, done = contextvars.copy_context(), {}

        def run():
            _lower_this_thread(NICE)
            try:
                done["value"] = context.run(fn, *args, **kwargs)
            except BaseException as err:  # raised again in the caller's thread
                done["error"] = err

        thread = threading.Thread(target=run, name=f"lowered-{fn.__name__}", daemon=True)
        thread.start()
        thread.join()
        if "error" in done:
            raise done["error"]
        return done["value"]
    return wrapper
