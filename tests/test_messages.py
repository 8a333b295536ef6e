"""Every message key the code uses, in every language, with the same placeholders (a static check,
as Home Assistant's hassfest checks its strings.json):

- gan_core's keys: the first argument of UserError, Phrase and their subclasses (CheckpointError,
  ConfigError, DataError, NoFace, ...), and of any function that passes one of its parameters on
  as such a key (check_text's `what`, resume's `bad`); English in gan_core/messages.py MESSAGES,
  other languages in studio/locales/<lang>.json "core".
- the studio's keys: the first argument of T() and say() (and of functions passing one on); every
  language in studio/locales/<lang>.json "ui".

The code is read, not run (ast): gan_core/, studio/, app.py and the scripts at the top. A key
the reader cannot resolve to string constants is itself a failure, as is a key in a table that
no code uses, a placeholder a call does not fill, or a language whose placeholders differ.
"""
from __future__ import annotations

import ast
import string
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from gan_core.messages import MESSAGES
from studio.i18n import CATALOGUE, DEFAULT, LANGUAGES

ROOT = Path(__file__).resolve().parents[1]
SOURCES = sorted([*ROOT.glob("gan_core/**/*.py"), *ROOT.glob("studio/**/*.py"), *ROOT.glob("*.py")])
CORE, UI = "core", "ui"
TABLES = {CORE: {DEFAULT: MESSAGES, **{lang: CATALOGUE[lang].get("core", {}) for lang in LANGUAGES if lang != DEFAULT}},
          UI: {lang: CATALOGUE[lang]["ui"] for lang in LANGUAGES}}


def placeholders(text: str) -> set[str]:
    return {name.split(".")[0].split("[")[0] for _, name, _, _ in string.Formatter().parse(text) if name}


def name_of(func: ast.expr) -> str | None:
    return func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else None


@dataclass
class Renderer:
    """A callable that takes a message key: the argument at `index` (or keyword `keyword`)."""
    kind: str                    # CORE or UI
    index: int = 0
    keyword: str | None = None
    implicit: set[str] = field(default_factory=set)  # parameters it always fills itself (CheckpointError's reason)
    forwards: bool = True        # whether the call's other keywords fill the message's placeholders


@dataclass
class Use:
    key: str
    kind: str
    where: str
    given: set[str] | None       # the placeholders the call fills (None: unknown, e.g. **params)


def trees() -> dict[Path, ast.Module]:
    return {path: ast.parse(path.read_text(encoding="utf-8"), str(path)) for path in SOURCES}


def renderers(parsed: dict[Path, ast.Module]) -> dict[str, Renderer]:
    """T, say, UserError, Phrase, UserError's subclasses, and every function passing a parameter on as a key."""
    found = {"T": Renderer(UI), "say": Renderer(UI), "UserError": Renderer(CORE), "Phrase": Renderer(CORE)}
    classes = [node for tree in parsed.values() for node in ast.walk(tree) if isinstance(node, ast.ClassDef)]
    functions = [node for tree in parsed.values() for node in ast.walk(tree) if isinstance(node, ast.FunctionDef)]
    changed = True
    while changed:
        changed = False
        for cls in classes:
            if cls.name not in found and any(name_of(b) in found and found[name_of(b)].kind == CORE for b in cls.bases):
                implicit = set()
                for call in ast.walk(cls):
                    if isinstance(call, ast.Call) and name_of(call.func) == "__init__":
                        implicit |= {k.arg for k in call.keywords if k.arg}
                found[cls.name] = Renderer(CORE, implicit=implicit)
                changed = True
        for fn in functions:
            if fn.name in found or fn.name == "__init__":
                continue
            params = [a.arg for a in fn.args.posonlyargs + fn.args.args]
            for call in ast.walk(fn):
                if not (isinstance(call, ast.Call) and name_of(call.func) in found):
                    continue
                renderer = found[name_of(call.func)]
                arg = key_argument(call, renderer)
                if isinstance(arg, ast.Name) and arg.id in params:
                    index = params.index(arg.id) - (1 if params and params[0] in ("self", "cls") else 0)
                    forwards = fn.args.kwarg is not None and any(
                        k.arg is None and isinstance(k.value, ast.Name) and k.value.id == fn.args.kwarg.arg
                        for k in call.keywords)
                    found[fn.name] = Renderer(renderer.kind, index, arg.id, renderer.implicit, forwards)
                    changed = True
                    break
    return found


def key_argument(call: ast.Call, renderer: Renderer) -> ast.expr | None:
    if len(call.args) > renderer.index:
        return call.args[renderer.index]
    return next((k.value for k in call.keywords if renderer.keyword and k.arg == renderer.keyword), None)


def keys_in(node: ast.expr | None, assigned: dict[str, list[ast.expr]]) -> set[str] | None:
    """The string constants an expression can be: a constant, either branch of a conditional, or
    what a local variable is set to; None if it can be anything else."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return {node.value}
    if isinstance(node, ast.IfExp):
        body, orelse = keys_in(node.body, assigned), keys_in(node.orelse, assigned)
        return None if body is None or orelse is None else body | orelse
    if isinstance(node, ast.Name) and node.id in assigned:
        found = [keys_in(value, assigned) for value in assigned[node.id]]
        return None if any(f is None for f in found) else set().union(*found)
    return None


def assignments(scope: ast.AST) -> dict[str, list[ast.expr]]:
    """name -> the values a scope assigns to it (nested functions included: near enough for keys)."""
    assigned: dict[str, list[ast.expr]] = {}
    for node in ast.walk(scope):
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            assigned.setdefault(node.targets[0].id, []).append(node.value)
    return assigned


def uses() -> tuple[list[Use], list[str]]:
    """Every key the code passes to a renderer, and the calls whose key could not be read."""
    parsed = trees()
    found = renderers(parsed)
    used, unread = [], []
    for path, tree in parsed.items():
        where = lambda node: f"{path.relative_to(ROOT)}:{node.lineno}"  # noqa: E731
        enclosing = {}  # node -> its innermost function
        for fn in ast.walk(tree):
            if isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)):
                for node in ast.walk(fn):
                    if node is not fn:
                        enclosing[node] = fn  # inner functions come later in the walk: they win
        module = assignments(tree)
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef) and node.name in found:  # a forwarder's default key
                renderer = found[node.name]
                args = node.args.posonlyargs + node.args.args
                defaults = dict(zip([a.arg for a in args][len(args) - len(node.args.defaults):], node.args.defaults))
                for key in keys_in(defaults.get(renderer.keyword), {}) or ():
                    used.append(Use(key, renderer.kind, where(node), set()))
            if not isinstance(node, ast.Call) or name_of(node.func) not in found:
                continue
            renderer, fn = found[name_of(node.func)], enclosing.get(node)
            scope = {**module, **(assignments(fn) if fn is not None else {})}
            if isinstance(node.func, ast.Name) and node.func.id in scope:
                continue  # a local of the same name (train.py's say = print): not a renderer
            arg = key_argument(node, renderer)
            if arg is None and renderer.keyword is not None:
                continue  # a forwarder called without its key: its default (counted above)
            if fn is not None and fn.name in found and isinstance(arg, ast.Name) and arg.id == found[fn.name].keyword:
                continue  # inside the forwarder itself: its callers name the key
            if isinstance(arg, ast.Attribute) and arg.attr == "key":
                continue  # a message rendered again (phrase_of): keyed where it was made
            keys = keys_in(arg, scope)
            if keys is None:
                unread.append(where(node))
                continue
            given = (None if any(k.arg is None for k in node.keywords) else {k.arg for k in node.keywords}
                     | renderer.implicit) if renderer.forwards else renderer.implicit
            used += [Use(key, renderer.kind, where(node), given) for key in keys]
    return used, unread


USED, UNREAD = uses()


def test_every_key_is_read_from_the_code():
    assert not UNREAD, f"keys the static check cannot read (name them with string constants): {UNREAD}"
    assert {u.kind for u in USED} == {CORE, UI} and len({u.key for u in USED if u.kind == CORE}) > 200


@pytest.mark.parametrize("kind", [CORE, UI])
def test_every_key_used_is_in_every_language(kind):
    for lang in LANGUAGES:
        missing = sorted({f"{u.key} ({u.where})" for u in USED if u.kind == kind and u.key not in TABLES[kind][lang]})
        assert not missing, f"{kind} keys missing from {lang}: {missing}"


@pytest.mark.parametrize("kind", [CORE, UI])
def test_no_key_in_a_table_is_unused(kind):
    used = {u.key for u in USED if u.kind == kind}
    for lang in LANGUAGES:
        unused = sorted(set(TABLES[kind][lang]) - used)
        assert not unused, f"{kind} keys in {lang} that no code uses: {unused}"


@pytest.mark.parametrize("kind", [CORE, UI])
def test_the_placeholders_agree_in_every_language(kind):
    english = TABLES[kind][DEFAULT]
    for lang in LANGUAGES:
        for key, text in TABLES[kind][lang].items():
            assert placeholders(text) == placeholders(english[key]) or (key, lang) in DIFFERENT, (kind, lang, key)


DIFFERENT = {("live_intro", "zh-CN")}  # English quotes gan_core's sentence about the recipe ({balance}); Chinese has its own


def test_every_call_fills_its_placeholders():
    for u in USED:
        if u.given is None:
            continue
        needed = placeholders(TABLES[u.kind][DEFAULT][u.key])
        assert needed <= u.given or u.kind == UI and not u.given and u.key in STATIC, (u.key, u.where, needed - u.given)


# static texts (T) whose {placeholders} the page's gr.I18n fills at launch (studio.i18n.catalogue)
STATIC = {key for key, text in TABLES[UI][DEFAULT].items() if placeholders(text)}


def test_gan_core_renders_every_message_and_the_studio_every_language():
    """Each table's texts are valid format strings: rendered with stand-in values, none fails."""
    class Anything(float):
        def __format__(self, spec):
            return format(1.5, spec) if spec else "x"

    for kind, tables in TABLES.items():
        for lang, table in tables.items():
            for key, text in table.items():
                text.format(**{name: Anything(1.5) for name in placeholders(text)})
