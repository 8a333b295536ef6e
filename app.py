"""DCGAN Studio: explore a DCGAN's faces, morph between them, do face arithmetic, ask its
discriminator, and watch it train.

    $ python app.py                      # http://127.0.0.1:7860 (GRADIO_SERVER_NAME / _PORT respected)
    $ python app.py --real-faces ../shared/data/celeba64.zip   # faces in "Real or fake?" too

The page only: the header and each tab lay themselves out and wire themselves (studio/page.py and
one module a tab), and every picture comes from gan_core. Each action is also an API endpoint (see
"Use via API" at the foot of the page, or gradio_client).
"""
from __future__ import annotations

import argparse
import logging
import os

import gradio as gr
from starlette.middleware import Middleware

from gan_core.analysis.game import ROUND
from gan_core.training.live import BALANCE
from gan_core.data.media import MAX_FRAMES
from gan_core.editing.morph import MAX_SIZE
from gan_core.data.uploads import MAX_BYTES
from studio import allocator
from studio.discriminator_tab import AskTab
from studio.explore_tab import ExploreTab
from studio.game_tab import GameTab
from studio.i18n import in_both_languages
from studio.math_tab import MathTab
from studio.morph_tab import MorphTab
from studio.page import Page
from studio.photos import MAX_PHOTOS
from studio.session_bounds import MAX_SESSIONS, lean_sessions, start_sweeper
from studio.session_files import clear_all, end_session
from studio.state import CONFIG, STORE
from studio.training_tab import TrainingTab
from studio.upload_gate import UploadGate

TABS = (ExploreTab, MorphTab, MathTab, AskTab, GameTab, TrainingTab)  # Explore first: the others follow its model


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description="DCGAN Studio")
    p.add_argument("--real-faces", metavar="PATH",
                   help="a local CelebA zip or folder whose `test` faces play in \"Real or fake?\" (never shipped; "
                        "also STUDIO_REAL_FACES)")
    args = p.parse_args(argv)
    if args.real_faces and not os.path.exists(args.real_faces):
        p.error(f"--real-faces: {args.real_faces} does not exist")
    return args


def build(real_faces: str | None = None) -> gr.Blocks:
    """The studio's page. `real_faces`: CelebA test faces for "Real or fake?" (else $STUDIO_REAL_FACES)."""
    real_faces = real_faces or os.environ.get("STUDIO_REAL_FACES", "")
    allocator.tune()  # freed memory goes back to the system
    lean_sessions()  # a new session builds its blocks' configs as it uses them, not all 340 at once
    with gr.Blocks(title="DCGAN Studio", delete_cache=(600, 1200)) as demo:  # Gradio's copies of what it showed
        page = Page.header(demo, real_faces)
        with gr.Tabs() as page.tabs:
            tabs = [tab(page) for tab in TABS]
        for tab in tabs:
            tab.wire()
        demo.unload(end_session)
    in_both_languages(demo, middleware=(Middleware(UploadGate),), photos=MAX_PHOTOS, mb=MAX_BYTES >> 20,
                      page=CONFIG.scan_page, frames=MAX_FRAMES, size=MAX_SIZE, round=ROUND, balance=BALANCE)
    STORE.warm_up()
    start_sweeper(demo)  # idle sessions end; all of them together hold at most a budget of memory
    return demo


# run as a script: its flags; imported (Spaces, `gradio app.py`, the tests): the defaults
demo = build(parse_args().real_faces if __name__ == "__main__" else None)

if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per request otherwise
    clear_all()  # what an earlier run left in the temp folder
    demo.queue(default_concurrency_limit=4).launch(max_file_size=MAX_BYTES,  # uploads: pictures, direction files
                                                   state_session_capacity=MAX_SESSIONS)
