"""User mistakes as data: an error type that carries a key and its parameters.

    raise UserError("seed_range", max=MAX_SEED, got=seed)
    str(err)              # "a seed must be between 0 and 4294967295, got -1" (English, for the API and CLIs)
    err.key, err.params   # what the studio renders in the page's language (studio/locales/*.json "core")

Every key has one English text in MESSAGES (gan_core/messages.py); a key missing there is a bug
(KeyError at the raise site, caught by tests/test_messages.py before it ever ships). Anything
else gan_core raises (ValueError, RuntimeError, ...) is a bug, not a user's mistake: the studio
logs it with its traceback and shows a short internal-error note.

A parameter may itself be a message: a Phrase (a key and its parameters), for the part of a
sentence that names a thing in words ("the offset of dimension 7") or says why ("is missing").
It is rendered in the same language as the sentence around it. A list or tuple parameter is
shown as its items joined by ", ". A message quotes at most MAX_QUOTE characters of any text.
"""
from __future__ import annotations

from .messages import MESSAGES


MAX_QUOTE = 200  # characters of any one text a message quotes (what a user typed can be megabytes)


def excerpt(value):
    """A text parameter cut to MAX_QUOTE characters, marked with an ellipsis; anything else as it is."""
    if isinstance(value, str) and len(value) > MAX_QUOTE:
        return value[:MAX_QUOTE - 1] + "\u2026"
    return value


def shown(value):
    """A parameter as the English text shows it: a Phrase rendered, a list joined, a long text cut."""
    if isinstance(value, Phrase):
        return str(value)
    if isinstance(value, (list, tuple)):
        return excerpt(", ".join(str(shown(v)) for v in value))
    return excerpt(value)


def render(key: str, params: dict) -> str:
    """The English text of `key` with its {placeholders} filled from `params`."""
    return MESSAGES[key].format(**{name: shown(value) for name, value in params.items()})


class Phrase:
    """Part of a message, by key: rendered in English by str(), and by the studio in the page's
    language together with the sentence that holds it."""

    def __init__(self, key: str, /, **params):
        if key not in MESSAGES:
            raise KeyError(f"no message {key!r} in gan_core/messages.py")
        self.key, self.params = key, params

    def __str__(self) -> str:
        return render(self.key, self.params)

    def __repr__(self) -> str:
        return f"Phrase({self.key!r}, {self.params!r})"

    def __eq__(self, other) -> bool:
        return isinstance(other, Phrase) and (self.key, self.params) == (other.key, other.params)

    def __hash__(self) -> int:
        return hash(self.key)


def phrase_of(err: BaseException):
    """An error as a parameter of another message: a UserError as a Phrase (so it is shown in the
    page's language too), anything else as its text."""
    if isinstance(err, UserError):
        return Phrase(err.key, **err.params)
    return str(err)


class UserError(ValueError):
    """A mistake of the caller's (a bad seed, an unreadable upload, a checkpoint that is not one):
    `key` names the message, `params` fill its placeholders. A ValueError, so plain library users
    can catch it as one."""

    def __init__(self, key: str, /, **params):
        self.key, self.params = key, params
        super().__init__(render(key, params))

    def __reduce__(self):  # pickled (a worker process's error) with its key, not only its text
        return _restored, (type(self), self.key, self.params, self.__dict__)


def _restored(cls, key: str, params: dict, state: dict) -> UserError:
    err = cls.__new__(cls)
    ValueError.__init__(err, render(key, params))
    err.__dict__.update(state)
    return err
