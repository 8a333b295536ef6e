"""Directions in z: label-free ones, fitted ones, their files, and the attribute classifier."""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch

import find_directions
from gan_core.analysis.attributes import (AttributeClassifier, AttributeNet, labels_from_metadata, load_classifier,
                                 train_classifier, evaluate)
from gan_core.model.checkpoints import CheckpointError, load_gan
from gan_core.editing.directions import (DIRECTIONS_INFO, DIRECTIONS_NAME, Direction, condition, directions_for,
                                 fit_direction, ganspace, load_directions, move, save_directions, sefa, walk)
from studio.model_store import ModelStore


@pytest.fixture
def gan(tiny_gan_folder):
    return load_gan(tiny_gan_folder, "cpu")


def test_label_free_directions_are_unit_vectors_of_length_nz(gan):
    nz = gan.config.nz
    for found in (sefa(gan.G, 5), ganspace(gan.G, 5, samples=256)):
        assert len(found) == 5
        for d in found:
            assert d.vector.shape == (nz,)
            assert abs(float(d.vector.norm()) - 1) < 1e-5
    vectors = torch.stack([d.vector for d in sefa(gan.G, 5)])
    assert torch.allclose(vectors @ vectors.T, torch.eye(5), atol=1e-4)  # eigenvectors: orthonormal


def test_sefa_top_direction_moves_the_first_layer_most(gan):
    W = gan.G.main[0].weight.detach().reshape(gan.config.nz, -1)
    top = sefa(gan.G, 1)[0].vector
    others = torch.randn(50, gan.config.nz)
    others = others / others.norm(dim=1, keepdim=True)
    assert float((top @ W).norm()) >= float((others @ W).norm(dim=1).max()) - 1e-5


def test_moving_by_zero_changes_nothing(gan):
    directions = directions_for(gan, None)
    z = torch.randn(3, gan.config.nz)
    name = next(iter(directions))
    assert torch.equal(move(z, {name: 0.0}, directions), z)
    assert np.array_equal(gan.generate(move(z, {name: 0}, directions)), gan.generate(z))
    assert not torch.equal(move(z, {name: 1.5}, directions), z)


def test_walk_and_move_agree(gan):
    d = sefa(gan.G, 1)[0]
    z = torch.randn(gan.config.nz)
    steps = walk(z, d, [-2, 0, 2])
    assert torch.allclose(steps[2], move(z, {d.name: 2}, {d.name: d}))
    assert torch.allclose(steps[1], z)


def test_bad_moves_give_clear_messages(gan):
    directions = directions_for(gan, None)
    with pytest.raises(ValueError, match="unknown direction 'Age'"):
        move(torch.zeros(gan.config.nz), {"Age": 1}, directions)
    name = next(iter(directions))
    for bad in (7, float("nan"), "lots"):
        with pytest.raises(ValueError, match=name):
            move(torch.zeros(gan.config.nz), {name: bad}, directions)


def test_fit_recovers_a_known_direction():
    generator = torch.Generator().manual_seed(0)
    truth = torch.randn(16, generator=generator)
    truth /= truth.norm()
    z = torch.randn(600, 16, generator=generator)
    labels = (z @ truth > 0.5).float()
    normal, offset, accuracy = fit_direction(z, labels)
    assert float(normal @ truth) > 0.95
    assert abs(offset - 0.5) < 0.25
    assert accuracy > 0.95
    # with about ten marks, as a user gives them, it still points the right way
    normal, _, _ = fit_direction(z[:12], (z[:12] @ truth > 0).float())
    assert float(normal @ truth) > 0.3
    with torch.inference_mode():  # as the app calls it
        again, _, _ = fit_direction(z[:12], (z[:12] @ truth > 0).float())
    assert torch.allclose(again, normal)


def test_fit_needs_both_kinds_of_labels():
    z = torch.randn(10, 8)
    with pytest.raises(ValueError, match="both sides"):
        fit_direction(z, torch.ones(10))
    with pytest.raises(ValueError, match="both sides"):
        fit_direction(z[:1], torch.ones(1))


def test_conditioned_direction_is_orthogonal_to_the_kept_ones():
    a, b, c = torch.randn(3, 20, generator=torch.Generator().manual_seed(1))
    d = condition(a, b, c)
    assert abs(float(d.norm()) - 1) < 1e-5
    assert abs(float(d @ b)) < 1e-5 and abs(float(d @ c)) < 1e-5
    assert float(d @ a) > 0
    with pytest.raises(ValueError, match="span"):
        condition(b + c, b, c)


def test_directions_round_trip_through_the_model_folder(tiny_gan_folder, gan):
    nz = gan.config.nz
    assert load_directions(tiny_gan_folder, nz) == []  # a model without directions loads fine
    found = [Direction("Age", torch.randn(nz), "interfacegan", "younger", "older", {"flip": 0.9})] + sefa(gan.G, 2)
    save_directions(tiny_gan_folder, found, {"sliders": ["Age"]})
    back = load_directions(tiny_gan_folder, nz)
    assert [d.name for d in back] == ["Age", "SeFa 1", "SeFa 2"]
    assert back[0].negative == "older" or back[0].positive == "older"
    assert abs(float(back[0].vector.norm()) - 1) < 1e-5
    store = ModelStore({"tiny": tiny_gan_folder}, device="cpu")
    assert "Age" in store.directions("tiny") and store.sliders("tiny") == ["Age"]
    assert store.classifier("tiny") is None


def test_corrupt_direction_files_are_refused(tiny_gan_folder, gan):
    nz = gan.config.nz
    save_directions(tiny_gan_folder, sefa(gan.G, 2))
    info = json.loads((tiny_gan_folder / DIRECTIONS_INFO).read_text())
    info["directions"][0]["key"] = "missing"
    (tiny_gan_folder / DIRECTIONS_INFO).write_text(json.dumps(info))
    with pytest.raises(CheckpointError, match="bad entry"):
        load_directions(tiny_gan_folder, nz)
    for field, value in (("name", ["Age"]), ("positive", "<img src=http://x/y.png>"), ("name", "x" * 500)):
        save_directions(tiny_gan_folder, sefa(gan.G, 2))
        info = json.loads((tiny_gan_folder / DIRECTIONS_INFO).read_text())
        info["directions"][1][field] = value  # a Hub model's names are shown on the page: checked as typed ones
        (tiny_gan_folder / DIRECTIONS_INFO).write_text(json.dumps(info))
        with pytest.raises(CheckpointError, match="bad entry"):
            load_directions(tiny_gan_folder, nz)
    save_directions(tiny_gan_folder, [Direction("wide", torch.randn(nz + 1), "user")])
    with pytest.raises(CheckpointError, match="shape"):
        load_directions(tiny_gan_folder, nz)
    (tiny_gan_folder / DIRECTIONS_NAME).write_bytes(b"not safetensors")
    with pytest.raises(CheckpointError):
        load_directions(tiny_gan_folder, nz)


def test_labels_from_celeba_style_columns():
    labels, known = labels_from_metadata({"Male": ["1", "-1", ""], "Young": ["-1", "1", ""]}, ["Male", "Young"])
    assert labels.tolist() == [[1, 0], [0, 1], [0, 0]]
    assert known.tolist() == [[True, True], [True, True], [False, False]]
    with pytest.raises(ValueError, match="no labels for Smiling"):
        labels_from_metadata({"Male": ["1"]}, ["Smiling"])


def test_classifier_learns_a_visible_attribute_and_round_trips(tmp_path):
    generator = torch.Generator().manual_seed(0)
    bright = torch.rand(512, generator=generator) < 0.5
    images = torch.randint(0, 100, (512, 3, 32, 32), generator=generator, dtype=torch.uint8)
    images[bright] += 120
    labels = torch.stack([bright.float(), torch.zeros(512)], 1)
    known = torch.tensor([[True, False]] * 512)
    classifier = train_classifier(images, labels, known, ["Bright", "Other"], epochs=3, batch_size=64, width=8,
                                  log=lambda _: None)
    scores = evaluate(classifier, images[:128], labels[:128], known[:128])
    assert scores["Bright"]["accuracy"] > 0.9
    classifier.save(tmp_path)
    back = load_classifier(tmp_path)
    hwc = images[:8].permute(0, 2, 3, 1).numpy()
    assert torch.allclose(back.predict(hwc), classifier.predict(hwc), atol=1e-6)
    assert load_classifier(tmp_path / "nowhere") is None


class BrightnessClassifier:
    """Stands in for the attribute classifier: 'Male' is a brighter face than the median, 'Young'
    a redder one."""
    names = ("Male", "Young")

    def predict(self, images):
        x = torch.as_tensor(np.asarray(images)).float()
        bright, red = x.mean((1, 2, 3)), (x[..., 0] - x[..., 2]).mean((1, 2))
        return torch.stack([torch.sigmoid((bright - bright.median()) / 2), torch.sigmoid((red - red.median()) / 2)], 1)


def test_named_directions_follow_the_classifier(gan):
    named, fit = find_directions.named_directions(gan, BrightnessClassifier(), {"Male", "Young"}, 400, 0)
    by_name = {d.name: d for d in named}
    assert {"Gender", "Age", "Age, gender kept"} <= set(by_name)
    z = torch.randn(64, gan.config.nz)
    brightness = lambda zs: gan.generate(zs).astype(float).mean()  # noqa: E731
    assert brightness(move(z, {"Gender": 3}, by_name)) > brightness(move(z, {"Gender": -3}, by_name))
    assert abs(float(by_name["Age, gender kept"].vector @ by_name["Gender"].vector)) < 1e-5
    assert fit["samples"] == 400


class BrightDigitReader:
    """Stands in for the digit classifier: bright images read as 8, dark ones as 1."""

    def predict(self, images):
        bright = torch.as_tensor(images.astype("float32").mean(axis=(1, 2, 3)))
        p8 = torch.sigmoid(4 * (bright - bright.median()) / bright.std())
        probs = torch.zeros(len(images), 10)
        probs[:, 8], probs[:, 1] = 0.9 * p8, 0.9 * (1 - p8)
        probs[:, [0, 2, 3, 4, 5, 6, 7, 9]] = 0.1 / 8
        return probs


def test_digit_directions_follow_the_digit_classifier(gan):
    named, fit = find_directions.digit_directions(gan, BrightDigitReader(), 400, 0)
    by_name = {d.name: d for d in named}
    assert list(by_name) == ["Towards 1", "Towards 8"] and fit["samples"] == 400  # no sample reads as 0, 2, ...
    assert by_name["Towards 8"].label == "Towards 8 (other digits \u2194 8)"
    z = torch.randn(64, gan.config.nz)
    brightness = lambda zs: gan.generate(zs).astype(float).mean()  # noqa: E731
    assert brightness(move(z, {"Towards 8": 3}, by_name)) > brightness(move(z, {"Towards 1": 3}, by_name))


def test_find_directions_writes_label_free_directions(tiny_gan_folder, gan):
    assert find_directions.main(["--checkpoint", str(tiny_gan_folder), "--components", "3"]) == 0
    names = [d.name for d in load_directions(tiny_gan_folder, gan.config.nz)]
    assert names == ["SeFa 1", "SeFa 2", "SeFa 3", "PCA 1", "PCA 2", "PCA 3"]
    assert find_directions.main(["--checkpoint", str(tiny_gan_folder / "nowhere")]) == 2


def test_shipped_models_carry_directions():
    from pathlib import Path
    root = Path(__file__).resolve().parents[1] / "checkpoints"
    for name in ("celeba64", "mnist32"):
        folder = root / name
        if not (folder / DIRECTIONS_NAME).is_file():
            pytest.skip(f"{name} has no directions yet")
        gan = load_gan(folder, "cpu")
        found = load_directions(folder, gan.config.nz)
        assert any(d.method == "sefa" for d in found)
    faces = load_directions(root / "celeba64", 100)
    assert {"Age, gender kept", "Gender, glasses kept", "Glasses, gender kept", "Smile, gender kept"} <= {
        d.name for d in faces}
    assert isinstance(load_classifier(root / "celeba64"), AttributeClassifier)
    assert isinstance(load_classifier(root / "celeba64").net, AttributeNet)


def test_faces_and_keyframes_carry_moves(gan):
    from gan_core.editing.face import Face
    from gan_core.editing.morph import keyframes_from_text, walk_keyframes
    directions = {d.name: d for d in sefa(gan.G, 2)}
    nz = gan.config.nz
    text = Face(seed=4, edits={1: 0.5}, moves={"SeFa 1": 2.0, "SeFa 2": 0}).to_text()
    assert json.loads(text)["moves"] == {"SeFa 1": 2.0}
    z = Face.parse(text).latent(nz, directions)
    assert torch.allclose(z, Face(seed=4, edits={1: 0.5}).latent(nz) + 2 * directions["SeFa 1"].vector)
    keys = keyframes_from_text(json.dumps([4, json.loads(text)]), nz, directions)
    assert torch.allclose(keys[1], z)
    with pytest.raises(ValueError, match="unknown direction"):
        keyframes_from_text(json.dumps([4, json.loads(text)]), nz, {})
    with pytest.raises(ValueError, match="moves"):
        Face.parse('{"seed": 1, "moves": [1]}')
    with pytest.raises(ValueError, match="between -5 and 5"):
        Face.parse('{"seed": 1, "moves": {"SeFa 1": 9}}')
    ends = walk_keyframes(z, directions["SeFa 2"], 2)
    assert torch.allclose(ends[1] - ends[0], 4 * directions["SeFa 2"].vector, atol=1e-5)
    with pytest.raises(ValueError, match="span"):
        walk_keyframes(z, directions["SeFa 2"], 0)


def test_user_direction_from_marks():
    from gan_core.editing.directions import direction_from_json, direction_to_json, fit_user_direction
    generator = torch.Generator().manual_seed(3)
    truth = torch.zeros(16)
    truth[2] = 1
    z = torch.randn(40, 16, generator=generator)
    yes = [row.tolist() for row in z if row[2] > 0][:6]
    no = [row.tolist() for row in z if row[2] <= 0][:6]
    d = fit_user_direction("  wavy   hair ", yes, no, 16, taken={"Age"})
    assert d.name == "wavy hair" and d.method == "user"
    assert float(d.vector @ truth) > 0.5
    assert direction_from_json(json.loads(json.dumps(direction_to_json(d))), 16).name == "wavy hair"
    with pytest.raises(ValueError, match="at least 10"):
        fit_user_direction("x", yes[:2], no, 16)
    with pytest.raises(ValueError, match="already a direction"):
        fit_user_direction("Age", yes, no, 16, taken={"Age"})
    with pytest.raises(ValueError, match="16 numbers"):
        fit_user_direction("x", [r[:8] for r in yes], [r[:8] for r in no], 16)
    for bad, message in (([1, 2], "not a direction"), ({"name": "a", "vector": ["x"] * 16}, "numbers"),
                         ({"name": "a", "vector": [0] * 16}, "zero vector"), ({"name": "", "vector": [1] * 16}, "name")):
        with pytest.raises(ValueError, match=message):
            direction_from_json(bad, 16)


class StatsClassifier:
    """Stands in for the attribute classifier: each attribute is a different image statistic."""
    names = ("Male", "Eyeglasses", "Smiling", "Blond_Hair")

    def predict(self, images):
        x = torch.as_tensor(np.asarray(images)).float()
        stats = torch.stack([x.mean((1, 2, 3)), x[..., 0].mean((1, 2)), x[..., 1].mean((1, 2)), x[..., 2].mean((1, 2))], 1)
        return torch.sigmoid((stats - stats.median(0).values) / 4)


def test_face_math_presets_picked_by_a_classifier(gan):
    from gan_core.editing.face_math import PRESET_RECIPES, classifier_presets
    presets = classifier_presets(gan, StatsClassifier(), pool=64, candidates=4, tries=20)
    assert [p[0] for p in presets] == [r[0] for r in PRESET_RECIPES]
    for _, *concepts in presets:
        for text in concepts:
            seeds = [int(s) for s in text.split(",")]
            assert len(seeds) == 3 == len(set(seeds)) and all(0 <= s < 64 for s in seeds)
    assert classifier_presets(gan, BrightnessClassifier(), pool=16) == []  # it lacks the attributes


# --- the methods table ---------------------------------------------------------------------------
def test_every_method_has_one_group_order_and_description():
    from gan_core.editing.directions import GROUPS, METHODS, Method
    assert list(METHODS) == ["conditional", "user", "interfacegan", "sefa", "ganspace"]
    assert sorted(m.order for m in METHODS.values()) == list(range(len(METHODS)))
    assert GROUPS == ("Age, gender, glasses, smile", "Attributes", "Yours", "SeFa (label-free)", "PCA (label-free)")
    assert {m.group for m in METHODS.values()} == set(GROUPS)
    for method in METHODS.values():
        assert isinstance(method, Method) and method.description and "\n" not in method.description
    with pytest.raises(Exception):
        METHODS["sefa"].order = 9  # frozen


def test_directions_know_their_method_and_refuse_unknown_ones():
    from gan_core.editing.directions import METHODS
    d = Direction("SeFa 1", torch.ones(4), "sefa")
    assert d.info is METHODS["sefa"] and d.info.group == "SeFa (label-free)"
    with pytest.raises(ValueError, match="unknown direction method 'magic'; one of: conditional, user"):
        Direction("x", torch.ones(4), "magic")


def test_ranked_and_in_group():
    from gan_core.editing.directions import GROUPS, in_group, ranked
    made = [Direction(name, torch.ones(4), method) for name, method in (
        ("PCA 1", "ganspace"), ("SeFa 1", "sefa"), ("Age", "interfacegan"), ("mine", "user"),
        ("Age, gender kept", "conditional"), ("SeFa 2", "sefa"), ("Smile", "interfacegan"))]
    names = [d.name for d in ranked(made)]
    assert names == ["Age, gender kept", "mine", "Age", "Smile", "SeFa 1", "SeFa 2", "PCA 1"]  # stable within a method
    assert [d.name for d in ranked({d.name: d for d in made})] == names  # a dict by name works too
    assert [d.name for d in in_group(made, "Attributes")] == ["Age", "Smile"]
    assert [d.name for d in in_group(made, GROUPS[0])] == ["Age, gender kept"]
    assert in_group(made[:2], "Yours") == []
    with pytest.raises(ValueError, match="pick one of: Age, gender, glasses, smile, Attributes"):
        in_group(made, "Other attributes")


# --- a user's direction as JSON ------------------------------------------------------------------
def user_json(nz: int = 16, **changes) -> dict:
    obj = {"name": "wavy hair", "method": "user", "negative": "less wavy hair", "positive": "more wavy hair",
           "quality": {"yes": 6, "no": 6, "fit_accuracy": 1.0}, "vector": [0.25] * nz}
    obj.update(changes)
    return {k: v for k, v in obj.items() if v is not None}


def test_a_well_formed_user_direction_loads():
    from gan_core.editing.directions import direction_from_json, direction_to_json
    d = direction_from_json(user_json(), 16)
    assert (d.name, d.method, d.negative, d.positive) == ("wavy hair", "user", "less wavy hair", "more wavy hair")
    assert d.quality == {"yes": 6, "no": 6, "fit_accuracy": 1.0} and d.info.group == "Yours"
    assert abs(float(d.vector.norm()) - 1) < 1e-6 and d.vector.dtype == torch.float32
    assert direction_to_json(direction_from_json(direction_to_json(d), 16)) == direction_to_json(d)
    bare = direction_from_json({"name": "Süße Öhrchen (l'été) + 2 & co.", "vector": [1] * 16}, 16)  # letters of any script
    assert (bare.method, bare.negative, bare.positive, bare.quality) == ("user", "-", "+", {})
    assert direction_from_json(user_json(quality={}), 16).quality == {}
    assert direction_from_json(user_json(vector=[1e300] * 16), 16).vector.isfinite().all()  # large but finite


@pytest.mark.parametrize("obj, message", [
    (user_json(method="conditional"), "an uploaded direction is a user direction"),
    (user_json(method="sefa"), "an uploaded direction is a user direction"),
    (user_json(method=None, extra=1), "only the keys name, method, negative, positive, quality, vector; not extra"),
    (user_json(key="d000"), "not key"),
    (json.loads('{"name": "a", "vector": [NaN' + ', 1' * 15 + ']}'), "numbers must be finite"),
    (json.loads('{"name": "a", "vector": [Infinity' + ', 1' * 15 + ']}'), "numbers must be finite"),
    (json.loads('{"name": "a", "vector": [1e400' + ', 1' * 15 + ']}'), "numbers must be finite"),
    (json.loads('{"name": "a", "vector": [-1e400' + ', 0' * 15 + ']}'), "numbers must be finite"),
    ({"name": "a", "vector": [10 ** 400] + [0] * 15}, "numbers must be finite"),
    (user_json(vector=[0] * 16), "zero vector"),
    (user_json(vector=[1] * 15), "this direction has 15 numbers; this model's z has 16"),
    (user_json(vector=[1] * 17), "17 numbers"),
    (user_json(vector=[True] * 16), "must be numbers"),
    (user_json(vector=["1"] * 16), "must be numbers"),
    (user_json(vector={"0": 1}), "not a direction"),
    ({"name": "a"}, "not a direction"),
    (user_json(name="x" * 41), "at most 40 characters"),
    (user_json(name=""), "name the concept first"),
    (user_json(name=7), "must be text"),
    (user_json(name="**bold**"), r"may use only letters, digits, spaces and these characters: - \. , ' \( \) \+ &; not '\*'"),
    (user_json(name="<img src=x>"), "not '<=>'"),
    (user_json(name="[link](x)"), "only"),
    (user_json(name="snake_case"), "not '_'"),
    (user_json(name="tab\u0000null"), "only"),
    (user_json(name="a|b#c`d\\e"), "only"),
    (user_json(negative="y" * 41), "negative end has at most 40"),
    (user_json(positive="<b>"), "positive end may use only"),
    (user_json(quality={"yes": 6, "no": 6}), "has exactly yes, no, fit_accuracy"),
    (user_json(quality={"yes": 6, "no": 6, "fit_accuracy": 1, "flip": 0.9}), "has exactly"),
    (user_json(quality=[1, 2]), "quality"),
    (user_json(quality={"yes": -1, "no": 6, "fit_accuracy": 1}), "'yes' is a count of marks from 0 to 200"),
    (user_json(quality={"yes": 6.5, "no": 6, "fit_accuracy": 1}), "count of marks"),
    (user_json(quality={"yes": True, "no": 6, "fit_accuracy": 1}), "count of marks"),
    (user_json(quality={"yes": 6, "no": 10 ** 9, "fit_accuracy": 1}), "'no' is a count"),
    (user_json(quality={"yes": 6, "no": 6, "fit_accuracy": 1.5}), "fit_accuracy is a number from 0 to 1"),
    (user_json(quality={"yes": 6, "no": 6, "fit_accuracy": float("nan")}), "fit_accuracy"),
    (user_json(quality={"yes": 6, "no": 6, "fit_accuracy": "high"}), "fit_accuracy"),
    ([1, 2], "not a direction"),
])
def test_crafted_direction_files_are_refused(obj, message):
    from gan_core.editing.directions import direction_from_json
    with pytest.raises(ValueError, match=message):
        direction_from_json(obj, 16)


def test_a_long_name_still_gives_a_direction_the_session_can_read_back():
    from gan_core.editing.directions import direction_from_json, direction_to_json, fit_user_direction
    z = torch.randn(12, 8, generator=torch.Generator().manual_seed(0))
    name = "a very long concept name of forty chars"[:40]
    d = fit_user_direction(name, z[:6].tolist(), z[6:].tolist(), 8)
    assert d.name == name and len(d.positive) <= 40 and d.positive.startswith("more a very")
    assert direction_from_json(direction_to_json(d), 8).positive == d.positive
    with pytest.raises(ValueError, match="may use only letters"):
        fit_user_direction("<script>", z[:6].tolist(), z[6:].tolist(), 8)


def test_shipped_directions_with_non_finite_numbers_are_refused(tiny_gan_folder, gan):
    from gan_core.model.checkpoints import load_tensors, save_tensors
    nz = gan.config.nz
    save_directions(tiny_gan_folder, sefa(gan.G, 2))
    tensors, _ = load_tensors(tiny_gan_folder / DIRECTIONS_NAME)
    tensors = {k: v.clone() for k, v in tensors.items()}
    tensors["d001"][3] = float("nan")
    save_tensors(tiny_gan_folder / DIRECTIONS_NAME, tensors)
    with pytest.raises(CheckpointError, match=r"direction 'SeFa 2' \(d001\) has numbers that are not finite"):
        load_directions(tiny_gan_folder, nz)
    info = json.loads((tiny_gan_folder / DIRECTIONS_INFO).read_text())
    info["directions"][0]["method"] = "magic"
    (tiny_gan_folder / DIRECTIONS_INFO).write_text(json.dumps(info))
    with pytest.raises(CheckpointError, match="unknown direction method 'magic'"):
        load_directions(tiny_gan_folder, nz)
