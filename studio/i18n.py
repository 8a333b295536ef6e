"""The studio in English and Simplified Chinese: one catalogue (studio/locales/*.json), two ways in.

    gr.Button(T("explore_random"))        # static text: the browser shows it in the page's language
    say("gallery_caption", seed=3)        # text a handler writes: in the page's language, English for API clients
    local(str(err))                       # an English gan_core message, in the page's language
    word("Age")                           # model vocabulary (directions, their ends, attributes)

Static text goes through Gradio's own gr.I18n: the page follows the browser's language, and the
footer's Settings -> Language switches it. Text made at run time cannot be translated by the
browser, so the page tells the server its language: a small script (HEAD) copies the language the
page shows into the cookie `studio-lang`, and `language()` reads it from the request being served.
A request without that cookie (gradio_client, curl) gets English: API messages stay as they were.
"""
from __future__ import annotations

import functools
import json
import re
from pathlib import Path

import gradio as gr
from gradio.i18n import I18nData

LANGUAGES = ("en", "zh-CN")
DEFAULT = "en"
COOKIE = "studio-lang"
LOCALES = Path(__file__).with_name("locales")


def _load() -> dict[str, dict]:
    return {lang: json.loads((LOCALES / f"{lang}.json").read_text(encoding="utf-8")) for lang in LANGUAGES}


CATALOGUE = _load()  # {"en": {"ui": {key: text}, "words": {English: text}}, "zh-CN": {...}}
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


GRADIO = {"zh-CN": {"common.complete": "完成"}}  # Gradio 6.31's own zh-CN lacks it (its status tracker says it)


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


def word(text) -> str:
    """Model vocabulary (a direction's name or ends, an attribute, a model's name) in the page's
    language; a word the catalogue does not know (a direction you taught) is shown as it is."""
    if not isinstance(text, str):
        return text
    return WORDS[language()].get(text, text)


# --- gan_core's messages -------------------------------------------------------------------------
# gan_core speaks English (its errors are the API's); each pattern names the catalogue text that
# says the same in another language, with the pattern's groups as its placeholders.
CORE = [
    ("core_seed_whole", r"a seed must be a whole number, got (?P<got>.*)"),
    ("core_seed_range", r"a seed must be between 0 and (?P<max>\d+), got (?P<got>.*)"),
    ("core_psi", r"truncation must be a number from 0 to 1, got (?P<got>.*)"),
    ("core_seed_negative", r"seeds are 0 to (?P<max>\d+); (?P<part>.*) is negative"),
    ("core_seed_backwards", r"seed range (?P<part>.*) runs backwards"),
    ("core_too_many_seeds", r"at most (?P<count>\d+) seeds at once"),
    ("core_no_seeds", r"no seeds in (?P<text>.*); write e\.g\. '0-63' or '1, 5, 42'"),
    ("core_number", r"(?P<what>.+) must be a number, got (?P<got>.*)"),
    ("core_between", r"(?P<what>.+) must be between -(?P<bound>[\d.]+) and [\d.]+, got (?P<got>.*)"),
    ("core_dimension_whole", r"a dimension is a whole number from 0, got (?P<got>.*)"),
    ("core_dimension_missing", r"dimension (?P<dim>\d+) does not exist: this model has dimensions 0 to (?P<last>\d+)"),
    ("core_seed_and_z", r"a face has a seed or a z, not both"),
    ("core_z_list", r"a face's z must be a list of numbers"),
    ("core_too_many_edits", r"a face holds at most (?P<edits>\d+) edits and (?P<moves>\d+) moves"),
    ("core_edits_map", r"edits map dimensions to offsets and moves map direction names to offsets"),
    ("core_move_name", r"a move needs a direction name of 1 to (?P<count>\d+) characters"),
    ("core_unknown_direction", r"unknown direction (?P<name>'.*'|\".*\"); this model has: (?P<known>.*)"),
    ("core_z_length", r"this face's z has (?P<got>\d+) numbers; this model's z has (?P<nz>\d+)"),
    ("core_face_shape", r'a face is a seed or \{"seed": 42, .*'),
    ("core_unknown_key", r"unknown key (?P<key>.*) in a face; it may have (?P<keys>.*)"),
    ("core_seed_or_z", r'a face needs a "seed" or a "z" \(not both\)'),
    ("core_edits_dict", r'"edits" must map dimension numbers to offsets'),
    ("core_moves_dict", r'"moves" must map direction names to offsets'),
    ("core_z_numbers", r'"z" must be a list of numbers'),
    ("core_paste_first", r"paste a face first, e\.g\. .*"),
    ("core_text_long", r"that text is too long for a face \((?P<got>[\d,]+) characters; at most (?P<max>[\d,]+)\)"),
    ("core_not_face", r"not a face: paste text like .*"),
    ("core_finite", r"numbers must be finite, got (?P<got>.*)"),
    ("core_face_list", r"a JSON list of seeds and faces, e\.g\. .*"),
    ("core_list_long", r"at most (?P<max>\d+) faces in a list, got (?P<got>\d+)"),
    ("core_morph_two", r"a morph needs at least two keyframes \(e\.g\. 0, 7, 42\)"),
    ("core_keyframes_max", r"at most (?P<max>\d+) keyframes"),
    ("core_keyframes_range", r"a morph needs 2 to (?P<max>\d+) keyframes, got (?P<got>\d+)"),
    ("core_frames_min", r"frames per segment must be at least 1"),
    ("core_frames_max", r"(?P<total>\d+) frames is more than the (?P<max>\d+) allowed; .*"),
    ("core_size", r"the output size must be 16 to (?P<max>\d+) pixels, got (?P<got>.*)"),
    ("core_easing", r"easing must be one of .*"),
    ("core_path", r"the path must be slerp or lerp, got (?P<got>.*)"),
    ("core_span", r"walk -span to \+span with a span of 0 to 5, got (?P<got>.*)"),
    ("core_fps", r"fps must be (?P<low>[\d.]+) to 60, got (?P<got>.*)"),
    ("core_exemplars", r"(?P<name>.+) needs 1 to (?P<max>\d+) exemplar faces, got (?P<got>\d+)"),
    ("core_colour_mode", r"images in colour mode (?P<mode>\S+) are not supported; .*"),
    ("core_megapixels", r"(?P<name>.+) is (?P<size>\d+x\d+) pixels \((?P<mp>[\d.e+]+) megapixels\); "
                        r"the limit is (?P<limit>[\d.e+]+) megapixels"),
    ("core_too_small", r"(?P<name>.+) is only (?P<size>\d+x\d+) pixels; upload an image at least (?P<min>\d+) "
                       r"pixels on each side"),
    ("core_animation", r"(?P<name>.+) is an animation \((?P<frames>\d+) frames\); upload a still image"),
    ("core_decode_memory", r"(?P<name>.+) would take (?P<need>\d+) MB of memory to decode .*at most (?P<max>\d+) MB.*"),
    ("core_empty_file", r"(?P<name>.+) is empty \(0 bytes\)"),
    ("core_file_big", r"(?P<name>.+) is (?:over )?(?P<mb>[\d.]+) MB; upload an image of at most (?P<max>\d+) MB"),
    ("core_pixels_unsafe", r"(?P<name>.+) has too many pixels to decode safely; the limit is (?P<limit>[\d.e+]+) "
                           r"megapixels"),
    ("core_not_image", r"(?P<name>.+) is not an image that can be read \(PNG, JPEG, WebP, GIF, BMP or TIFF\)"),
    ("core_broken_image", r"(?P<name>.+) could not be decoded as an image \(damaged or cut short\?\): .*"),
    ("core_direction_finite", r"the direction's numbers must be finite \(no NaN or infinity\)"),
    ("core_direction_zero", r"a direction cannot be the zero vector"),
    ("core_fit_both", r"fitting a direction needs faces on both sides: some marked yes and some no"),
    ("core_fit_separate", r"the marked faces do not separate along any direction; mark more, or clearer ones"),
    ("core_text_long_name", r"(?P<what>.+) has at most (?P<max>\d+) characters \(this has (?P<got>\d+)\)"),
    ("core_text_chars", r"(?P<what>.+) may use only letters, digits, spaces and these characters: (?P<chars>.*); "
                        r"not (?P<bad>.*)"),
    ("core_text_type", r"(?P<what>.+) must be text, not (?P<type>\w+)"),
    ("core_name_first", r"name the concept first, e\.g\. 'freckles' or 'looks tired'"),
    ("core_name_taken", r"'(?P<name>.*)' is already a direction of this model; pick another name"),
    ("core_marks_min", r"mark at least (?P<min>\d+) faces, at least (?P<each>\d+) of them yes and \d+ no "
                       r"\(now (?P<yes>\d+) yes, (?P<no>\d+) no\)"),
    ("core_marks_max", r"at most (?P<max>\d+) marks"),
    ("core_quality_keys", r"a direction's quality is \{\} or has exactly (?P<keys>.*)"),
    ("core_quality_count", r"a direction's quality (?P<key>.*) is a count of marks from 0 to (?P<max>\d+), .*"),
    ("core_fit_accuracy", r"a direction's fit_accuracy is a number from 0 to 1, .*"),
    ("core_not_direction", r'not a direction: expected \{"name": \.\.\., "vector": \[\.\.\.\]\}'),
    ("core_direction_length", r"this direction has (?P<got>\d+) numbers; this model's z has (?P<nz>\d+)"),
    ("core_vector_numbers", r"a direction's vector must be numbers"),
    ("core_direction_keys", r"a direction has only the keys (?P<keys>.*); not (?P<extra>.*)"),
    ("core_user_direction", r'an uploaded direction is a user direction \(method "user"\), not (?P<got>.*)'),
    ("core_offset_number", r"the offset for (?P<name>.*) must be a number, got (?P<got>.*)"),
    ("core_offset_range", r"offset (?P<got>.*) for (?P<name>.*) is outside -(?P<max>[\d.]+)\.\.[\d.]+"),
    ("core_no_teacher", r"(?P<name>.+) was shipped without its discriminator .*"),
    ("core_steps_range", r"take 1 to (?P<max>\d+) steps, not (?P<got>.*)"),
    ("core_layers", r"D has layers 0 to (?P<last>\d+), not (?P<got>.*)"),
    ("core_maps", r"show 1 to (?P<max>\d+) feature maps of this layer, not (?P<got>.*)"),
    ("core_step_size", r"the step size must be above 0 and at most (?P<max>[\d.]+) grey levels, got (?P<got>.*)"),
    ("core_g_target", r"step the generator's 'weights' or its input 'z', not (?P<got>.*)"),
    ("core_lr", r"the learning rate for (?P<target>\w+) must be above 0 and at most (?P<max>[\d.e-]+), got (?P<got>.*)"),
    ("core_live_busy", r"a live run is already going \(step (?P<step>\d+) of (?P<total>\d+)\); .*"),
    ("core_live_owner", r"only the page that started this live run can stop it; it ends by itself at step "
                        r"(?P<total>\d+) or after (?P<minutes>[\d.]+) minutes"),
    ("core_live_minutes", r"a live run lasts more than 0 and at most (?P<max>[\d.]+) minutes, not (?P<got>.*)"),
    ("core_live_whole", r"(?P<name>.+) must be a whole number from (?P<low>\d+) to (?P<high>\d+), not (?P<got>.*)"),
    ("core_live_none", r"no live run yet"),
    ("core_live_step", r"training: step (?P<step>\d+) of (?P<total>\d+), (?P<seconds>\d+) s"),
    ("core_live_ended", r"(?P<how>finished|stopped|ended|out of time \(.*\)|failed \(.*\)) at step (?P<step>\d+) "
                        r"of (?P<total>\d+) after (?P<seconds>\d+) s"),
    ("core_out_of_time", r"out of time \((?P<minutes>[\d.]+) min\)"),
    ("core_failed", r"failed \((?P<why>.*)\)"),
    ("core_grid_step", r"a step is a number, got (?P<got>.*)"),
    ("core_no_grids", r".+: this run has no sample grids( yet| to make a time-lapse of)"),
    ("core_timelapse_fps", r"fps must be 0\.5 to 60, got (?P<got>.*)"),
    ("core_face_seed", r"seed (?P<seed>\d+)"),
    ("core_face_seed_moved", r"seed (?P<seed>\d+), (?P<count>\d+) sliders? moved"),
    ("core_face_yours", r"your face"),
    ("core_face_yours_moved", r"your face, (?P<count>\d+) sliders? moved"),
    ("core_run_steps", r"(?P<steps>[\d,]+) steps"),
    ("core_run_steps_minutes", r"(?P<steps>[\d,]+) steps in (?P<minutes>[\d.]+) min"),
    ("core_run_last", r"last interval: (?P<values>.*)"),
    ("core_run_grids", r"(?P<grids>\d+) sample grids?"),
    ("core_layer", r"layer (?P<number>\d+): (?P<maps>\d+) maps of (?P<size>\d+x\d+)"),
    ("core_faces_found", r"found (?P<count>\d+) faces; took the largest"),
    ("core_hub_offline", r"(?P<repo>\S+): not in the local Hugging Face cache and the Hub cannot be reached.*"),
    ("core_hub_no_repo", r"(?P<repo>\S+): no such repo on the Hugging Face Hub.*"),
    ("core_hub_download", r"(?P<repo>\S+): (the Hugging Face Hub refused the download|cannot download from the "
                          r"Hugging Face Hub).*"),
    ("core_hub_no_files", r"(?P<repo>\S+): the repo has no model files.*"),
    ("core_repo_id", r"not a Hugging Face repo id.*"),
    ("core_pick_model", r"pick a model from the list"),
]
_CORE = [(key, re.compile(pattern, re.S)) for key, pattern in CORE]
CURVE_LABELS = ("D's accuracy", "D loss", "G loss")  # as gan_core.dashboard.summary names them


@functools.lru_cache(maxsize=4096)
def _local(text: str, lang: str) -> str:
    for part in (text, text[:1].lower() + text[1:]):
        for key, pattern in _CORE:
            found = pattern.fullmatch(part)
            if found:
                values = found.groupdict(default="")
                if "how" in values:  # how a live run ended: finished, stopped, out of time, failed
                    values["how"] = local_in(values["how"], lang)
                if "values" in values:  # a run's last losses and outputs: "D loss 0.7, G loss 2.1, ..."
                    for label in CURVE_LABELS:
                        values["values"] = values["values"].replace(label, WORDS[lang].get(label, label))
                return UI[lang][key].format(**values)
    return text


def local_in(text: str, lang: str) -> str:
    """`text` (English, from gan_core) in `lang`: a known sentence translated, else as it is."""
    if lang == DEFAULT or not text:
        return text
    if text in WORDS[lang]:
        return WORDS[lang][text]
    if "; " in text and not any(p.fullmatch(text) for _, p in _CORE):  # several sentences joined
        return "；".join(local_in(part, lang) for part in text.split("; "))
    return _local(text, lang)


def local(text: str) -> str:
    """An English message from gan_core (an error, a status line), in the page's language."""
    return local_in(str(text), language())


def error(message: str) -> gr.Error:
    """The gr.Error a refused input becomes, its message in the page's language (the toast's own
    "Error" heading is Gradio's: 6.31 shows it whatever title is given)."""
    return gr.Error(local(message))


# --- the page ---------------------------------------------------------------------------------------
# The page's language, as Gradio shows it (browser, or Settings -> Language), copied into a cookie
# so that what the server writes follows it: read at once from the browser's language (as Gradio
# picks it), then from a hidden probe whose text Gradio translates ("en", "zh-CN").
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

OPEN_SETTINGS = "() => { document.querySelector('footer button.settings')?.click(); }"


def in_both_languages(demo: gr.Blocks, **values) -> gr.Blocks:
    """`demo` whose every launch (python app.py, Spaces, the tests' fixture) serves the catalogue
    (`values`: see catalogue), the language script and its CSS, unless the caller passes its own."""
    demo.launch = functools.partial(demo.launch, i18n=catalogue(**values), head=HEAD, css=CSS)
    return demo
