"""The Training tab's toy: the picture of Goodfellow et al. 2014 (Figure 1), a 1-D GAN trained live.

    toy = Equilibrium(page)   # in the Training tab's layout: three presets, Stop, the plot, two lines of text
    toy.wire()                # in its wiring

A press on a preset trains gan_core.training.toy.ToyGAN from scratch in the event itself (a
generator: a frame every FRAME seconds, at most ROUNDS rounds and SECONDS a run, on one CPU thread): the data's
density, G's density, D(x) and the 1/2 line, and a line with the step, the seconds and how far D
is from 1/2 where the data lives. Nothing is shared between pages: each run lives in its own event;
at most RUNS run at once for the whole server (the queue's concurrency id "toy"), the rest wait.
A press while a run goes ends it and starts the new one; Stop ends it (the page's Ticket: a run
whose number is no longer the page's ends at its next frame; no cancelled events, no frame late).
"""
from __future__ import annotations

import time
from dataclasses import dataclass

import gradio as gr
import torch

from gan_core.training.toy import BAND, PRESETS, X_RANGE, Snapshot, ToyGAN
from studio.i18n import LANGUAGES, UI, T, core, say
from studio.page import PRIVATE, QUIET, Page

SECONDS = 40.0   # a run's bounds: wall clock, and rounds (balanced's learning rates have eased by 2,000)
ROUNDS = 3000
FRAME = 0.5      # seconds of training between frames
EVERY = 2        # the plot draws every EVERY-th point of the toy's grid (101 a curve: light for the browser)
RUNS = 2         # toy runs at once, for everybody
SEED = 0         # every run of a preset is the same run (bench/toy.py measures seeds 0-9)
# the plot's series by message key: the data black, G green, D blue (the paper's colours), the 1/2 line red
SERIES = {"toy_series_data": "#222222", "toy_series_g": "#2ca02c", "toy_series_d": "#1f77b4",
          "toy_series_half": "#d62728"}
COLOURS = {UI[lang][key]: colour for lang in LANGUAGES for key, colour in SERIES.items()}


def series_names() -> dict[str, str]:
    """The plot's series in the page's language, by key."""
    return {"toy_series_data": say("toy_series_data"), "toy_series_g": say("toy_series_g"),
            "toy_series_d": say("toy_series_d"), "toy_series_half": say("toy_series_half")}


def picture(snap: Snapshot):
    """The frame's table for gr.LinePlot: x, value, series (the data's density, G's, D(x), 1/2)."""
    import pandas as pd  # comes with gradio

    names = series_names()
    columns = {"toy_series_data": snap.data, "toy_series_g": snap.g, "toy_series_d": snap.d,
               "toy_series_half": 0 * snap.x + 0.5}
    return pd.concat([pd.DataFrame({"x": snap.x[::EVERY].round(3), "value": values[::EVERY].round(4),
                                    "series": names[key]}) for key, values in columns.items()], ignore_index=True)


def status(snap: Snapshot, seconds: float, reached: tuple[int, float] | None) -> str:
    """Where the run is: the step, the seconds, D's distance from 1/2 where the data lives, G's
    gradient and its samples by mode; then what that means."""
    left, right = snap.shares
    lines = [say("toy_progress", step=snap.step, seconds=seconds, gap=snap.d_gap, band=BAND, grad=snap.g_grad,
                 left=left, right=right)]
    if snap.ideal:
        lines.append(say("toy_ideal", overlap=snap.overlap))
    elif snap.in_band and snap.step > 0:
        lines.append(say("toy_flat_unmatched", overlap=snap.overlap))
    if reached is not None:
        lines.append(say("toy_reached", step=reached[0], seconds=reached[1]))
    return "\n\n".join(lines)


@dataclass
class Ticket:
    """Which of a page's runs may go on (one per page, in its gr.State): every press and Stop take a
    new number, and a run whose number is no longer the page's ends at its next frame."""
    current: int = 0
    stopped: bool = False   # the number was taken by Stop (the run says so as it ends)

    def take(self, stopped: bool = False) -> int:
        self.current += 1
        self.stopped = stopped
        return self.current


def run(preset: str, ticket: Ticket):
    """A run of `preset` for the page holding `ticket`: frames until SECONDS have passed, the page
    presses Stop or starts another run (a generator event)."""
    if preset not in PRESETS:  # only the buttons name one
        raise gr.Error(say("internal_error"))
    mine = ticket.take()
    what = core(PRESETS[preset].what)
    toy = ToyGAN(preset, SEED)
    start, reached = time.perf_counter(), None
    snap = toy.snapshot()
    yield picture(snap), status(snap, 0.0, None), what
    while time.perf_counter() - start < SECONDS and toy.step < ROUNDS:
        torch.set_num_threads(1)  # for this thread only (OpenMP): the app keeps the rest
        until = time.perf_counter() + FRAME
        while time.perf_counter() < until and ticket.current == mine:
            toy.train(10)
        if ticket.current != mine:  # Stop, or another press: this run ends without drawing again
            if ticket.stopped and ticket.current == mine + 1:
                yield gr.skip(), stopped(status(snap, time.perf_counter() - start, reached)), what
            return
        snap = toy.snapshot()
        seconds = time.perf_counter() - start
        if reached is None and snap.ideal:
            reached = (snap.step, seconds)
        yield picture(snap), status(snap, seconds, reached), what
        time.sleep(0.02)  # the server's own thread gets a moment to send the frame
    yield gr.skip(), status(snap, time.perf_counter() - start, reached) + "\n\n" + say("toy_done", rounds=ROUNDS, seconds=SECONDS), what


def runner(preset: str):
    """The event a preset's button starts."""
    def go(ticket: Ticket):
        yield from run(preset, ticket)
    return go


def stop(ticket: Ticket) -> None:
    ticket.take(stopped=True)


def invalidate(ticket: Ticket) -> None:
    """At a press, before its run waits for a place: the page's running run ends at its next frame."""
    ticket.take()


def stopped(text: str) -> str:
    return f"{text}\n\n{say('toy_stopped')}"


class Equilibrium:
    def __init__(self, page: Page):
        self.page = page
        with gr.Group():
            gr.Markdown(T("toy_intro"), elem_id="toy-intro")
            with gr.Row(equal_height=True):
                self.balanced = gr.Button(T("toy_balanced"), variant="primary", elem_id="toy-balanced")
                self.d_strong = gr.Button(T("toy_d_strong"), elem_id="toy-d-strong")
                self.g_strong = gr.Button(T("toy_g_strong"), elem_id="toy-g-strong")
                self.stop = gr.Button(T("toy_stop"), variant="stop", elem_id="toy-stop")
            self.what = gr.Markdown(elem_id="toy-what")
            self.plot = gr.LinePlot(x="x", y="value", color="series", x_lim=list(X_RANGE), y_lim=[0, 1.05],
                                    height=360, color_map=COLOURS, color_title="", x_title=T("toy_axis_x"),
                                    y_title=T("toy_axis_y"), label=T("toy_plot"), tooltip="none", elem_id="toy-plot")
            self.status = gr.Markdown(elem_id="toy-status")
            self.ticket = gr.State(Ticket())  # the page's own (Gradio copies it for each page)

    def wire(self):
        outputs = [self.plot, self.status, self.what]
        for button, preset in ((self.balanced, "balanced"), (self.d_strong, "d_strong"), (self.g_strong, "g_strong")):
            # every press counts, both steps (Gradio's default drops a press while the last one's run is
            # pending: a double click then ended the running run and started none)
            button.click(invalidate, self.ticket, None, queue=False, trigger_mode="multiple", **PRIVATE).then(
                runner(preset), self.ticket, outputs, concurrency_limit=RUNS, concurrency_id="toy",
                trigger_mode="multiple", **PRIVATE, **QUIET)
        self.stop.click(stop, self.ticket, None, queue=False, **PRIVATE)
