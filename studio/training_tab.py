"""The Training tab: the shipped runs' curves and grids, and a live digits run."""
from __future__ import annotations

from pathlib import Path

import gradio as gr

from gan_core.analysis.dashboard import (CHANCE, LOSSES, OUTPUTS, SHORT, curve_tables, find_runs, grid_at, read_run, summarise,
                                timelapse)
from gan_core.data.media import upscale
from gan_core.training.live import MAX_MINUTES, MAX_STEPS
from studio.equilibrium import Equilibrium
from studio.i18n import LANGUAGES, WORDS, T, choices, labelled, say, word
from studio.page import HEAVY, PRIVATE, QUIET, Page, reveal
from studio.priority import lowered
from studio.session import Session
from studio.session_files import session_folder
from studio.state import CONFIG, LIVE, STORE, friendly


LIVE_RUN = "Live run (digits, trained here)"
LIVE_GRID = 548  # pixels: the live run's 8x8 grid at twice its size, readable on a 1280x720 page
LIVE_SECONDS = 90  # the live run's default time budget, as its intro says
COLOURS = {LOSSES["loss_d"]: "#1f77b4", LOSSES["loss_g"]: "#ff7f0e", OUTPUTS["d_real"]: "#1f77b4",
           OUTPUTS["d_fake"]: "#ff7f0e", OUTPUTS["d_accuracy"]: "#7f7f7f",
           CHANCE: "#d62728"}  # D blue, G orange, D's accuracy grey, the 0.5 line red
SERIES = ([*LOSSES.values()], [*OUTPUTS.values(), CHANCE])  # each plot's series, as gan_core names them
# the plots' colours by series name, in every language (a plot colours only the series it shows)
CURVE_COLOURS = {name: colour for lang in LANGUAGES for series, colour in COLOURS.items()
                 for name in (series, WORDS[lang].get(series, series))}


def local_runs() -> dict[str, Path]:
    """train.py's run folders in the studio's runs folder (none on a fresh machine), by label."""
    return {f"{CONFIG.runs.name}/{p.name}": p for p in find_runs(CONFIG.runs)}


def run_choices() -> list[str]:
    """What the Training tab can show: the shipped models' histories, local runs, the live run."""
    return [*STORE.bundled, *local_runs(), LIVE_RUN]


def refresh_runs(which: str):
    choices = run_choices()
    return gr.update(choices=labelled(choices), value=which if which in choices else choices[0])


def run_of(which: str):
    if which == LIVE_RUN:
        status = LIVE.status()
        if status.folder is None:
            raise gr.Error(say("no_live_run"))
        return read_run(status.folder)
    folder = STORE.bundled.get(which) or local_runs().get(which)
    if folder is None:  # only listed folders: a path typed in could be anywhere on the server
        raise gr.Error(say("pick_one_of", choices=say("list_separator").join(map(word, run_choices()))))
    return read_run(folder)


def curves(records: list[dict]):
    """The losses and D's outputs for the two plots, their series named in the page's language.
    Every series of a plot is in its table, one the run did not log (the faces model's D's
    accuracy) as a single empty point: Gradio 6.31's LinePlot keeps the colour domain of the first
    table it draws, so a series missing then would never be drawn later (D's accuracy of the
    digits model, shown after the faces model)."""
    import pandas as pd  # comes with gradio

    tables = []
    for table, names in zip(curve_tables(records), SERIES):
        missing = [name for name in names if name not in set(table["series"])]
        if missing and len(table):
            empty = pd.DataFrame({"step": table["step"].iloc[0], "value": float("nan"), "series": missing})
            table = pd.concat([table, empty], ignore_index=True)
        table["series"] = table["series"].map(word)
        tables.append(table)
    return tables


def run_summary(run) -> str:
    """One line about a run in the page's language: how far it went and where it ended."""
    s = summarise(run)
    parts = [say("run_steps", steps=s.steps) if s.minutes is None else
             say("run_steps_minutes", steps=s.steps, minutes=s.minutes)]
    if s.last:
        values = say("value_separator").join(f"{word(SHORT[key])} {value:.3f}" for key, value in s.last.items())
        parts.append(say("run_last", values=values))
    parts.append(say("run_grids_one") if s.grids == 1 else say("run_grids", grids=s.grids))
    return say("part_separator").join(parts)


def live_message(status) -> str:
    """Where the live run is, or how it ended, in the page's language."""
    if not status.started:
        return say("live_none")
    if status.running:
        return say("live_step", step=status.step, total=status.total, seconds=status.seconds)
    how = {"finished": say("live_finished"), "stopped": say("live_stopped"),
           "out of time": say("live_out_of_time", minutes=status.minutes),
           "failed": say("live_failed", error=status.error)}.get(status.ending) or say("live_ended_early")
    return say("live_ended", how=how, step=status.step, total=status.total, seconds=status.seconds)


@friendly
def show_run(which: str):
    if which == LIVE_RUN and not (status := LIVE.status()).records:
        return live_message(status), None, None, gr.update(), None, ""
    run = run_of(which)
    losses, outputs = curves(run.records)
    steps = run.grid_steps or [0]
    last = steps[-1]
    grid = grid_at(run, last)[1] if run.grids else None
    return run_summary(run), losses, outputs, step_slider(last), grid, say("grid_caption", step=last)


@friendly
def show_grid(which: str, step):
    found, grid = grid_at(run_of(which), step)
    return grid, say("grid_caption_nearest", step=found, asked=int(step))


def step_slider(last: int):
    """The grid's Step slider for a run whose last grid is at step `last`."""
    return gr.update(minimum=0, maximum=max(last, 1), value=last, step=max(1, last // 100))


@friendly
@lowered
def make_timelapse(which: str, fps, request: gr.Request):
    folder = session_folder(request, "timelapse")
    return str(timelapse(run_of(which), folder / "timelapse.mp4", fps=float(fps)))


def owner_of(request: gr.Request | None) -> str:
    """Who starts and may stop a live run: the page's session."""
    return str(getattr(request, "session_hash", None) or "")


def live_line(status) -> str:
    """Where the live run is, and how many of its grid's digits read clearly."""
    lines = [live_message(status)]
    if status.legible is not None:
        lines.append(say("live_legible", count=status.legible))
    return "\n\n".join(lines)


def live_figures(status) -> str:
    """D(x), D(G(z)) and D's accuracy over the recent steps, and what they say: the words follow
    the numbers (an edge is called an edge)."""
    recent = status.recent()
    if not recent:
        return say("live_figures_none")
    figures = say("live_figures", d_real=recent["d_real"], d_fake=recent["d_fake"], accuracy=recent["d_accuracy"],
                  steps=recent["steps"])
    return figures + "\n\n" + say("live_even" if status.balance == "even" else "live_edge",
                                   accuracy=recent["d_accuracy"])


def live_grid(status):
    """The run's latest grid at twice its size, and its caption."""
    if status.grid is None:
        return None, ""
    return upscale(status.grid, LIVE_GRID), say("grid_caption", step=status.grid_step)


@friendly
def start_live(steps, minutes, request: gr.Request):
    status = LIVE.start(steps, minutes, owner=owner_of(request))
    return live_line(status), gr.Timer(active=True)


def live_outputs():
    """The live panel, each tick: the status line, the figures, D's outputs so far, the grid."""
    status = LIVE.status()
    outputs = curves(status.records)[1] if status.records else None
    grid, caption = live_grid(status)
    return live_line(status), live_figures(status), outputs, grid, caption, gr.Timer(active=status.running)


@friendly
def stop_live(request: gr.Request):
    return live_line(LIVE.stop(owner=owner_of(request)))


def run_of_model(model: str) -> str | None:
    """The run that trained `model`, if the tab lists it: a shipped model's own history, or the
    local run folder its release folder is (or was exported into)."""
    if model in STORE.bundled:
        return model
    folder = STORE.folders().get(model)
    if folder is None:  # a Hub model: its history is not here
        return None
    folder = folder.resolve()
    return next((label for label, run in local_runs().items() if run.resolve() in (folder, *folder.parents)), None)


def follow_model(session: Session, which: str):
    """The run picker on the session's model's run (which then shows), when the tab lists one."""
    run = run_of_model(session.model)
    return gr.update(value=run) if run and run != which else gr.skip()


# --- the tab -----------------------------------------------------------------------------------
class TrainingTab:
    def __init__(self, page: Page):
        self.page = page
        with gr.Tab(T("tab_training"), id="training") as self.tab:
            gr.Markdown(T("training_intro"), elem_classes="tab-intro")
            self.equilibrium = Equilibrium(page)  # the ideal, live: a 1-D GAN (Goodfellow et al. 2014, Figure 1)
            with gr.Row(equal_height=True):
                self.which = gr.Dropdown(choices(run_choices()), value=run_of_model(page.first.model),
                                         label=T("which_run"), scale=3, elem_id="which-run")
                self.show_btn = gr.Button(T("show"), scale=1)
            self.summary = gr.Markdown(elem_id="run-summary")
            with gr.Row():
                self.losses = gr.LinePlot(x="step", y="value", color="series", height=340, color_map=CURVE_COLOURS,
                                          color_title="", x_title=T("axis_step"), y_title=T("axis_loss"),
                                          label=T("loss_plot"), elem_id="loss-plot")
                self.outputs = gr.LinePlot(x="step", y="value", color="series", y_lim=[0, 1], height=340,
                                           color_map=CURVE_COLOURS, color_title="", x_title=T("axis_step"),
                                           y_title=T("axis_output"), label=T("output_plot"), elem_id="output-plot")
            with gr.Row():
                with gr.Column():
                    self.grid_step = gr.Slider(0, 1, 0, step=1, label=T("grid_step"), elem_id="grid-step")
                    self.grid_caption = gr.Markdown()
                    self.grid = gr.Image(label=T("grid_image"), interactive=False, elem_id="grid-image")
                with gr.Column():
                    with gr.Row(equal_height=True):
                        self.lapse_fps = gr.Slider(1, 12, 3, step=1, label=T("lapse_fps"))
                        self.lapse_btn = gr.Button(T("make_timelapse"))
                    gr.Markdown(T("timelapse_intro"))
                    self.lapse = gr.Video(label=T("timelapse"), autoplay=True, loop=True, height=320, visible=False)
            with gr.Group():
                gr.Markdown(T("live_intro"))
                with gr.Row(equal_height=True):
                    self.live_steps = gr.Slider(50, MAX_STEPS, MAX_STEPS, step=50, label=T("live_steps"),
                                                min_width=200)
                    self.live_minutes = gr.Slider(0.5, MAX_MINUTES, LIVE_SECONDS / 60, step=0.5,
                                                  label=T("live_minutes"), min_width=200)
                    self.live_start = gr.Button(T("live_start"), variant="primary", elem_id="live-start")
                    self.live_stop = gr.Button(T("live_stop"), elem_id="live-stop")
                self.live_message = gr.Markdown(elem_id="live-message")
                with gr.Row():
                    with gr.Column(scale=1, min_width=LIVE_GRID):
                        self.live_caption = gr.Markdown(elem_id="live-caption")
                        self.live_grid = gr.Image(label=T("grid_image"), interactive=False, height=LIVE_GRID,
                                                  width=LIVE_GRID, buttons=[], elem_id="live-grid")
                    with gr.Column(scale=1):
                        self.live_figures = gr.Markdown(T("live_figures_none"), elem_id="live-figures")
                        self.live_outputs = gr.LinePlot(x="step", y="value", color="series", y_lim=[0, 1],
                                                        height=340, color_map=CURVE_COLOURS, color_title="",
                                                        x_title=T("axis_step"), y_title=T("axis_output"),
                                                        label=T("output_plot"), elem_id="live-output-plot")
                self.timer = gr.Timer(1.0, active=False)

    def wire(self):
        self.equilibrium.wire()
        which = self.which
        run = [self.summary, self.losses, self.outputs, self.grid_step, self.grid, self.grid_caption]
        self.show_btn.click(show_run, which, run, api_name="training_run")
        which.change(show_run, which, run, **PRIVATE)
        self.grid_step.release(show_grid, [which, self.grid_step], [self.grid, self.grid_caption],
                               api_name="training_grid", trigger_mode="always_last")
        self.lapse_btn.click(make_timelapse, [which, self.lapse_fps], self.lapse, api_name="timelapse",
                             **HEAVY).success(reveal, None, self.lapse, **PRIVATE)
        self.live_start.click(start_live, [self.live_steps, self.live_minutes], [self.live_message, self.timer],
                              api_name="live_start")
        self.live_stop.click(stop_live, None, self.live_message, api_name="live_stop")
        live = [self.live_message, self.live_figures, self.live_outputs, self.live_grid, self.live_caption]
        self.timer.tick(live_outputs, None, [*live, self.timer], **PRIVATE, **QUIET)
        self.tab.select(refresh_runs, which, which, **PRIVATE).then(show_run, which, run, **PRIVATE)
        self.page.follow_model(follow_model, [self.page.session, which], which)
