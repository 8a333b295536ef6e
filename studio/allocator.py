"""The C allocator of a long-lived server: what the studio frees goes back to the system.

    tune()        # once, at start, before the server's threads: big blocks mapped on their own,
                  # few arenas (glibc would make 8 a core, each keeping its freed pages)
    give_back()   # return the free pages of every arena (the session sweeper calls it)

glibc only (Linux); elsewhere both do nothing. Without them the server's resident memory stays
near its peak after renders and photo sessions end, though Python and torch freed it all.
"""
from __future__ import annotations

import ctypes
import logging
import sys

M_TRIM_THRESHOLD, M_MMAP_THRESHOLD, M_ARENA_MAX = -1, -3, -8  # glibc's mallopt parameters
MMAP_FROM = 256 << 10   # a block this big gets pages of its own, unmapped when freed
TRIM_FROM = 1 << 20     # free memory at an arena's top above this goes back at once
ARENAS = 2
log = logging.getLogger("studio")


def _glibc():
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL("libc.so.6")
        return libc if hasattr(libc, "mallopt") and hasattr(libc, "malloc_trim") else None
    except OSError:
        return None


LIBC = _glibc()


def tune() -> bool:
    """Set the allocator for a server; True if it could be (glibc)."""
    if LIBC is None:
        return False
    done = all(LIBC.mallopt(param, value) == 1 for param, value in
               ((M_MMAP_THRESHOLD, MMAP_FROM), (M_TRIM_THRESHOLD, TRIM_FROM), (M_ARENA_MAX, ARENAS)))
    if not done:
        log.warning("the C allocator kept some of its settings")
    return done


def give_back() -> None:
    """Hand the allocator's free pages back to the system."""
    if LIBC is not None:
        LIBC.malloc_trim(0)
