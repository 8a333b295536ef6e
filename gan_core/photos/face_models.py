"""dlib's face models, loaded once per process from checkpoints/face_finder (shipped in the repo,
so nothing is downloaded): the 5-point landmark predictor, the MMOD CNN face detector and the
ResNet face descriptor; the HOG face detector is built into dlib.

    with face_models.use("landmarks") as predictor:   # loaded on first use; one caller at a time
        shape = predictor(image, rect)

dlib's objects keep scratch buffers, so each is used under its own lock.
"""
from __future__ import annotations

import threading
from contextlib import contextmanager
from pathlib import Path

FOLDER = Path(__file__).resolve().parents[2] / "checkpoints" / "face_finder"
FILES = {"landmarks": "shape_predictor_5_face_landmarks.dat",       # eye corners and nose base
         "detector_cnn": "mmod_human_face_detector.dat",            # confirms the HOG detector's finds
         "descriptor": "dlib_face_recognition_resnet_model_v1.dat"}  # 128 numbers per face, for likeness

_loaded: dict = {}
_locks = {name: threading.Lock() for name in (*FILES, "detector_hog")}
_loading = threading.Lock()


def _load(name: str):
    import dlib

    if name == "detector_hog":
        return dlib.get_frontal_face_detector()
    path = FOLDER / FILES[name]
    if not path.is_file():
        raise RuntimeError(f"dlib's face model {FILES[name]} is missing from checkpoints/face_finder")
    return {"landmarks": dlib.shape_predictor, "detector_cnn": dlib.cnn_face_detection_model_v1,
            "descriptor": dlib.face_recognition_model_v1}[name](str(path))


def get(name: str):
    """The model `name` ("detector_hog", "landmarks", "detector_cnn", "descriptor"), loaded once."""
    if name not in _loaded:
        with _loading:
            if name not in _loaded:
                _loaded[name] = _load(name)
    return _loaded[name]


@contextmanager
def use(name: str):
    """The model `name`, held by this thread alone for the `with` block."""
    model = get(name)
    with _locks[name]:
        yield model
