"""The studio's two languages (studio/i18n.py, studio/locales/*.json): both complete, every text
used, placeholders that agree, the page's language read from its cookie (English without one), and
gan_core's messages and status data rendered by key in Chinese (tests/test_messages.py checks every
key the code uses against every locale)."""
import ast
import functools
import json
import re
import string
from pathlib import Path

import pytest

from studio import i18n
from studio.i18n import DEFAULT, LANGUAGES, UI, WORDS

ROOT = Path(__file__).resolve().parents[1]
SOURCES = [ROOT / "app.py", *sorted((ROOT / "studio").glob("*.py"))]
CJK = re.compile(r"[\u3400-\u9fff]")
SAME_IN_BOTH = {"page_language"}  # the probe's text is the language's own code
NO_CHINESE = {"list_separator", "part_separator", "value_separator", "card_caption", "card_detector", "photo_quality",
              "direction_ends", "browser_line"}  # punctuation, numbers and names only


def placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def keys_in(node) -> set[str]:
    """The keys an argument can name: a string, or either branch of a conditional (or its variable's)."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return {node.value}
    if isinstance(node, ast.IfExp):
        return keys_in(node.body) | keys_in(node.orelse)
    return set()


def used_keys() -> set[str]:
    """Keys named in T("...") and say("...") in the code (a key held in a variable first, as
    model_info's, is found where the variable is set)."""
    keys = set()
    for path in SOURCES:
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) in ("T", "say") and node.args:
                keys |= keys_in(node.args[0])
            if isinstance(node, ast.Assign) and isinstance(node.value, ast.IfExp):
                keys |= {k for k in keys_in(node.value) if k in UI[DEFAULT]}
    return keys


def test_both_languages_have_every_key_and_every_word():
    for lang in LANGUAGES:
        assert set(UI[lang]) == set(UI[DEFAULT]), lang
        assert set(WORDS[lang]) == set(WORDS[DEFAULT]), lang
        assert all(isinstance(t, str) and t.strip() for t in UI[lang].values()), lang
    assert len(UI["zh-CN"]) > 250
    from gan_core.messages import MESSAGES
    assert set(i18n.CORE_TEXT["zh-CN"]) == set(MESSAGES) and len(MESSAGES) > 200  # gan_core's, by key


def test_no_key_is_unused_and_none_is_missing():
    used = used_keys()
    assert not used - set(UI[DEFAULT]), "used in the code, missing from the catalogue"
    assert not set(UI[DEFAULT]) - used, "in the catalogue, used nowhere"


def test_chinese_is_chinese_and_the_placeholders_agree():
    for key, english in UI[DEFAULT].items():
        chinese = UI["zh-CN"][key]
        if key not in SAME_IN_BOTH | NO_CHINESE:
            assert CJK.search(chinese), key
        if key == "live_intro":  # English quotes gan_core's sentence about the recipe; Chinese has its own
            assert placeholders(english) - placeholders(chinese) == {"balance"}
            continue
        assert placeholders(english) == placeholders(chinese), key
    for english, chinese in WORDS["zh-CN"].items():
        assert WORDS["en"][english] == english
        assert CJK.search(chinese) or english in ("z",), english


def vocabulary() -> set[str]:
    """What the studio shows from the models and gan_core: their names, directions and their ends,
    the classifier's attributes, the pickers' choices, the curves' names."""
    from gan_core.analysis.dashboard import CHANCE, LOSSES, OUTPUTS, SHORT
    from gan_core.analysis.dissection import LABELS, PARTS
    from gan_core.editing.directions import GROUPS, METHODS
    from gan_core.photos.inversion import WORDS as CLOSENESS
    from gan_core.editing.morph import EASINGS
    from studio.discriminator_tab import SOURCES as ASK_SOURCES
    from studio.discriminator_tab import STEP_KINDS
    from studio.game_tab import DIGITS, FACES, FAKE, REAL
    from studio.state import CONFIG
    from studio.training_tab import LIVE_RUN

    words = {*GROUPS, *(m.description for m in METHODS.values()), *EASINGS, "slerp", "lerp", *ASK_SOURCES,
             *STEP_KINDS, DIGITS, FACES, REAL, FAKE, LIVE_RUN, *LOSSES.values(), *OUTPUTS.values(), CHANCE,
             *SHORT.values(), *(w for _, w in CLOSENESS),
             *(name for name, _ in CONFIG.bundled), *(p[0] for p in CONFIG.face_math_presets),
             *PARTS, *LABELS}  # D's named units (studio/units_panel.py)
    for _, folder in CONFIG.bundled:
        words.add(json.loads((folder / "config.json").read_text())["name"])
        info = json.loads((folder / "directions.json").read_text())
        words |= {p[0] for p in info.get("face_math_presets", [])}
        for d in info["directions"]:
            words |= {d["name"], d["negative"], d["positive"]}
            if "attribute" in d.get("quality", {}):
                words.add(d["quality"]["attribute"].replace("_", " ").lower())
    from gan_core.analysis.attributes import load_classifier
    classifier = load_classifier(dict(CONFIG.bundled)["Faces (CelebA 64x64)"], "cpu")
    words |= {name.replace("_", " ").lower() for name in classifier.names}
    names = re.compile(r"(SeFa|PCA) \d+|\d|[-+]|D\(x\)|D\(G\(z\)\)")  # shown as they are: names, numbers, maths
    return {w for w in words if not names.fullmatch(w)}


def test_every_word_the_page_shows_has_chinese_and_no_word_is_unused():
    assert set(WORDS["zh-CN"]) == vocabulary()


class Request:
    def __init__(self, cookies=None):
        self.cookies = cookies or {}


@pytest.mark.parametrize("cookies, expected", [
    (None, "en"), ({}, "en"), ({"studio-lang": "zh-CN"}, "zh-CN"), ({"studio-lang": "en"}, "en"),
    ({"studio-lang": "fr"}, "en"), ({"studio-lang": "<script>"}, "en")])
def test_the_page_language_comes_from_its_cookie_and_is_english_without_one(cookies, expected):
    from gradio.context import LocalContext

    token = LocalContext.request.set(Request(cookies) if cookies is not None else None)
    try:
        assert i18n.language() == expected
        assert i18n.say("seed_caption", seed=3) == ("种子 3" if expected == "zh-CN" else "seed 3")
        assert i18n.word("Real") == ("真" if expected == "zh-CN" else "Real")
        assert i18n.word("a direction you taught") == "a direction you taught"
    finally:
        LocalContext.request.reset(token)
    assert i18n.language() == "en"  # outside a request (start-up, tests, the API's default)


def user_errors() -> list:
    """Real UserErrors from gan_core, as careless input gets them."""
    from gan_core.editing.directions import check_name, check_text, direction_from_json, fit_user_direction
    from gan_core.errors import UserError
    from gan_core.editing.face import Face
    from gan_core.model.latent import check_psi, check_seed, parse_seeds
    from gan_core.editing.morph import MorphSettings, keyframes_from_text
    from gan_core.data.uploads import load_upload

    attempts = [lambda: Face.parse("hello"), lambda: Face.parse('{"seed": 1e400}'), lambda: Face.parse(""),
                lambda: Face.parse({"seed": -1}), lambda: Face.parse({"seed": 1, "shoe": 1}),
                lambda: Face.parse([1, 2]), lambda: Face.parse({"seed": 1, "edits": {"3": 9}}),
                lambda: Face.parse({"seed": 1, "edits": {"500": 1}}).check(100, {}),
                lambda: Face.parse({"seed": 1, "moves": {"Bogus": 1}}).check(100, {}),
                lambda: Face.parse({"z": [0.1] * 7}).check(100, {}),
                lambda: check_seed("x"), lambda: check_psi(2), lambda: parse_seeds("-4, 7"),
                lambda: keyframes_from_text("7", 100), lambda: keyframes_from_text("0, x", 100),
                lambda: MorphSettings(120, easing="linear").frame_count(16), lambda: MorphSettings(fps=0),
                lambda: MorphSettings(24, size=4096, easing="linear"),
                lambda: check_name(check_text("**bold** <b>")), lambda: check_name(" "),
                lambda: fit_user_direction("freckles", [[0.0] * 100] * 3, [], 100),
                lambda: direction_from_json({"name": "tiny", "method": "user", "vector": [1, 2, 3]}, 100),
                lambda: direction_from_json({"name": "odd", "method": "conditional", "vector": [1.0] * 100}, 100),
                lambda: load_upload(str(ROOT / "README.md"), 64, 3)]
    found = []
    for attempt in attempts:
        with pytest.raises(UserError) as info:
            attempt()
        found.append(info.value)
    return found


def in_language(lang: str, fn, *args, **kwargs):
    """fn(*args, **kwargs) as a handler serving a page in `lang` runs it."""
    from gradio.context import LocalContext

    token = LocalContext.request.set(Request({"studio-lang": lang}))
    try:
        return fn(*args, **kwargs)
    finally:
        LocalContext.request.reset(token)


def test_gan_core_messages_reach_the_page_by_key():
    for err in user_errors():
        chinese = in_language("zh-CN", i18n.core, err)
        assert CJK.search(chinese), str(err)
        assert not re.search(r"[a-z]{3,} [a-z]{3,} [a-z]{3,}", chinese), (str(err), chinese)  # no English sentence
        assert in_language("en", i18n.core, err) == i18n.core(err) == str(err)  # what API clients get: unchanged


def test_a_phrase_in_a_message_and_the_vocabulary_in_it_follow_the_page():
    from gan_core.editing.face import Face

    with pytest.raises(ValueError) as info:
        Face(seed=1, moves={"Age": "x"})
    assert str(info.value) == "the offset of 'Age' must be a number, got 'x'"
    assert in_language("zh-CN", i18n.core, info.value) == "'年龄' 的偏移量必须是数字，而不是 'x'"
    with pytest.raises(ValueError) as info:
        Face(seed=1, moves={"Age": 1}).check(100, {"Smile": None, "Glasses": None})
    assert in_language("zh-CN", i18n.core, info.value) == "未知的方向 '年龄'；这个模型有：笑容、眼镜"


class Status:  # what a gan_core.training.live.LiveStatus holds, for live_message
    def __init__(self, running=False, ending="", step=0, total=0, seconds=0.0, minutes=0.0, error=""):
        self.running, self.ending, self.step, self.total = running, ending, step, total
        self.seconds, self.minutes, self.error = seconds, minutes, error

    @property
    def started(self):
        return self.running or bool(self.ending)


def test_status_data_is_written_in_the_page_language():
    from pathlib import Path

    from gan_core.analysis.dashboard import Run
    from gan_core.editing.face import Face
    from studio.discriminator_tab import face_words
    from studio.training_tab import live_message, run_summary

    zh = functools.partial(in_language, "zh-CN")
    assert zh(live_message, Status(running=True, step=12, total=1100, seconds=3.2)) == "训练中：第 12 步，共 1100 步，3 秒"
    assert zh(live_message, Status(ending="stopped", step=40, total=100, seconds=2)) == "已停止：第 40 步，共 100 步，用时 2 秒"
    assert zh(live_message, Status(ending="out of time", step=9, total=100, seconds=7, minutes=0.1)) \
        == "0.1 分钟已到：第 9 步，共 100 步，用时 7 秒"
    assert zh(live_message, Status()) == "还没有现场训练"
    assert live_message(Status(ending="finished", step=6, total=6, seconds=1)) == "finished at step 6 of 6 after 1 s"
    assert zh(face_words, Face(seed=4, edits={1: 0.5})) == "种子 4，移动了 1 个滑块"
    assert face_words(Face(z=[0.0] * 4, edits={1: 0.5, 2: 1})) == "your face, 2 sliders moved"
    record = {"step": 38242, "seconds": 576, "loss_d": 0.589, "loss_g": 2.196, "d_real": 0.782}
    run = Run(Path("."), Path("log.jsonl"), [record], [(i, Path(f"{i}.png")) for i in range(8)])
    assert zh(run_summary, run) == "38,242 步，用时 9.6 分钟；最后一段：D 的损失 0.589，G 的损失 2.196，D(x) 0.782；8 张样本网格"
    from gan_core.analysis.dashboard import summary
    assert run_summary(run) == summary(run)  # the page in English says what gan_core's English line says


def test_the_layer_picker_is_labelled_in_the_page_language():
    from studio.discriminator_tab import model_settings
    from studio.session import Session

    update, *_ = in_language("zh-CN", model_settings, Session.opening("Digits (MNIST 32x32)"))
    assert update["choices"][0] == ("第 1 层：32 张 16x16 的特征图", 0)


def test_every_launch_serves_both_languages():
    import gradio as gr

    with gr.Blocks() as demo:
        gr.Markdown(i18n.T("header"))
    i18n.in_both_languages(demo, photos=8, mb=10, page=8, frames=600, size=512, frames_at_max=203, round=8, lr_weights="2e-05",
                           lr_z="0.05", balance="Balanced.")
    catalogue = demo.launch.keywords["i18n"].translations_dict
    assert set(catalogue) == set(LANGUAGES)
    assert catalogue["zh-CN"]["studio:photo_files"] == "照片（最多 8 张，每张不超过 10 MB）"
    assert catalogue["en"]["studio:live_intro"].count("Balanced.") == 1
    assert catalogue["zh-CN"]["studio-word:Real"] == "真"
    assert catalogue["zh-CN"]["common.runs"] == "运行记录"  # the footer's link, which Gradio's own zh-CN lacks
    assert "studio-lang" in demo.launch.keywords["head"]
    assert [m.cls for m in demo.launch.keywords["app_kwargs"]["middleware"]] == [i18n.EarlyScript]
    with pytest.raises(KeyError):
        i18n.T("no_such_text")


def test_sentences_and_numbers_read_as_chinese_in_chinese():
    assert i18n.sentences("照片 1：没有找到眼睛。", "", " 照片 2 现在是当前人脸。") == "照片 1：没有找到眼睛。照片 2 现在是当前人脸。"
    assert i18n.sentences("Original: close. ", "Photo 1 is the current face now.", " Click another row.") == \
        "Original: close. Photo 1 is the current face now. Click another row."
    zh = functools.partial(in_language, "zh-CN")
    assert zh(i18n.say, "verdict_fake", p=0.29) == "假（0.29）"
    assert zh(i18n.say, "photo_quality", how=zh(i18n.word, "close"), distance=0.243, psnr=31.24) == \
        "很接近（人脸匹配 0.24；31.2 dB）"
    assert "数字约" not in UI["zh-CN"]["teach_size_pixels"]
    for key, text in UI["zh-CN"].items():  # full-width punctuation in Chinese sentences, no space after 。
        assert "。 " not in text and not re.search(r"[\u3400-\u9fff] ?[,(]", text), (key, text)


def test_every_curve_of_a_plot_is_in_its_table_in_every_language():
    """The plot keeps the colour domain of the first table it draws (Gradio 6.31): every table
    names every series of its plot (D's accuracy too, for runs that did not log it), each with its
    colour in the page's language."""
    import math

    from gan_core.analysis.dashboard import read_run
    from studio.state import CONFIG
    from studio.training_tab import CURVE_COLOURS, curves

    faces, digits = (read_run(folder) for _, folder in CONFIG.bundled)
    for lang in LANGUAGES:
        for run in (faces, digits):
            losses, outputs = in_language(lang, curves, run.records)
            accuracy = WORDS[lang]["D's accuracy: real and generated told apart"]
            assert set(outputs["series"]) == {WORDS[lang][s] for s in ("D(x): real images", "D(G(z)): generated images",
                                                                       "0.5: D cannot tell")} | {accuracy}
            assert set(outputs["series"]) | set(losses["series"]) <= set(CURVE_COLOURS)
            drawn = outputs[outputs["series"] == accuracy]["value"]
            assert all(map(math.isnan, drawn)) if run is faces else len(drawn) == len(run.records) > 100


def test_the_page_gradio_serves_starts_with_the_switchs_choice():
    """EarlyScript puts EARLY first in the <head> of HTML pages (before Gradio picks its language
    from navigator.language) and leaves everything else as it was."""
    from starlette.applications import Starlette
    from starlette.middleware import Middleware
    from starlette.responses import HTMLResponse, JSONResponse
    from starlette.routing import Route
    from starlette.testclient import TestClient

    page = Starlette(routes=[Route("/", lambda r: HTMLResponse("<html><head><title>x</title></head></html>")),
                             Route("/config", lambda r: JSONResponse({"head": "<head>"}))],
                     middleware=[Middleware(i18n.EarlyScript)])
    with TestClient(page) as client:
        html = client.get("/").text
        assert html.startswith("<html><head>" + i18n.EARLY + "<title>") and html.count("<head>") == 1
        assert client.get("/config").json() == {"head": "<head>"}
    assert "localStorage" in i18n.EARLY and "navigator" in i18n.EARLY and "reload" in i18n.SWITCH


# --- the page says what the session's model draws ------------------------------------------------
FACES_MODEL, DIGITS_MODEL = "Faces (CelebA 64x64)", "Digits (MNIST 32x32)"
FACE = {"en": re.compile(r"\bfaces?\b", re.I), "zh-CN": re.compile("脸")}
DIGIT = {"en": re.compile(r"\bdigits?\b", re.I), "zh-CN": re.compile("数字")}


def page_on(model: str, monkeypatch):
    """The page's header and its Explore, Morph, Face math and Ask D tabs, laid out and wired for a
    session that opens on `model`; (the page, {tab id: the texts its parts show, by language})."""
    import gradio as gr

    from studio import page as page_module
    from studio.discriminator_tab import AskTab
    from studio.explore_tab import ExploreTab
    from studio.math_tab import MathTab
    from studio.morph_tab import MorphTab

    monkeypatch.setattr(page_module, "DEFAULT_MODEL", model)
    with gr.Blocks() as demo:
        page = page_module.Page.header(demo)
        with gr.Tabs() as page.tabs:
            tabs = [tab(page) for tab in (ExploreTab, MorphTab, MathTab, AskTab)]
        for tab in tabs:
            tab.wire()
    photo_panel = set(blocks_under(tabs[0].photos.panel))  # about faces by design: hidden on a digits model
    catalogue = i18n.catalogue(photos=8, mb=10, page=8, frames=600, size=512, frames_at_max=203, round=8, lr_weights="2e-05",
                               lr_z="0.05", balance="").translations_dict
    shown = {}
    for tab in (b for b in demo.blocks.values() if isinstance(b, gr.Tab)):
        parts = [b for b in blocks_under(tab) if b not in photo_panel]
        shown[tab.id] = {lang: [text_in(value, catalogue[lang]) for part in parts for value in texts_of(part)]
                         for lang in LANGUAGES}
    return page, shown


def blocks_under(block):
    yield block
    for child in getattr(block, "children", []):
        yield from blocks_under(child)


def texts_of(block):
    """What a part of the page shows as text: its label, info, placeholder, text, choices' labels (a
    picker's value is one of its choices, shown by its label)."""
    for name in ("label", "info", "placeholder") + (() if getattr(block, "choices", None) else ("value",)):
        value = getattr(block, name, None)
        if isinstance(value, (str, i18n.I18nData)):
            yield value
    for choice in getattr(block, "choices", None) or []:
        yield choice[0] if isinstance(choice, tuple) else choice


def text_in(value, translations: dict) -> str:
    """A text as the browser shows it in one language (a catalogue key translated)."""
    if isinstance(value, i18n.I18nData):
        value = str(value)
    if isinstance(value, str) and value.startswith("__i18n__"):
        return translations[json.loads(value[len("__i18n__"):])["key"]]
    return str(value)


def test_on_the_digits_model_every_tab_says_digit_and_none_says_face(monkeypatch):
    page, shown = page_on(DIGITS_MODEL, monkeypatch)
    assert set(shown) == {"explore", "morph", "math", "ask"}
    for tab, texts in shown.items():
        for lang in LANGUAGES:
            assert not [t for t in texts[lang] if FACE[lang].search(t)], (tab, lang)
            assert sum(bool(DIGIT[lang].search(t)) for t in texts[lang]) >= 3, (tab, lang)  # intros, labels, buttons
    for lang in LANGUAGES:
        assert ("Digit math", "数字运算")[lang != "en"] in shown["math"][lang]
        assert ("Current digit", "当前数字")[lang != "en"] in shown["explore"][lang]
        assert any(("how the digit should change", "数字该怎样变化")[lang != "en"] in t for t in shown["ask"][lang])


def test_a_page_that_switches_model_says_digit_then_face_again(monkeypatch):
    """The texts Page.tell laid out for the faces model, after a switch to the digits model and back."""
    from studio.session import Session

    page, shown = page_on(FACES_MODEL, monkeypatch)
    assert "Face math" in shown["math"]["en"] and "人脸运算" in shown["math"]["zh-CN"]
    from studio.state import TOLD
    assert sorted(key for _, texts in page.texts for key in texts.values() if key != "truncation_info") == sorted(
        set(TOLD) - {"truncation_info"})  # each laid out once (the truncation's info on Explore and on Morph)
    catalogue = i18n.catalogue().translations_dict
    for model, said in ((DIGITS_MODEL, DIGIT), (FACES_MODEL, FACE)):
        updates = page.retell(Session.opening(model))
        assert len(updates) == len(page.texts)
        for lang in LANGUAGES:
            texts = [text_in(v, catalogue[lang]) for u in updates for k, v in u.items() if k != "__type__"]
            other = FACE if said is DIGIT else DIGIT
            assert sum(bool(said[lang].search(t)) for t in texts) > 20, (model, lang)
            assert not [t for t in texts if other[lang].search(t) and not said[lang].search(t)], (model, lang)


def test_what_handlers_write_on_the_digits_model_says_digit(monkeypatch):
    import gradio as gr

    from gan_core.editing.face import Face
    from studio.discriminator_tab import KIND_WORDS, SOURCES, ask_discriminator, face_words, source_choices, take_steps
    from studio.explore_tab import pick_from_gallery, scan_page
    from studio.math_tab import do_face_math, preset_updates
    from studio.photos import photo_updates
    from studio.session import Session

    def message(fn, *args):
        with pytest.raises(gr.Error) as caught:
            fn(*args)
        return caught.value.message

    for lang in LANGUAGES:
        session = Session.opening(DIGITS_MODEL)
        said = functools.partial(in_language, lang)
        written = [said(message, pick_from_gallery, session, gr.SelectData(None, {"index": 0, "value": None})),
                   said(scan_page, session, 0)[1],
                   said(message, do_face_math, session, "", "1", "2"),
                   said(preset_updates, session)[1],
                   said(message, take_steps, session, KIND_WORDS["pixels"], 1, 0.25),
                   said(ask_discriminator, session, SOURCES[0], 0, None)[2],
                   said(face_words, Face(z=[0.0] * 100), True)]
        for text in written:
            assert DIGIT[lang].search(text) and not FACE[lang].search(text), (lang, text)
        assert not said(photo_updates, session)[0]["visible"]  # photos are faces: the note says where to find them
        assert ("the faces model", "人脸模型")[lang != "en"] in said(photo_updates, session)[1]
    assert [value for _, value in source_choices(DIGITS_MODEL)] == list(SOURCES[:3])  # no photo's crop: no photos
    assert [value for _, value in source_choices(FACES_MODEL)] == list(SOURCES)
