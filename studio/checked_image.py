"""An image input (the camera, the clipboard) whose picture Gradio never decodes.

gr.Image's own preprocessing decodes any picture in full, to convert it, before a handler's checks
run: a small PNG whose header says 13000x13000 would take 676 MB. CheckedImage checks the picture
from its header, as an uploaded photo is checked, and passes it on as its file, which
gan_core.data.uploads.load_photo decodes within its bounds. (Gradio writes a stub, checked_image.pyi,
beside any component class it sees defined; it is not kept in git.)
"""
from __future__ import annotations

import base64
import tempfile
from pathlib import Path

import gradio as gr

from gan_core.data.uploads import MAX_BYTES, check_picture
from gan_core.errors import Phrase, UserError
from studio.i18n import error
from studio.state import escaped


class CheckedImage(gr.Image):
    """An image input (the camera, the clipboard) that Gradio never decodes: the picture is checked
    from its header, as an uploaded photo is, and passed on as its file, which load_photo decodes
    within its bounds. (gr.Image's own preprocessing decodes any picture in full, to convert it.)"""

    def preprocess(self, payload):
        if payload is None:
            return None
        try:
            if payload.url and payload.url.startswith("data:"):  # a snapshot sent inline
                header, _, text = payload.url.partition(",")
                if len(text) > MAX_BYTES * 4 // 3 + 4 or ";base64" not in header:
                    raise UserError("file_big", name=Phrase("the_upload"), mb=len(text) * 3 / 4 / 2**20,
                                    max=MAX_BYTES / 2**20)
                data = base64.b64decode(text, validate=False)
                check_picture(data)
                Path(self.GRADIO_CACHE).mkdir(parents=True, exist_ok=True)
                with tempfile.NamedTemporaryFile(dir=self.GRADIO_CACHE, prefix="camera-", delete=False) as file:
                    file.write(data)  # read once by load_photo, then deleted
                return file.name
            if payload.path is None:
                return None
            check_picture(payload.path)
            return str(payload.path)
        except UserError as err:  # its file stays for Gradio's cache bound: Gradio stores identical uploads
            raise escaped(error(err)) from None  # once, so another session may be checking the same file now
