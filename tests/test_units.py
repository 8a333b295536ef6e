"""Network dissection of D (gan_core.analysis.dissection), the faces model's unit table, and the
Ask tab's named-units section on a model without one."""
import json
from pathlib import Path

import numpy as np
import pytest
import torch

from gan_core.analysis import dissection as dn
from gan_core.model.config import GANConfig
from gan_core.model.networks import Discriminator

pytestmark = pytest.mark.usefixtures("one_thread")  # see conftest.py
FACES = Path(__file__).resolve().parents[1] / "checkpoints" / "celeba64"


def synthetic_faces(count: int = 12, seed: int = 0) -> np.ndarray:
    """Bright cartoon faces, uint8 [N, 64, 64, 3]: a grey-blue background, a skin oval, blond hair
    on top, dark eyes exactly on the eye regions and a red mouth."""
    rng = np.random.default_rng(seed)
    parts = dn.fixed_parts()
    face, head = dn._ellipse(*dn.FACE_OVAL), dn._ellipse(*dn.HEAD_OVAL)
    rows = np.arange(64)[:, None].repeat(64, 1)
    out = np.empty((count, 64, 64, 3), np.uint8)
    for i in range(count):
        image = np.empty((64, 64, 3), np.float32)
        image[:] = (150, 170, 200)
        image[head & (rows < 30)] = (210, 180, 90)
        image[face & (rows >= 14)] = (225, 180, 150)
        image[parts["mouth"]] = (200, 60, 70)
        image[parts["eyes"]] = (20, 20, 20)
        out[i] = (image + rng.normal(0, 3, image.shape)).clip(0, 255).astype(np.uint8)
    return out


def test_part_masks_on_cartoon_faces():
    images = synthetic_faces(4)
    masks = dn.part_masks(images)
    assert masks.shape == (4, len(dn.PARTS), 64, 64) and masks.dtype == bool
    eyes, mouth, hair, skin, background = (masks[:, dn.PARTS.index(p)] for p in
                                           ("eyes", "mouth", "hair", "skin", "background"))
    assert eyes.all(0).sum() == dn.fixed_parts()["eyes"].sum()      # fixed places
    assert not (skin & (eyes | mouth)).any()
    assert skin[:, 44, 15].all() and skin[:, 44, 48].all()           # the cheeks
    assert hair[:, 8, 32].all() and not hair[:, 44, 15].any()        # the top of the head, not a cheek
    assert background[:, 60, 2].all() and background[:, 2, 2].all()  # the corners
    with pytest.raises(ValueError):
        dn.part_masks(images[:, :32])


def test_auc_counts_ties_half():
    scores = np.array([[0.1, 1.0], [0.4, 1.0], [0.35, 1.0], [0.8, 1.0]])
    positive = np.array([False, True, False, True])
    np.testing.assert_allclose(dn.auc(scores, positive), [1.0, 0.5])
    brute = np.mean([[(p > n) + 0.5 * (p == n) for n in scores[~positive, 0]] for p in scores[positive, 0]])
    assert dn.auc(scores[:, :1], positive)[0] == pytest.approx(brute)
    assert np.isnan(dn.auc(scores, np.ones(4, bool))).all()


def test_name_follows_the_thresholds():
    assert dn.name_unit("eyes", 0.25, "smiling", 0.9, chance=0.02) == ("eyes", "part", "eyes")
    assert dn.name_unit("background", 0.3, "smiling", 0.9, chance=0.25) == ("smiling", "label", "mouth")
    assert dn.name_unit("eyes", 0.1, "eyeglasses", 0.85) == ("eyeglasses", "label", "eyes")
    assert dn.name_unit("eyes", 0.1, "not bangs", 0.85) == ("not bangs", "label", "")  # no feature
    assert dn.name_unit("eyes", 0.1, "hat", 0.85) == ("hat", "label", "")
    assert dn.name_unit("eyes", 0.19, "smiling", 0.79) == ("", "", "")


def test_a_unit_wired_to_the_eyes_is_named_eyes(tmp_path):
    """Tiny D on cartoon faces: layer 1's unit 0 fires on dark pixels (the eyes), unit 1 on the faces
    with a label (brighter pictures); the table covers every unit of every layer and round-trips."""
    torch.manual_seed(0)
    D = Discriminator(GANConfig(image_size=64, channels=3, nz=8, g_width=4, d_width=4)).eval()
    images = synthetic_faces(12)
    images[6:] = (images[6:].astype(np.int16) + 30).clip(0, 255).astype(np.uint8)
    labels = np.full((12, len(dn.LABELS)), np.nan, np.float32)
    labels[:, list(dn.LABELS).index("smiling")] = [0] * 6 + [1] * 6
    with torch.no_grad():
        D.main[0].weight[0] = -1.0 / 48    # dark -> high
        D.main[0].weight[1] = 1.0 / 48     # bright -> high
    table = dn.dissect(D, images, [f"{i:06d}" for i in range(12)], labels, iou_faces=12)
    assert [len(units) for units in table.layers] == [4, 8, 16, 32]
    eye = table.unit(1, 0)
    assert (eye.name, eye.kind, eye.feature) == ("eyes", "part", "eyes") and eye.iou > 0.3
    assert table.unit(1, 1).label == "smiling" and table.unit(1, 1).auc == 1.0
    assert set(table.unit(1, 1).top[:6]) == {f"{i:06d}" for i in range(6, 12)}  # the brighter faces first
    assert table.counts()[0]["eyes"] >= 1
    loaded = dn.load_units(table.save(tmp_path).parent)
    assert [[u.name for u in units] for units in loaded.layers] == [[u.name for u in units] for units in table.layers]
    assert loaded.unit(1, 0).iou == pytest.approx(eye.iou, abs=1e-4)
    assert dn.load_units(tmp_path / "nowhere") is None and dn.load_units(None) is None
    picture = dn.unit_overlay(images[0], np.ones((32, 32)), dn.display_scale(eye, np.ones((1, 32, 32))), 96)
    assert picture.shape == (96, 96, 3) and picture.dtype == np.uint8


def test_the_faces_models_unit_table():
    """units.json beside the faces model: every unit of every layer of D, each named by the rules."""
    data = json.loads((FACES / dn.UNITS_FILE).read_text())
    config = json.loads((FACES / "config.json").read_text())
    widths = [config["d_width"] * 2 ** i for i in range(len(data["layers"]))]
    assert len(data["layers"]) == 4 and widths == [64, 128, 256, 512]
    assert data["faces"] == 1572 and set(data["quantiles"]) == set(dn.PARTS) == set(data["chance_iou"])
    table = dn.load_units(FACES)
    for number, (units, width) in enumerate(zip(table.layers, widths), start=1):
        assert [u.unit for u in units] == list(range(width)) and {u.layer for u in units} == {number}
        for u in units:
            assert u.part in dn.PARTS and 0 <= u.iou <= 1 and 0.5 <= u.auc <= 1
            assert u.label.removeprefix("not ") in dn.LABELS
            assert len(u.top) == dn.TOP_FACES and all(i.isdigit() for i in u.top)
            assert (u.name, u.kind, u.feature) == dn.name_unit(u.part, u.iou, u.label, u.auc,
                                                                data["chance_iou"][u.part])
    assert sum(len(table.named(n)) for n in range(1, 5)) > 0


def test_the_panel_on_a_model_without_units():
    from studio import units_panel
    from studio.session import Session
    from studio.state import CONFIG

    session = Session(model=CONFIG.digits_model)
    assert units_panel.table_of(session.model) is None
    note, shown = units_panel.current_units(session)
    assert shown == [] and note == units_panel.say("units_none")
    rows, pick = units_panel.show_layer(session, 1)
    assert len(rows) == 0 and pick["choices"] == []
    assert units_panel.show_unit(session, 1, 3) == ("", [])
    intro, layer, rows, pick, box, unit_note, top = units_panel.follow_model(session)
    assert intro == units_panel.say("units_none") and layer["choices"] == [] and box["visible"] is False
    assert top == [] and unit_note == ""
