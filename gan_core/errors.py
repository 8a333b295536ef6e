"""User mistakes as data: an error type that carries a key and its parameters.

    raise UserError("seed_range", max=MAX_SEED, got=seed)
    str(err)              # "a seed must be between 0 and 4294967295, got -1" (English, for the API and CLIs)
    err.key, err.params   # what the studio renders in the page's language (studio/locales/*.json "core")

Every key has one English text in MESSAGES (gan_core/messages.py); a key missing there is a bug
(KeyError at the raise site, caught by tests/test_messages.py before it ever ships). Anything
else gan_core raises (ValueError, RuntimeError, ...) is a bug, not a user's mistake: the studio
logs it with its traceback and shows a short internal-error note.
"""
from __future__ import annotations

from .messages import MESSAGES


def render(key: str, params: dict) -> str:
    """The English text of `key` with its {placeholders} filled from `params`."""
    return MESSAGES[key].format(**params)


class UserError(ValueError):
    """A mistake of the caller's (a bad seed, an unreadable upload, a checkpoint that is not one):
    `key` names the message, `params` fill its placeholders. A ValueError, so plain library users
    can catch it as one."""

    def __init__(self, key: str, **params):
        self.key, self.params = key, params
        super().__init__(render(key, params))
