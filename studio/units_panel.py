"""Ask D's "D's named neurons" section: the units network dissection named (units.json beside the
model, made by bench/dissect.py), each with its top faces and its map over them, and the eye, mouth
and hair units that fire most on the face D was last asked about.

    panel = UnitsPanel(page)      # laid out at the end of the Ask tab
    panel.wire(ask_tab.image)     # ...wired after it: the current face's units follow every Ask

The top faces are real held-out CelebA faces when the app was started with --real-faces (read from
that local zip, never shipped), else the top faces among a fixed set of generated faces (the page
says which). A model without units.json (digits, a Hub model) is said to have no named units.
"""
from __future__ import annotations

import threading

import gradio as gr
import numpy as np
import torch

from gan_core.analysis.dissection import FEATURES, Unit, UnitTable, display_scale, load_units, unit_overlay
from gan_core.data.images import load_images
from gan_core.model.latent import z_from_seed
from gan_core.model.networks import from_uint8
from studio.i18n import T, say, word
from studio.page import PRIVATE, QUIET, Page
from studio.session import Session
from studio.state import CONFIG, STORE, friendly, log

GENERATED = 200   # the fixed generated faces (seeds 0-199) a unit's top faces come from without real ones
TOP = 8           # top faces shown per unit
PER_FEATURE = 2   # eye, mouth and hair units shown for the current face
SHOWN = 112       # pixels per face
_lock = threading.Lock()
_tables: dict[str, UnitTable | None] = {}
_real: dict[str, tuple[np.ndarray, dict[str, int]] | None] = {}
_generated: dict[str, tuple[np.ndarray, list[torch.Tensor]]] = {}


def table_of(model: str) -> UnitTable | None:
    """The model's unit table (read once), or None: its units are not named."""
    with _lock:
        if model not in _tables:
            _tables[model] = load_units(STORE.get(model).folder) if model else None
        return _tables[model]


def real_faces(path: str) -> tuple[np.ndarray, dict[str, int]] | None:
    """The `test` faces of a local CelebA zip (uint8 [N, 64, 64, 3]) and their index by CelebA id; None
    when there is none or it has no ids."""
    if not path:
        return None
    with _lock:
        if path not in _real:
            try:
                faces = load_images(path, 64, 3, split="test", limit=CONFIG.max_real_faces)
                ids = faces.metadata.get("celeba_id")
                _real[path] = None if not ids else (faces.images.permute(0, 2, 3, 1).numpy(),
                                                   {i: n for n, i in enumerate(ids)})
            except Exception:  # noqa: BLE001 - a bad zip leaves the generated faces
                log.exception("named units: no real faces from the --real-faces zip")
                _real[path] = None
        return _real[path]


@torch.no_grad()
def _maps(model: str, images: np.ndarray) -> list[torch.Tensor]:
    gan = STORE.get(model)
    return [m.float().cpu() for m in gan.D.eval().features(from_uint8(images, gan.device).contiguous())]


def generated_faces(model: str) -> tuple[np.ndarray, list[torch.Tensor]]:
    """The fixed generated faces (seeds 0 to GENERATED - 1) and D's maps of them, made once."""
    with _lock:
        if model not in _generated:
            gan = STORE.get(model)
            z = torch.stack([z_from_seed(seed, gan.config.nz) for seed in range(GENERATED)])
            images = gan.generate(z)
            _generated[model] = (images, _maps(model, images))
        return _generated[model]


def unit_line(u: Unit) -> str:
    """ "unit 148: eyes, IoU 0.31" or "unit 12: smiling, AUC 0.84", in the page's language."""
    if u.kind == "part":
        return say("units_line_part", unit=u.unit, name=name_of(u), iou=u.iou)
    return say("units_line_label", unit=u.unit, name=name_of(u), auc=u.auc)


def name_of(u: Unit) -> str:
    """A unit's name in the page's language ("eyes", "smiling", "not blond hair")."""
    if u.name.startswith("not "):
        return say("units_not", what=thing(u.name.removeprefix("not ")))
    return thing(u.name)


def thing(name: str) -> str:
    """A part or label in the page's language (the vocabulary's "hair" is the bald attribute's end)."""
    return say("units_hair") if name == "hair" else word(name)


def layer_choices(table: UnitTable | None) -> list[tuple[str, int]]:
    if table is None:
        return []
    return [(say("units_layer_choice", number=n, named=len(table.named(n)), units=len(units)), n)
            for n, units in enumerate(table.layers, start=1)]


def intro(session: Session, real: str) -> str:
    table = table_of(session.model)
    if table is None:
        return say("units_none")
    s = table.settings
    source = say("units_top_real") if real_faces(real) else say("units_top_generated", count=GENERATED)
    return say("units_intro", faces=s.get("faces", 0), iou=s.get("min_iou", 0), auc=s.get("min_auc", 0)) + " " + source


def layer_rows(table: UnitTable | None, layer: int):
    import pandas as pd  # comes with gradio
    units = table.named(int(layer)) if table is not None and 1 <= int(layer) <= len(table.layers) else []
    return pd.DataFrame({say("units_col_unit"): [u.unit for u in units],
                         say("units_col_name"): [name_of(u) for u in units],
                         say("units_col_measure"): [f"IoU {u.iou:.2f}" if u.kind == "part" else f"AUC {u.auc:.2f}"
                                                    for u in units]})


@friendly
def show_layer(session: Session, layer, real: str = ""):
    """(the table of the layer's named units, the unit picker) for the session's model."""
    table = table_of(session.model)
    if table is None or layer is None:
        return layer_rows(None, 1), gr.update(choices=[], value=None)
    units = table.named(int(layer))
    return layer_rows(table, int(layer)), gr.update(choices=[(unit_line(u), u.unit) for u in units],
                                                    value=units[0].unit if units else None)


@friendly
def show_unit(session: Session, layer, unit, real: str = ""):
    """(a note on where the faces come from, the unit's top faces with its map over them)."""
    table = table_of(session.model)
    if table is None or layer is None or unit is None:
        return "", []
    u = table.unit(int(layer), int(unit))
    found = real_faces(real)
    if found is not None and all(i in found[1] for i in u.top):
        images = found[0][[found[1][i] for i in u.top[:TOP]]]
        maps, note = _maps(session.model, images)[u.layer - 1][:, u.unit], say("units_shown_real")
    else:
        images, all_maps = generated_faces(session.model)
        scores = all_maps[u.layer - 1][:, u.unit].mean((1, 2))
        picks = scores.argsort(descending=True)[:TOP].tolist()
        images, maps = images[picks], all_maps[u.layer - 1][picks, u.unit]
        note = say("units_shown_generated", count=GENERATED)
    scale = display_scale(u, maps.numpy())
    shown = [(unit_overlay(image, m.numpy(), scale, SHOWN), f"{float(m.mean()):.2f}") for image, m in zip(images, maps)]
    return sentences_of(unit_line(u), note), shown


def sentences_of(*parts: str) -> str:
    return " \u00b7 ".join(p for p in parts if p)


@friendly
def current_units(session: Session):
    """(a note, the eye, mouth and hair units that fire most on the face D was last asked about)."""
    table, subject = table_of(session.model), session.subject
    if table is None:
        return say("units_none"), []
    if not subject:
        return "", []
    maps = _maps(session.model, subject["image"][None])
    shown, missing = [], []
    for feature in FEATURES:
        units = [u for layer in range(1, len(table.layers) + 1) for u in table.named(layer) if u.feature == feature]
        if not units:
            missing.append(thing(feature))
            continue
        strength = [float(maps[u.layer - 1][0, u.unit].max()) / (u.threshold or 1.0) for u in units]
        for k in np.argsort(strength)[::-1][:PER_FEATURE]:
            u = units[int(k)]
            m = maps[u.layer - 1][0, u.unit].numpy()
            picture = unit_overlay(subject["image"], m, display_scale(u, m), SHOWN)
            shown.append((picture, say("units_current_caption", layer=u.layer, line=unit_line(u),
                                       times=strength[int(k)])))
    note = say("units_current_note")
    if missing:
        note += " " + say("units_missing", features=say("list_separator").join(missing))
    return note, shown


def follow_model(session: Session, real: str = ""):
    """The section on the session's (new) model: its intro, layers, the last layer's table, its units
    and the first unit's top faces."""
    table = table_of(session.model)
    layers = layer_choices(table)
    last = layers[-1][1] if layers else None
    rows, pick = show_layer(session, last, real)
    first = table.named(last)[0].unit if table is not None and table.named(last) else None
    note, top = show_unit(session, last, first, real)
    return (intro(session, real), gr.update(choices=layers, value=last), rows, pick,
            gr.update(visible=table is not None), note, top)


# --- the section -----------------------------------------------------------------------------
class UnitsPanel:
    def __init__(self, page: Page):
        self.page = page
        first = page.first
        table = table_of(first.model) if first.model else None
        layers = layer_choices(table)
        start = layers[-1][1] if layers else None
        named = table.named(start) if table is not None else []
        with gr.Accordion(T("units_title"), open=False) as self.accordion:
            self.intro = gr.Markdown(intro(first, page.real_faces) if first.model else "", elem_id="units-intro")
            with gr.Column(visible=table is not None) as self.box:
                with gr.Row(equal_height=True):
                    self.layer = gr.Dropdown(layers, value=start, label=T("units_layer"), scale=1)
                    self.unit = gr.Dropdown([(unit_line(u), u.unit) for u in named],
                                            value=named[0].unit if named else None, label=T("units_pick"), scale=2)
                with gr.Row():
                    self.table = gr.Dataframe(layer_rows(table, start or 1), interactive=False, max_height=300,
                                              label=T("units_table"), elem_id="units-table", scale=1)
                    with gr.Column(scale=2):
                        self.unit_note = gr.Markdown(elem_id="units-note")
                        self.top = gr.Gallery(columns=4, fit_columns=False, height=300, object_fit="contain",
                                              allow_preview=False, label=T("units_top"), elem_id="units-top")
                self.current_note = gr.Markdown()
                self.current = gr.Gallery(columns=6, fit_columns=False, height=220, object_fit="contain",
                                          allow_preview=False, label=T("units_current"), elem_id="units-current")

    def wire(self, face: gr.Image):
        """Wired after the Ask tab: `face` is the picture D was asked about (it changes after each Ask)."""
        page, session = self.page, self.page.session
        real = gr.State(page.real_faces)
        unit = dict(fn=show_unit, inputs=[session, self.layer, self.unit, real], outputs=[self.unit_note, self.top],
                    **PRIVATE, **QUIET)
        self.layer.input(show_layer, [session, self.layer, real], [self.table, self.unit], **PRIVATE, **QUIET).success(
            **unit)
        self.unit.input(**unit)
        face.change(current_units, session, [self.current_note, self.current], **PRIVATE, **QUIET)
        self.accordion.expand(**unit)
        page.follow_model(follow_model, [session, real],
                          [self.intro, self.layer, self.table, self.unit, self.box, self.unit_note, self.top], **QUIET)
