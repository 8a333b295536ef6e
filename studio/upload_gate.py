"""What uploads may cost the server's disk: each client's upload rate, and everything Gradio keeps.

    Middleware(UploadGate)            # app.py: in front of Gradio's /upload route
    bound_cache(get_upload_folder())  # the session sweeper: Gradio's copies, oldest first, to a total

Gradio writes every upload to its cache before any handler sees it, and keeps what handlers return
there too (Blocks' delete_cache removes them only after 10-20 minutes). So an upload request is
refused (HTTP 429) once its client has sent RATE_BYTES within the last WINDOW seconds, or (HTTP 507)
while the cache holds more than CACHE_BYTES; and the sweeper deletes the cache's oldest files, any
at least GRACE seconds old, until it holds at most CACHE_BYTES.
"""
from __future__ import annotations

import collections
import json
import logging
import threading
import time
from pathlib import Path

from gan_core.data.uploads import MAX_BYTES

WINDOW = 60.0                    # seconds
RATE_BYTES = 10 * MAX_BYTES      # a client's uploads per WINDOW (a batch of 8 photos, and then some)
CACHE_BYTES = 2 << 30            # what Gradio's cache may hold, uploads and outputs together
GRACE = 60.0                     # seconds a new file is safe from the cache's bound
log = logging.getLogger("studio")


class UploadGate:
    """ASGI middleware: refuse uploads beyond a client's rate, or while Gradio's cache is full."""

    def __init__(self, app, rate: int = RATE_BYTES, window: float = WINDOW):
        self.app, self.rate, self.window = app, rate, window
        self.sent: dict[str, collections.deque] = collections.defaultdict(collections.deque)  # (time, bytes)
        self.lock = threading.Lock()

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope.get("method") != "POST" or not scope.get("path", "").endswith("/upload"):
            return await self.app(scope, receive, send)
        headers = dict(scope.get("headers") or [])
        try:
            size = int(headers.get(b"content-length", b"0"))
        except ValueError:
            size = 0
        if CACHE.full:
            return await refuse(receive, send, 507, "The server's space for uploads is full; try again in a few "
                                                    "minutes.")
        if not self.allowed(client_of(scope, headers), max(size, 1)):
            return await refuse(receive, send, 429, f"Too many uploads: at most {self.rate >> 20} MB a minute; "
                                                    f"try again in a minute.")
        return await self.app(scope, receive, send)

    def allowed(self, client: str, size: int, now: float | None = None) -> bool:
        """Whether `client` may upload `size` more bytes now (counted if so)."""
        now = time.monotonic() if now is None else now
        with self.lock:
            sent = self.sent[client]
            while sent and sent[0][0] < now - self.window:
                sent.popleft()
            if sum(n for _, n in sent) + size > self.rate:
                return False
            sent.append((now, size))
            if len(self.sent) > 10_000:  # forget the quietest clients, not the memory
                for key in [k for k, v in self.sent.items() if not v][:5_000]:
                    del self.sent[key]
            return True


def client_of(scope, headers: dict) -> str:
    """The client's address (the first X-Forwarded-For hop behind a proxy, as on Spaces)."""
    forwarded = headers.get(b"x-forwarded-for", b"").split(b",")[0].strip()
    if forwarded:
        return forwarded.decode("latin-1")[:64]
    client = scope.get("client")
    return str(client[0]) if client else "unknown"


async def refuse(receive, send, status: int, message: str) -> None:
    """Answer `status` with `message`, after reading (and dropping) what the client is sending, so
    that it gets the answer rather than a connection closed mid-upload."""
    while True:
        event = await receive()
        if event["type"] != "http.request" or not event.get("more_body"):
            break
    body = json.dumps({"error": message, "detail": message}).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})


class CacheState:
    """Whether Gradio's cache was over its bound at the last sweep."""
    full: bool = False


CACHE = CacheState()


def bound_cache(folder: str | Path, limit: int = CACHE_BYTES, grace: float = GRACE) -> int:
    """Delete the oldest files under `folder` (Gradio's cache), any at least `grace` seconds old,
    until it holds at most `limit` bytes; returns what it holds after. Marks CACHE.full if it
    still holds more (every file too new)."""
    folder = Path(folder)
    if not folder.is_dir():
        CACHE.full = False
        return 0
    files = []
    for path in folder.rglob("*"):
        try:
            if path.is_file() and not path.is_symlink():
                stat = path.stat()
                files.append((stat.st_mtime, stat.st_size, path))
        except OSError:  # deleted meanwhile
            continue
    total, now = sum(size for _, size, _ in files), time.time()
    for mtime, size, path in sorted(files):
        if total <= limit:
            break
        if now - mtime < grace:
            continue
        path.unlink(missing_ok=True)
        total -= size
    CACHE.full = total > limit
    if CACHE.full:
        log.warning("Gradio's cache holds %.0f MB, over its bound of %.0f MB", total / 1e6, limit / 1e6)
    return total
