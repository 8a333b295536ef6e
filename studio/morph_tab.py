"""The Morph video tab: morphs between keyframes and walks along a direction."""
from __future__ import annotations

import gradio as gr

from gan_core.face import Face
from gan_core.media import write_gif, write_mp4
from gan_core.morph import (add_keyframe, check_fps, check_settings, filmstrip, keyframes_from_text, morph_frames,
                            walk_keyframes, write_morph)
from studio.session_files import session_folder
from studio.i18n import say
from studio.state import STORE, direction_label, directions_of, friendly, md


@friendly
def add_current_to_keyframes(keyframes: str, face: Face):
    return add_keyframe(keyframes, face)


def keyframes_of(model: str, mine: dict, face: Face, keyframes: str):
    """The keyframes' latents, every seed at the session's truncation (the current face's psi)."""
    return keyframes_from_text(keyframes, STORE.get(model).config.nz, directions_of(model, mine), face.psi)


@friendly
def check_morph(model: str, mine: dict, face: Face, keyframes: str, frames_per_segment, fps, mode: str, easing: str,
                loop: bool, size, smooth: bool):
    """Every setting of a morph checked before anything on the page changes (milliseconds)."""
    keys = keyframes_of(model, mine, face, keyframes)
    check_settings(len(keys), int(frames_per_segment), bool(loop), int(size), easing, mode)
    check_fps(fps)


@friendly
def check_walk(model: str, mine: dict, face: Face, name, span, frames_per_segment, fps, easing: str, loop: bool,
               size, smooth: bool):
    """Every setting of a walk checked before anything on the page changes."""
    directions = directions_of(model, mine)
    if name not in directions:
        raise gr.Error(say("pick_walk"))
    walk_keyframes(face.latent(STORE.get(model).config.nz, directions), directions[name], float(span))
    check_settings(2, int(frames_per_segment), bool(loop), int(size), easing, "lerp")
    check_fps(fps)


def render_morph(model: str, mine: dict, face: Face, keyframes: str, frames_per_segment, mode: str, easing: str,
                 loop: bool, size, smooth: bool, progress) -> list:
    gan = STORE.get(model)
    keys = keyframes_of(model, mine, face, keyframes)
    rendering = say("rendering_frames")
    progress(0, desc=rendering)
    return morph_frames(gan, keys, int(frames_per_segment), mode, easing, bool(loop), int(size), bool(smooth),
                        progress=lambda f: progress(0.8 * f, desc=rendering))


def finish_morph(frames, fps, size, request, progress, walking: str = ""):
    """The filmstrip, MP4, GIF and a line about them (`walking`: the direction a walk follows)."""
    progress(0.8, desc=say("encoding"))
    mp4, gif = write_morph(frames, session_folder(request, "morph"), float(fps))
    info = say("walk_info" if walking else "morph_info", frames=len(frames), fps=int(fps), size=int(size),
               direction=walking)
    return filmstrip(frames), str(mp4), str(gif), info


@friendly
def make_morph(model: str, mine: dict, face: Face, keyframes: str, frames_per_segment, fps, mode: str, easing: str,
               loop: bool, size, smooth: bool, request: gr.Request, progress=gr.Progress()):
    check_fps(fps)
    frames = render_morph(model, mine, face, keyframes, frames_per_segment, mode, easing, loop, size, smooth,
                          progress)
    return finish_morph(frames, fps, size, request, progress)


@friendly
def make_walk(model: str, mine: dict, face: Face, name, span, frames_per_segment, fps, easing: str, loop: bool,
              size, smooth: bool, request: gr.Request, progress=gr.Progress()):
    check_fps(fps)
    directions = directions_of(model, mine)
    if name not in directions:
        raise gr.Error(say("pick_walk"))
    gan = STORE.get(model)
    keys = walk_keyframes(face.latent(gan.config.nz, directions), directions[name], float(span))
    rendering = say("rendering_frames")
    progress(0, desc=rendering)
    frames = morph_frames(gan, keys, int(frames_per_segment), "lerp", easing, bool(loop), int(size), bool(smooth),
                          progress=lambda f: progress(0.8 * f, desc=rendering))
    return finish_morph(frames, fps, size, request, progress, md(direction_label(directions[name])))


def morph_file(fmt: str):
    """An API-only morph endpoint that renders one format (MP4 or GIF)."""
    @friendly
    def render(model: str, mine: dict, face: Face, keyframes: str, frames_per_segment, fps, mode: str, easing: str,
               loop: bool, size, smooth: bool, request: gr.Request, progress=gr.Progress()):
        check_fps(fps)
        frames = render_morph(model, mine, face, keyframes, frames_per_segment, mode, easing, loop, size, smooth,
                              progress)
        writer = write_mp4 if fmt == "mp4" else write_gif
        return str(writer(frames, session_folder(request, "morph") / f"morph.{fmt}", float(fps)))
    return render
