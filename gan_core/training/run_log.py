"""A run's training log: one JSON record per logged interval, a line each.

    records = read_log("runs/faces/log.jsonl")    # by step, each step once; bad lines skipped

train.py's run folder holds log.jsonl (gan_core.training.loop appends to it); a release folder
keeps a compact copy, training_log.jsonl (gan_core.training.export).
"""
from __future__ import annotations

import json
import logging
import os
from pathlib import Path

from ..errors import UserError

LOG_NAME = "log.jsonl"                  # in a run folder
RELEASE_LOG_NAME = "training_log.jsonl"  # in a release folder
log = logging.getLogger(__name__)


def read_log(path: str | os.PathLike) -> list[dict]:
    """The records of a JSONL training log, sorted by step with each step once (a resumed run
    logs some steps again: the later record wins); [] when there is no log yet. A line that is not
    a record (a half-written line from a run killed mid-write, or one still being written) is
    skipped, with a warning in the server's log for any but the last line."""
    path = Path(path)
    try:
        lines = path.read_text().splitlines()
    except FileNotFoundError:
        return []
    except (OSError, UnicodeDecodeError) as err:
        raise UserError("log_unreadable", name=path.name, error=getattr(err, "strerror", None) or
                        type(err).__name__) from None
    by_step: dict[int, dict] = {}
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
            step = int(record["step"])
        except (json.JSONDecodeError, KeyError, TypeError, ValueError):
            if number < len(lines):
                log.warning("%s, line %d: not a training record; skipped", path, number)
            continue
        by_step[step] = {**record, "step": step}
    return [by_step[step] for step in sorted(by_step)]
