"""The "Real or fake?" tab: rounds of 8 images, real (held out from training) and generated mixed;
the player marks each, then sees the truth, their score against chance, what it says (about as
well as a coin, or they could tell, and which fakes gave themselves away), and D's and the
detector's verdicts (D's against a threshold the deck measured: gan_core.analysis.game). Digits
always; faces only when CelebA test faces are on this machine (app.py --real-faces PATH, or
STUDIO_REAL_FACES): they are read from there, never shipped or uploaded. Nothing about a player
is kept beyond the page's own tally."""
from __future__ import annotations

import functools
import threading

import gradio as gr
import numpy as np

from gan_core.data.images import load_images
from gan_core.analysis.game import ROUND, Deck, Round, Tally, chance_of_at_least, conclusion
from gan_core.training.live import load_live_digits
from gan_core.analysis.real_or_fake import load_detector
from studio.i18n import T, choices, say, sentences, word
from studio.page import PRIVATE, QUIET, Page
from studio.session import Session
from studio.state import CONFIG, STORE, friendly, log, upscale_all

DIGITS, FACES = "Digits (MNIST)", "Faces (CelebA)"
REAL, FAKE = "Real", "Fake"
SHOWN = 112  # pixels per image on the page
_decks: dict[tuple[str, str], Deck] = {}
_lock = threading.Lock()


def kinds(real_faces: str = "") -> list[str]:
    """What can be played here: digits always, faces when real test faces were given at start."""
    return [DIGITS, FACES] if real_faces else [DIGITS]


def _model_of(kind: str) -> str:
    return CONFIG.digits_model if kind == DIGITS else CONFIG.faces_model


def deck(kind: str, real_faces: str = "") -> Deck:
    """The deck of a kind, made once per process (its real images read from disk; the faces' from
    `real_faces`, a CelebA zip or folder)."""
    if kind not in kinds(real_faces):
        raise gr.Error(say("pick_one_of", choices=say("list_separator").join(map(word, kinds(real_faces)))))
    with _lock:
        if (kind, real_faces) not in _decks:
            gan = STORE.get(_model_of(kind))
            if kind == DIGITS:
                real = load_live_digits(gan.folder / CONFIG.heldout_digits).permute(0, 2, 3, 1).numpy()
            else:
                faces = load_images(real_faces, gan.config.image_size, gan.config.channels, split="test",
                                    limit=CONFIG.max_real_faces)
                real = faces.images.permute(0, 2, 3, 1).numpy()
                log.info("Real or fake?: %d test faces from %s", len(real), real_faces)
            _decks[kind, real_faces] = Deck(real, gan, load_detector(gan.folder, gan.device))
        return _decks[kind, real_faces]


def _shown(round_: Round) -> list[np.ndarray]:
    return upscale_all(round_.images, SHOWN)


@friendly
def new_round(session: Session, kind: str, real_faces: str = ""):
    """(the session, the round's 8 pictures, 8 cleared marks, the note, an empty result): a fresh mix,
    nothing told."""
    deck_ = deck(kind, real_faces)
    round_ = deck_.deal(np.random.default_rng())
    pictures = [gr.update(value=p, label=f"{i + 1}") for i, p in enumerate(_shown(round_))]
    # one update each: Gradio pops "value" from an update it sends, so a shared one clears the first mark only
    cleared = [gr.update(value=None, interactive=True) for _ in range(ROUND)]
    note = say("game_note", count=ROUND) + "\n\n" + judges_text(deck_, kind)
    session.game = {"kind": kind, "round": round_, "checked": False}
    return session, *pictures, *cleared, note, ""


def judges_text(deck_: Deck, kind: str) -> str:
    """One line on the judges: what D is and where its threshold comes from; what the detector is."""
    d, things = deck_.d_calibration, say("game_things_digits" if kind == DIGITS else "game_things_faces")
    line = say("game_judge_d", count=d.count, things=things, real=d.mean_real, fake=d.mean_fake,
               threshold=d.threshold, accuracy=d.accuracy)
    found = deck_.detector_calibration
    if found is not None:
        line = sentences(line, say("game_judge_detector", threshold=found.threshold, accuracy=found.accuracy))
    return line


def _verdict(p: float, real: bool) -> str:
    return say("verdict_real" if real else "verdict_fake", p=p)


@friendly
def check_round(session: Session, *marks):
    """(the session, 8 captions with the truth, 8 locked marks, the result, the tally line)."""
    game = session.game
    if not game or "round" not in game:
        raise gr.Error(say("new_round_first"))
    if game["checked"]:
        raise gr.Error(say("round_scored"))
    missing = [str(i + 1) for i, m in enumerate(marks) if m not in (REAL, FAKE)]
    if missing:
        raise gr.Error(say("not_marked_one" if len(missing) == 1 else "not_marked",
                             which=say("list_separator").join(missing)))
    round_: Round = game["round"]
    result = round_.score([m == REAL for m in marks])
    tally = (session.tally or Tally()).add(result)
    captions = []
    for i, (truth, mark, d, d_real) in enumerate(zip(round_.real, marks, round_.d_says, round_.d_real)):
        tick = "\u2713" if (mark == REAL) == truth else "\u2717"
        extra = ("" if round_.detector_says is None else
                 say("card_detector", verdict=_verdict(round_.detector_says[i], round_.detector_real[i])))
        captions.append(gr.update(label=say("card_caption", number=i + 1, truth=word(REAL if truth else FAKE),
                                            tick=tick, verdict=_verdict(d, d_real)) + extra))
    locked = [gr.update(interactive=False) for _ in range(ROUND)]
    session.game, session.tally = {**game, "checked": True}, tally
    return (session, *captions, *locked, result_text(result, round_, tally, [m == REAL for m in marks]),
            tally_text(tally))


def result_text(result, round_: Round, tally: Tally, marks: list[bool]) -> str:
    """The player's score, what it says (conclusion_text), and the judges' scores on one line."""
    judges = say("result_d", right=result.d_right, count=result.count, threshold=round_.d_threshold)
    if result.detector_right is not None:
        judges = sentences(judges, say("result_detector", right=result.detector_right, count=result.count,
                                       threshold=round_.detector_threshold))
    return "\n\n".join([
        say("result_you", right=result.right, count=result.count, half=result.count // 2, reals=result.reals),
        conclusion_text(tally, round_, marks), judges])


def _numbers(numbers: list[int]) -> str:
    return say("list_separator").join(map(str, numbers)) if numbers else say("game_none")


def conclusion_text(tally: Tally, round_: Round, marks: list[bool]) -> str:
    """The article's conclusion, drawn from the player's own score (the session's, once there are
    several rounds): about as well as a coin, they could tell (and which fakes gave themselves
    away, beside D's and the detector's verdicts on them), or worse than a coin."""
    says = conclusion(tally.right, tally.count)
    luck = chance_of_at_least(tally.right if says != "backwards" else tally.count - tally.right, tally.count)
    odds = round(1 / luck)  # "once in 28 tries": a small chance read at a glance
    over = say("game_this_round") if tally.rounds == 1 else say("game_rounds", rounds=tally.rounds)
    if says == "coin":
        return sentences(say("game_coin", right=tally.right, count=tally.count, over=over, luck=luck),
                         say("game_more") if tally.rounds == 1 else "")
    if says == "backwards":
        return say("game_backwards", right=tally.right, count=tally.count, over=over, odds=odds)
    fakes = [i for i, truth in enumerate(round_.real) if not truth]
    caught = [i for i in fakes if not marks[i]]
    if not fakes:
        clues = say("game_no_fakes")
    elif not caught:
        clues = say("game_caught_none")
    else:
        numbers = [i + 1 for i in caught]
        d_flagged = [i + 1 for i in caught if not round_.d_real[i]]
        detector_flagged = ([] if round_.detector_real is None else
                            [i + 1 for i in caught if not round_.detector_real[i]])
        clues = say("game_caught" if round_.detector_real is None else "game_caught_both", caught=_numbers(numbers),
                    d=_numbers(d_flagged), detector=_numbers(detector_flagged))
        clues = sentences(clues, say("game_look"))
    return sentences(say("game_told", right=tally.right, count=tally.count, over=over, odds=odds), clues)


def tally_text(tally: Tally) -> str:
    if not tally or not tally.rounds:
        return ""
    share = tally.right / tally.count
    line = say("tally_one" if tally.rounds == 1 else "tally", rounds=tally.rounds, right=tally.right,
               count=tally.count, share=share, d=tally.d_right / tally.count)
    if tally.detector_count:
        line += say("tally_detector", detector=tally.detector_right / tally.detector_count)
    return line + say("tally_end")


def faces_note(real_faces: str = ""):
    """Where the game's faces come from (shown under the tab, translated by the browser)."""
    return T("faces_note_local" if real_faces else "faces_note_none")


# --- the tab -----------------------------------------------------------------------------------
class GameTab:
    def __init__(self, page: Page):
        self.page = page
        kinds_here = kinds(page.real_faces)
        with gr.Tab(T("tab_game"), id="game") as self.tab:
            gr.Markdown(T("game_intro"), elem_classes="tab-intro")
            with gr.Row(equal_height=True):
                self.kind = gr.Radio(choices(kinds_here), value=kinds_here[0], label=T("game_kind"), scale=2,
                                     elem_id="game-kind")
                self.deal_btn = gr.Button(T("new_round"), scale=1, elem_id="game-deal")
                self.check_btn = gr.Button(T("check"), variant="primary", scale=1, elem_id="game-check")
            self.note = gr.Markdown(elem_id="game-note")
            self.cards, self.guesses = [], []
            for row in range(2):
                with gr.Row():
                    for col in range(ROUND // 2):
                        with gr.Column(min_width=120):
                            i = row * ROUND // 2 + col
                            self.cards.append(gr.Image(label=f"{i + 1}", interactive=False, height=150, format="png",
                                                       buttons=[], elem_id=f"game-card-{i}"))
                            self.guesses.append(gr.Radio(choices([REAL, FAKE]), value=None, show_label=False,
                                                         container=False, elem_id=f"game-guess-{i}"))
            self.result = gr.Markdown(elem_id="game-result")
            self.tally = gr.Markdown(elem_id="game-tally")
            gr.Markdown(faces_note(page.real_faces), elem_classes="tab-intro")
            gr.Markdown(T("game_credits"), elem_classes="tab-intro")

    def wire(self):
        session = self.page.session
        deal = functools.partial(new_round, real_faces=self.page.real_faces)
        dealt = [session, *self.cards, *self.guesses, self.note, self.result]
        self.deal_btn.click(deal, [session, self.kind], dealt, api_name="game_round")
        self.kind.input(deal, [session, self.kind], dealt, **PRIVATE)
        self.page.first_visit(self.tab, deal, [self.kind], dealt)
        self.check_btn.click(check_round, [session, *self.guesses],
                             [session, *self.cards, *self.guesses, self.result, self.tally], api_name="game_check",
                             **QUIET)
