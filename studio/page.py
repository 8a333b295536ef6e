"""The page's frame: the header (language, model picker, Hub box), the session's one gr.State, and
the context each tab lays itself out and wires itself from.

    with gr.Blocks() as demo:
        page = Page.header(demo)
        with gr.Tabs() as page.tabs:
            tabs = [ExploreTab(page), MorphTab(page), ...]   # each lays itself out, in order
        for tab in tabs:
            tab.wire()                                       # then wires itself: every tab's parts exist

A tab follows what another tab changes through the page: page.follow_model (the session switched
models) and page.follow_directions (the session's directions changed), both after Explore's events.
A text that names what the model draws (a face, a digit) is laid out through page.tell, and follows
the session's model by itself.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import gradio as gr

from studio.i18n import SWITCH, T, choices
from studio.session import Session
from studio.state import DEFAULT_MODEL, STORE, told

PRIVATE = dict(api_visibility="private")  # wiring only: no API endpoint
QUIET = dict(show_progress="hidden")  # a refused input leaves the face shown, with a message, not an "Error" box
LIVE = dict(trigger_mode="always_last", show_progress="hidden", queue=False)  # follows a drag, outside the queue
# Renders (morphs, walks, time-lapses) share one budget for the whole server, whichever event starts
# them: at most RENDERS at once, the rest wait in the queue, and the light events (the face, the
# sliders, the gallery) keep their own workers; a render runs at a lower CPU priority (studio/priority.py).
RENDERS = 2
HEAVY = dict(concurrency_id="render", concurrency_limit=RENDERS)


def reveal():
    """Makes a box visible: boxes wait hidden until they have something to show."""
    return gr.update(visible=True)


@dataclass
class Page:
    demo: gr.Blocks
    first: Session              # the session a new page opens with: what the layout shows before it loads
    session: gr.State           # the browser tab's Session (studio/session.py)
    model_pick: gr.Dropdown
    hub_id: gr.Textbox
    hub_btn: gr.Button
    model_info: gr.Markdown
    real_faces: str = ""        # a local CelebA zip or folder for "Real or fake?" (app.py --real-faces)
    tabs: gr.Tabs | None = None
    # set by the tabs' layouts, read by the wiring
    truncation: list[gr.Slider] = field(default_factory=list)  # the session's truncation: Explore's, Morph's
    keyframes: gr.Textbox | None = None  # Morph's keyframes, where Explore's found photos go
    # set by Explore's wiring, followed by the other tabs
    model_switched: list = field(default_factory=list)  # events after which the session is on another model
    directions_changed: list = field(default_factory=list)  # ... has other directions (a new model's, or its own)
    texts: list = field(default_factory=list)  # (component, {property: key of state.TOLD}): what names what G draws

    @classmethod
    def header(cls, demo: gr.Blocks, real_faces: str = "") -> "Page":
        """The page's header, laid out inside `demo`, and the page built on it."""
        first = Session.opening(DEFAULT_MODEL)
        session = gr.State(first)
        gr.Markdown(T("page_language"), elem_id="studio-language")  # read by the page's script (studio/i18n.py)
        with gr.Row():
            header = gr.Markdown(elem_id="header")
            language_btn = gr.Button(T("language_switch"), size="sm", elem_id="language-switch")
        with gr.Row():
            model_pick = gr.Dropdown(choices(STORE.names), value=DEFAULT_MODEL, label=T("model_pick"),
                                     scale=2, elem_id="model-pick")
            hub_id = gr.Textbox(label=T("hub_id"), placeholder=T("hub_placeholder"), scale=2, max_length=96)
            hub_btn = gr.Button(T("hub_load"), scale=1, size="md")
        model_info = gr.Markdown()
        language_btn.click(None, js=SWITCH)  # the whole page in the other language, kept across reloads
        page = cls(demo, first, session, model_pick, hub_id, hub_btn, model_info, real_faces)
        page.tell(header, value="header")
        return page

    def truncation_slider(self, elem_id: str) -> gr.Slider:
        """A view of the session's truncation (the current face's psi); Explore wires every one."""
        face = self.first.face
        slider = gr.Slider(0, 1, face.psi if face else 1.0, step=0.05, label=T("truncation"),
                           elem_id=elem_id, scale=2, min_width=220)
        self.truncation.append(slider)
        return self.tell(slider, info="truncation_info")

    def tell(self, component, **texts: str):
        """`component`, its `texts` (label=, info=, placeholder=, value=: keys of studio.state.TOLD) as
        the session's model says them: "Current face" on a faces model, "Current digit" on a digits
        model, now and after every switch of model."""
        for name, key in texts.items():
            if name not in ("label", "info", "placeholder", "value"):
                raise RuntimeError(f"no text {name!r} to tell")
            text = told(key, self.first.model)
            setattr(component, name, component.postprocess(text) if name == "value" else text)  # as __init__ does
        self.texts.append((component, texts))
        return component

    def retell(self, session: Session) -> list:
        """Updates for every component tell() laid out: its texts as the session's model says them."""
        return [gr.update(**{name: told(key, session.model) for name, key in texts.items()})
                for _, texts in self.texts]

    def follow_told(self) -> None:
        """Every text tell() laid out follows the session's model (wired once every tab is laid out)."""
        self.follow_model(self.retell, self.session, [component for component, _ in self.texts], **QUIET)

    def follow_model(self, fn, inputs, outputs, **kwargs) -> None:
        """`fn` after every switch of the session's model: a tab's views show the new model."""
        self._follow(self.model_switched, fn, inputs, outputs, **kwargs)

    def follow_directions(self, fn, inputs, outputs, **kwargs) -> None:
        """`fn` after every change of the session's directions (a new model, a taught or uploaded one)."""
        self._follow(self.directions_changed, fn, inputs, outputs, **kwargs)

    @staticmethod
    def _follow(events: list, fn, inputs, outputs, **kwargs) -> None:
        if not events:
            raise RuntimeError("no events to follow yet: wire the Explore tab first")
        for event in events:
            event.success(fn, inputs, outputs, **PRIVATE, **kwargs)

    def first_visit(self, tab: gr.Tab, fn, inputs, outputs) -> None:
        """`fn(session, *inputs)` when the session opens `tab` the first time: its pictures filled in,
        not empty boxes (Session.drawn remembers it)."""
        def once(session: Session, *args):
            if tab.id in session.drawn:
                return [gr.skip()] * len(outputs)
            shown = fn(session, *args)
            session.drawn.add(tab.id)
            return shown
        tab.select(once, [self.session, *inputs], outputs, **PRIVATE, **QUIET)
