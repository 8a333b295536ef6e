"""The studio in English and Simplified Chinese: one catalogue (studio/locales/*.json), two ways in.

    gr.Button(T("explore_random"))        # static text: the browser shows it in the page's language
    say("gallery_caption", seed=3)        # text a handler writes: in the page's language, English for API clients
    core(err)                             # a gan_core UserError (its key and parameters), in the page's language
    word("Age")                           # model vocabulary (directions, their ends, attributes)

Static text goes through Gradio's own gr.I18n: the page follows the browser's language, and the
header's switch changes it for the whole page, kept across reloads (see "the page" below). Text
made at run time cannot be translated by the browser, so the page tells the server its language:
a small script (HEAD) copies the language the page shows into the cookie `studio-lang`, and
`language()` reads it from the request being served.
A request without that cookie (gradio_client, curl) gets English: API messages stay as they were.
"""
from __future__ import annotations

import functools
import json
from pathlib import Path

import gradio as gr
from gradio.i18n import I18nData

from gan_core.errors import Phrase, UserError, excerpt
from gan_core.messages import MESSAGES

LANGUAGES = ("en", "zh-CN")
DEFAULT = "en"
COOKIE = "studio-lang"
LOCALES = Path(__file__).with_name("locales")


def _load() -> dict[str, dict]:
    return {lang: json.loads((LOCALES / f"{lang}.json").read_text(encoding="utf-8")) for lang in LANGUAGES}


CATALOGUE = _load()  # {"en": {"ui": {key: text}, "words": {English: text}}, "zh-CN": {..., "core": {key: text}}}
UI = {lang: CATALOGUE[lang]["ui"] for lang in LANGUAGES}        # texts by key: the page's and the messages
WORDS = {lang: CATALOGUE[lang]["words"] for lang in LANGUAGES}  # model vocabulary, by its English
# The browser translates any text that equals a key, values included (a radio's "Real", a textbox
# holding "share"): the page's keys carry prefixes no value has.
TEXT, WORD = "studio:", "studio-word:"


def T(key: str) -> I18nData:
    """A static string, translated by the browser (a key missing from the catalogue fails at start)."""
    if key not in UI[DEFAULT]:
        raise KeyError(f"no text {key!r} in studio/locales/{DEFAULT}.json")
    return I18nData(TEXT + key)


def choices(values) -> list[tuple[I18nData, str]]:
    """(label, value) choices for a static Radio or Dropdown: the browser shows each value in the
    page's language (model vocabulary), the handlers and the API get the English value."""
    return [(I18nData(WORD + v) if v in WORDS[DEFAULT] else v, v) for v in values]


def labelled(values) -> list[tuple[str, str]]:
    """(label, value) choices a handler sends: labels in the page's language."""
    return [(word(v), v) for v in values]


def catalogue(**values) -> gr.I18n:
    """The page's gr.I18n: every text, with the numbers static texts quote (`values`: limits
    defined in the code, {photos}, {mb}, ...) filled in, and the model vocabulary."""
    def filled(text: str) -> str:
        try:
            return text.format(**values)
        except (KeyError, IndexError, ValueError):  # a run-time text: its values come later, from say()
            return text
    return gr.I18n(**{lang: {**GRADIO.get(lang, {}), **{WORD + w: text for w, text in WORDS[lang].items()},
                             **{TEXT + key: filled(text) for key, text in UI[lang].items()}}
                      for lang in LANGUAGES})


# what Gradio 6.31's own zh-CN lacks: its status tracker's "complete", the footer's "Runs" (run history), ...
GRADIO = {"zh-CN": {"common.complete": "完成", "common.runs": "运行记录",
                    "common.runs_description": "查看保存在此浏览器中的运行记录", "common.back_to_app": "应用",
                    "common.back_to_app_description": "返回应用", "common.download_all": "全部下载",
                    "common.progress": "进度", "common.run": "运行"}}


# --- the language of the request being served --------------------------------------------------
def language() -> str:
    """The page's language for the request being served ("en" or "zh-CN"): its `studio-lang`
    cookie, which the page sets; English without one (API clients, tests, start-up)."""
    from gradio.context import LocalContext  # set by Gradio around every event handler

    request = LocalContext.request.get(None)
    try:
        chosen = (request.cookies or {}).get(COOKIE) if request is not None else None
    except AttributeError:  # a request without cookies
        chosen = None
    return chosen if chosen in LANGUAGES else DEFAULT


def say(key: str, **values) -> str:
    """Run-time text `key` in the page's language, its {placeholders} filled from `values`."""
    lang = language()
    return UI[lang].get(key, UI[DEFAULT][key]).format(**values)


def sentences(*parts: str) -> str:
    """Sentences in a row: a space between them, none after Chinese full-width punctuation
    (。 ！ ？ ） ...), which carries its own; empty parts left out."""
    out = ""
    for part in (p.strip() for p in parts):
        if part:
            out += ("" if not out or out[-1] in FULL_WIDTH_ENDS else " ") + part
    return out


FULL_WIDTH_ENDS = "。！？；：）」”"  # 。！？；：）」”


def word(text) -> str:
    """Model vocabulary (a direction's name or ends, an attribute, a model's name) in the page's
    language; a word the catalogue does not know (a direction you taught) is shown as it is."""
    if not isinstance(text, str):
        return text
    return WORDS[language()].get(text, text)


# --- gan_core's messages, by key -----------------------------------------------------------------
# gan_core raises UserError(key, **params) and renders its English from gan_core.messages.MESSAGES;
# the page shows the same key in its own language (studio/locales/<lang>.json, section "core").
CORE_TEXT = {DEFAULT: MESSAGES, **{lang: CATALOGUE[lang]["core"] for lang in LANGUAGES if lang != DEFAULT}}


def _param(value, lang: str):
    """A message's parameter as the page shows it: a Phrase in the page's language, a list joined
    with the page's separator, model vocabulary through word(); numbers as they are."""
    if isinstance(value, Phrase):
        return _core(value.key, value.params, lang)
    if isinstance(value, (list, tuple)):
        return excerpt(UI[lang]["list_separator"].join(str(_param(v, lang)) for v in value))
    if isinstance(value, str):
        return excerpt(WORDS[lang].get(value, value))
    return value


def _core(key: str, params: dict, lang: str) -> str:
    text = CORE_TEXT[lang].get(key, MESSAGES[key])  # tests/test_messages.py: every key is in every language
    return text.format(**{name: _param(value, lang) for name, value in params.items()})


def core(message: UserError | Phrase) -> str:
    """A gan_core message (a UserError, or a Phrase in it) in the page's language."""
    return _core(message.key, message.params, language())


def error(err: UserError) -> gr.Error:
    """The gr.Error a user's mistake becomes, its message in the page's language (the toast's own
    "Error" heading is Gradio's: 6.31 shows it whatever title is given)."""
    return gr.Error(core(err))


# --- the page ---------------------------------------------------------------------------------------
# Gradio 6.31 picks the page's language once, from navigator.language, when the page starts (its
# Settings -> Language changes only what is drawn again, and is forgotten on reload). The page's
# own switch (SWITCH) stores the choice in localStorage and reloads; EARLY, the first script of the
# page Gradio serves (EarlyScript), lets the browser report that choice as its language, so Gradio
# starts in it and the whole page is drawn in it at once. HEAD then copies the page's language
# into the cookie `studio-lang`, so that what the server writes follows it: at once, and later
# from a hidden probe whose text Gradio translates ("en", "zh-CN"), for Settings -> Language.
STORE_KEY = "studio-lang"  # localStorage: the language the switch chose
EARLY = """<script>
(() => {
  let chosen = null;
  try { chosen = localStorage.getItem(%s); } catch (e) {}
  if (!%s.includes(chosen)) return;  // no choice made: the browser's language, as Gradio picks it
  Object.defineProperty(navigator, 'language', {get: () => chosen, configurable: true});
  Object.defineProperty(navigator, 'languages', {get: () => [chosen], configurable: true});
})();
</script>""" % (json.dumps(STORE_KEY), json.dumps(list(LANGUAGES)))

HEAD = """<script>
(() => {
  const supported = %s, cookie = %s;
  const set = (lang) => {
    if (!supported.includes(lang) || document.cookie.includes(cookie + '=' + lang)) return;
    document.cookie = cookie + '=' + lang + '; path=/; SameSite=Lax';
    document.documentElement.lang = lang;
  };
  set(supported.includes(navigator.language) ? navigator.language : 'en');
  setInterval(() => {
    const probe = document.querySelector('#studio-language');
    if (probe) set(probe.textContent.trim());
  }, 300);
})();
</script>""" % (json.dumps(list(LANGUAGES)), json.dumps(COOKIE))

CSS = """
#studio-language { display: none !important; }
#language-switch { flex-grow: 0; min-width: max-content; align-self: flex-start; }
"""

# the header's button: the other language, for the whole page at once, kept across reloads
SWITCH = """() => {
  const shown = (document.querySelector('#studio-language')?.textContent || '').trim();
  const next = shown === 'zh-CN' ? 'en' : 'zh-CN';
  try { localStorage.setItem(%s, next); } catch (e) {}
  document.cookie = %s + '=' + next + '; path=/; SameSite=Lax';
  window.location.reload();
}""" % (json.dumps(STORE_KEY), json.dumps(COOKIE))


class EarlyScript:
    """ASGI middleware: `script` first in the <head> of every HTML page the app serves (Gradio's
    page has no other way in before its own scripts start)."""

    def __init__(self, app, script: str = EARLY):
        self.app, self.script = app, script.encode()

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        held: dict = {}

        async def send_page(message):
            if message["type"] == "http.response.start":
                headers = dict(message.get("headers") or [])
                if headers.get(b"content-type", b"").startswith(b"text/html") \
                        and b"content-encoding" not in headers:
                    held.update(start=message, body=b"")
                    return
            elif message["type"] == "http.response.body" and held:
                held["body"] += message.get("body", b"")
                if message.get("more_body"):
                    return
                body = held["body"].replace(b"<head>", b"<head>" + self.script, 1)
                headers = [(k, v) for k, v in held["start"].get("headers", []) if k != b"content-length"]
                headers.append((b"content-length", str(len(body)).encode()))
                await send({**held["start"], "headers": headers})
                await send({"type": "http.response.body", "body": body})
                return
            await send(message)

        await self.app(scope, receive, send_page)


def in_both_languages(demo: gr.Blocks, middleware: tuple = (), **values) -> gr.Blocks:
    """`demo` whose every launch (python app.py, Spaces, the tests' fixture) serves the catalogue
    (`values`: see catalogue), the language scripts and their CSS, unless the caller passes its own;
    `middleware`: more of it (starlette Middleware), after the language's."""
    from starlette.middleware import Middleware

    demo.launch = functools.partial(demo.launch, i18n=catalogue(**values), head=HEAD, css=CSS,
                                    app_kwargs={"middleware": [Middleware(EarlyScript), *middleware]})
    return demo
