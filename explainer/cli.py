"""`python -m explainer COMMAND ...`: the explainer's stages from the shell.

Each command returns one dict; `--json` prints it as one JSON object, otherwise a short summary.
Errors a person can fix (bad clip, bad flag) print one `error:` line on stderr and exit with status 2.
The train command's flags are built from `explainer.train.TrainSettings`, one per field.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
import typing
from collections.abc import Callable
from dataclasses import fields
from pathlib import Path
from typing import NamedTuple

from .diffusion import SAMPLERS
from .dit import CONFIGS
from .errors import ExplainerError
from .fit import FIT_SIDE
from .given import GIVEN
from .train import TrainSettings
from .trajectory import STARTS


def _dissect(args) -> dict:
    from .clip import load_clip

    started = time.perf_counter()
    clip = load_clip(args.path, frames=args.frames, max_side=args.max_side, patch=tuple(args.patch),
                     **_window(args).load_kwargs(args.path))
    grid = clip.grid
    return {
        "path": str(args.path),
        "source": clip.source.as_dict(),
        "window": list(clip.window),
        "stride": clip.stride,
        "frame_indices": list(clip.frame_indices),
        "frames": int(clip.frames.shape[0]),
        "height": int(clip.frames.shape[1]),
        "width": int(clip.frames.shape[2]),
        "patch": list(grid.patch),
        "grid": list(grid.shape),
        "tokens": grid.tokens,
        "token_dim": grid.token_dim,
        "seconds": round(time.perf_counter() - started, 4),
    }


def _dissect_summary(result: dict) -> str:
    src = result["source"]
    return "\n".join([
        f"{result['path']}: {src['width']}x{src['height']}, {src['fps']:.2f} fps, "
        f"{src['frames_decoded']} frames decoded, {src['duration_s']:.2f} s",
        f"working clip: {result['frames']} frames of {result['width']}x{result['height']} (no cropping), "
        + _window_words(result),
        f"spacetime patches {result['patch'][0]}x{result['patch'][1]}x{result['patch'][2]} -> grid "
        f"{result['grid'][0]}x{result['grid'][1]}x{result['grid'][2]} = {result['tokens']} tokens "
        f"of {result['token_dim']} numbers",
        f"took {result['seconds']:.3f} s",
    ])


def _window_words(result: dict) -> str:
    """Which source frames the working clip holds, in words."""
    fps, (first, last), stride = result["source"]["fps"], result["window"], result["stride"]
    if fps <= 0:
        return "a still"
    return f"source frames {first}-{last}, every {_nth(stride)} ({fps / stride:.3g} frames a second)"


def _bench(args) -> dict:
    from .bench import run_bench

    return run_bench(config=args.config, quick=args.quick)


def _bench_page(args) -> dict:
    from .page_bench import run_page_bench

    return run_page_bench(visitors=args.visitors, rounds=args.rounds, opens=args.opens, browser=not args.no_browser)


def _gpu_check(args) -> dict:
    from .gpu_check import run_gpu_check

    return run_gpu_check()


def _gpu_check_summary(result: dict) -> str:
    from .gpu_check import summary

    return summary(result)


def _denoise(args) -> dict:
    from .clip import load_clip
    from .trajectory import RunSettings, denoise, write_trajectory_video
    from .weights import PRIOR, load_weights

    clip = load_clip(args.path, frames=args.frames, max_side=args.max_side, **_window(args).load_kwargs(args.path))
    model, _ = load_weights(args.weights or PRIOR)
    started = time.perf_counter()
    settings = RunSettings(sampler=args.sampler, steps=args.steps, seed=args.seed, start=args.start,
                           strength=args.strength, given=args.given)
    scores = {}
    if args.given:
        from .given_scores import score_given

        scores = score_given(model, clip.frames, settings)
        run = scores.pop("run")
        scores["given_slices"] = sorted({f // model.config.patch[0] for f in scores["given_frames"]})
    else:
        run = denoise(model, clip.frames, settings)
    seconds = time.perf_counter() - started
    working = run.final.shape[:3]  # a still animated becomes a clip
    result = {"path": str(args.path), "working": list(working), "tokens": model.grid(*working).tokens,
              "window": list(clip.window), "stride": clip.stride,
              **run.settings, "model_calls": len(run.timesteps), "seconds": round(seconds, 2),
              "first_t": run.timesteps[0], "x0_hat_psnr_db": [round(p, 2) for p in run.psnr_db], **scores}
    if args.video:
        result["video"] = str(write_trajectory_video(run, args.video))
    return result


def _denoise_summary(result: dict) -> str:
    psnr = result["x0_hat_psnr_db"]
    lines = [f"{result['sampler']} from {result['start']} (t = {result['first_t']}), {result['model_calls']} model "
             f"calls on {result['tokens']} tokens in {result['seconds']:.2f} s",
             f"x̂0 against the clip: {psnr[0]:.1f} dB at the first step, {psnr[-1]:.1f} dB at the last"]
    if "video" in result:
        lines.append(f"video: {result['video']}")
    return "\n".join(lines)


def _train(args) -> dict:
    from .train import train

    return train(settings_from(TrainSettings, args), command="python -m explainer " + " ".join(sys.argv[1:]))


def _compress(args) -> dict:
    from .clip import load_clip
    from .compress import VAE_WEIGHTS, compress, own_frames
    from .train_vae import load_vae

    clip = load_clip(args.path, frames=args.frames, max_side=args.max_side, **_window(args).load_kwargs(args.path))
    model, card = load_vae(args.weights or VAE_WEIGHTS)
    frames = own_frames(clip)  # a still is one frame
    compressed = compress(model, frames)
    return {"path": str(args.path), "working": list(frames.shape[:3]), "window": list(clip.window),
            "stride": clip.stride, **compressed.scores(frames), "weights": str(args.weights or VAE_WEIGHTS),
            "training_steps": card.get("training_steps")}


def _compress_summary(result: dict) -> str:
    return (f"{result['working'][0]} frames of {result['working'][1]}x{result['working'][2]} -> latent "
            f"{'x'.join(map(str, result['latent_shape']))} ({result['values_per_latent']:g} pixel values a latent "
            f"number), encoded in {result['encode_s']:.2f} s, decoded in {result['decode_s']:.2f} s\n"
            f"decoded: {result['psnr_db']:.2f} dB PSNR, SSIM {result['ssim']:.3f}; same-count resizing: "
            f"{result['baseline_psnr_db']:.2f} dB, SSIM {result['baseline_ssim']:.3f}")


def _train_vae(args) -> dict:
    from .train_vae import VAESettings, train_vae

    return train_vae(settings_from(VAESettings, args), command="python -m explainer " + " ".join(sys.argv[1:]))


def _fit(args) -> dict:
    from .clip import load_clip
    from .fit import FitSettings, fit_clip, regenerate
    from .pixels import psnr_db, to_unit
    from .weights import PRIOR, load_weights

    clip = load_clip(args.path, frames=args.frames, max_side=args.max_side, **_window(args).load_kwargs(args.path))
    model, card = load_weights(args.weights or PRIOR)
    x0 = to_unit(clip.frames)
    prior_regen = regenerate(model, x0.shape, seed=args.seed)
    fit = fit_clip(model, x0, FitSettings(seconds=args.seconds, steps=args.steps, seed=args.seed))
    regen = regenerate(fit.model, x0.shape, seed=args.seed)
    return {"path": str(args.path), "working": list(x0.shape[:3]), "tokens": clip.grid.tokens,
            "window": list(clip.window), "stride": clip.stride, "steps": fit.steps, "seconds": round(fit.seconds, 1),
            "final_loss": round(float(sum(fit.losses[-20:]) / max(1, len(fit.losses[-20:]))), 5),
            "prior_regen_psnr_db": round(psnr_db(prior_regen, x0), 2),
            "regen_psnr_db": round(psnr_db(regen, x0), 2)}


def _claims(args) -> dict:
    from .claims import measure_claims, save_claims
    from .weights import PRIOR, load_weights

    model, _ = load_weights(args.weights or PRIOR)
    claims = measure_claims(args.path, model=model, frames=args.frames, max_side=args.max_side, window=_window(args),
                            seconds=args.seconds, steps=args.steps, seed=args.seed)
    claims.summary["clip"] = Path(args.path).name
    if args.save:
        save_claims(claims, args.save)
    return {"path": str(args.path), **claims.summary}


def _claims_summary(result: dict) -> str:
    crop, frames = result["crop"], result["frames"]

    def db(value):
        return "—" if value is None else f"{value:.1f} dB"

    lines = [f"{result['path']}: working clip {' x '.join(map(str, result['working']))} (frames x height x width)"]
    for name in ("native", "cropped"):
        scores = crop[name]
        lines.append(f"fitted on {name + ' frames' if name == 'native' else 'centre crops'}: centre "
                     f"{db(scores['centre_psnr_db'])}, sides {db(scores['sides_psnr_db'])} ({scores['steps']} steps)")
    if crop["note"]:
        lines.append(crop["note"])
    lines.append(f"frame-to-frame change ({frames['units']}), from the clip noised to t = {frames['t']}: clip "
                 f"{frames['clip_change']}, spacetime {frames['spacetime_change']}, frames apart "
                 f"{frames['frames_apart_change']}")
    lines.extend(_next_patch_lines(result.get("next_patch")))
    lines.append(f"took {result['wall_seconds']:.0f} s")
    return "\n".join(lines)


def _next_patch_lines(next_patch: dict | None) -> list[str]:
    """The third claim in words: each way's DiT calls, seams and drift, beside the clip's own change."""
    if not next_patch:
        return []
    if next_patch.get("note"):
        return [f"the next patch: {next_patch['note']}"]
    clip = next_patch["clip"]
    lines = [f"the next patch ({next_patch['units']}, change across vs within slice borders): clip "
             f"{clip['across_slices']} vs {clip['within_slices']}"]
    for way in ("all_at_once", "one_after_another"):
        made = next_patch[way]
        psnr = made["psnr_db"]
        lines.append(f"  {way.replace('_', ' ')}: {made['dit_calls']} DiT calls, {made['seconds']:.0f} s, "
                     f"{made['across_slices']} vs {made['within_slices']}, PSNR from the first generated frame to the "
                     f"last {psnr[0]:.1f} to {psnr[-1]:.1f} dB (mean {made['mean_psnr_db']:.1f})")
    return lines


def _sample_answers(args) -> dict:
    from .page.sample_answers import SHIPPED, save_shipped

    written = save_shipped(Path(args.dir) if args.dir else SHIPPED)
    return {"files": [str(path) for path in written], "bytes": sum(path.stat().st_size for path in written)}


def _evaluate(args) -> dict:
    from .evaluate import evaluate
    from .weights import PRIOR, load_weights

    model, _ = load_weights(args.weights or PRIOR)
    result = evaluate(model, args.paths, count=args.count, footage=args.held_out, samples=args.samples,
                      window=_window(args))
    if args.given:  # each mode on the real clips, cut as above
        from .evaluate import given_medians, real_clips

        real, _ = real_clips(args.paths, footage=args.held_out, window=_window(args))
        result["given"] = given_medians(model, real, args.given)
    return result


def _data(args) -> dict:
    from .data import cache_dir, fetch

    manifest = fetch(args.dir)
    return {"folder": str(args.dir or cache_dir()), **manifest}


def _data_summary(result: dict) -> str:
    lines = [f"real footage in {result['folder']} (sources.json says where each file came from):"]
    lines += [f"  {r['name']}: {r['work']}; {r['licence']} (from the {r['package']} wheel, "
              f"{r['package_licence']})" for r in result["sources"]]
    held = result["held_out"]
    lines.append(f"held out of training: {held['file']} frames {held['frames'][0]}-{held['frames'][1] - 1}")
    return "\n".join(lines)


def _evaluate_summary(result: dict) -> str:
    from .evaluate import format_table

    return format_table(result)


# --- the command line -------------------------------------------------------------------------------

class UsageError(Exception):
    """A flag the parser refused; `main` prints it as one error line."""


class Parser(argparse.ArgumentParser):
    """An argument parser whose errors reach `main` as a UsageError instead of exiting with a usage text."""

    def error(self, message):
        raise UsageError(f"{message} (see {self.prog} --help)")


class HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """Each option's help ends with its default, where it has one worth showing (not None, "" or a flag's
    False); choices show in the option's metavar."""

    def _get_help_string(self, action):
        text = action.help or ""
        default = action.default
        unshown = default is None or default is False or default is argparse.SUPPRESS or default == ""
        if "%(default)" in text or unshown or not action.option_strings:
            return text
        shown = " ".join(map(str, default)) if isinstance(default, (list, tuple)) else "%(default)s"
        return f"{text} (default: {shown})".lstrip()


def add_settings(parser: argparse.ArgumentParser, settings_class) -> None:
    """One flag per field of a settings dataclass: --max-side for max_side, typed by the field's annotation,
    with the field's default, and the help and choices from its metadata. A tuple takes one or more values."""
    hints = typing.get_type_hints(settings_class)
    for item in fields(settings_class):
        kind = hints[item.name]
        options = {"default": item.default, "help": item.metadata.get("help")}
        if "choices" in item.metadata:
            options["choices"] = item.metadata["choices"]
        if kind is bool:
            options["action"] = argparse.BooleanOptionalAction
        elif kind is tuple or typing.get_origin(kind) is tuple:
            options.update(nargs="+", type=type(item.default[0]) if item.default else str, metavar="N")
        else:
            options["type"] = kind
        parser.add_argument("--" + item.name.replace("_", "-"), **options)


def settings_from(settings_class, args: argparse.Namespace):
    """The settings dataclass filled from parsed flags (lists back to tuples)."""
    values = {item.name: getattr(args, item.name) for item in fields(settings_class)}
    return settings_class(**{name: tuple(v) if isinstance(v, list) else v for name, v in values.items()})


# --- each command's flags (besides --json) ---------------------------------------------------------

FRAMES_HELP = "working frames: a window of consecutive source frames"


def _window_flags(parser: argparse.ArgumentParser, *, spread: bool = False):
    """Where the working clip comes from in the source; the defaults are the page's (a window from the start,
    at about 10 frames a second)."""
    start = parser.add_mutually_exclusive_group()
    start.add_argument("--start-frame", type=int, default=0, metavar="N",
                       help="source frame the window of working frames starts at (moved back when the window "
                            "would run past the end)")
    start.add_argument("--start-s", type=float, metavar="SECONDS",
                       help="where the window starts, in seconds (turned into a frame at the clip's frame rate)")
    parser.add_argument("--stride", type=int, metavar="N",
                        help="source frames between working frames (default: the frame rate over 10, rounded, "
                             "at least 1, lowered when the clip is too short for it)")
    if spread:
        parser.add_argument("--spread", action="store_true",
                            help="frames evenly over the whole clip instead of a window (start and stride unused)")


def _window(args: argparse.Namespace):
    """The window settings the flags of `_window_flags` chose."""
    from .clip import WindowSettings

    return WindowSettings(start_frame=args.start_frame, stride=args.stride, spread=getattr(args, "spread", False),
                          start_s=args.start_s)


def _nth(stride: int) -> str:
    return {1: "frame", 2: "second frame", 3: "third frame"}.get(stride, f"{stride}th frame")


def _dissect_flags(parser: argparse.ArgumentParser):
    parser.add_argument("path", help="a video or image file")
    parser.add_argument("--frames", type=int, default=16, help=FRAMES_HELP)
    _window_flags(parser)
    parser.add_argument("--max-side", type=int, default=128, help="longest side of the working clip, px")
    parser.add_argument("--patch", type=int, nargs=3, default=[2, 8, 8], metavar=("PT", "PH", "PW"),
                        help="tubelet size: frames, rows, columns")


def _bench_flags(parser: argparse.ArgumentParser):
    parser.add_argument("--config", default="default", choices=tuple(CONFIGS), help="model size")
    parser.add_argument("--quick", action="store_true", help="a smoke run: few repetitions")


def _bench_page_flags(parser: argparse.ArgumentParser):
    parser.add_argument("--visitors", type=int, default=8, help="visitors opening the page at the same moment")
    parser.add_argument("--rounds", type=int, default=5, help="rounds of simultaneous opens after the first")
    parser.add_argument("--opens", type=int, default=3, help="fresh opens in headless Chromium")
    parser.add_argument("--no-browser", action="store_true", help="only the API opens")


def _gpu_check_flags(parser: argparse.ArgumentParser):
    """None besides --json: the check's budget is fixed, so its figures compare from one GPU to another."""


def _denoise_flags(parser: argparse.ArgumentParser):
    parser.add_argument("path", help="a video or image file")
    # the registries themselves are the choices: a sampler or start added there is offered here
    parser.add_argument("--sampler", choices=SAMPLERS, default="ddim", help="reverse-process sampler")
    parser.add_argument("--steps", type=int, default=50, help="model calls")
    parser.add_argument("--seed", type=int, default=0, help="seed of the noise")
    parser.add_argument("--start", choices=STARTS, default="noise",
                        help="pure noise, or the clip noised to --strength (SDEdit)")
    parser.add_argument("--strength", type=float, default=0.6, help="how far towards noise --start clip goes")
    parser.add_argument("--given", choices=GIVEN,
                        help="time slices given clean, the rest generated from pure noise: animate (the first), "
                             "extend (the first half), extend-back (the second half), connect (first and last)")
    parser.add_argument("--frames", type=int, default=16, help=FRAMES_HELP)
    _window_flags(parser)
    parser.add_argument("--max-side", type=int, default=128, help="longest side of the working clip, px")
    parser.add_argument("--weights", help="these weights instead of the shipped prior")
    parser.add_argument("--video", help="write the run (x_t | x̂0) to this .webm")


def _data_flags(parser: argparse.ArgumentParser):
    parser.add_argument("--dir", help="cache folder (default: $FILM_REEL_DATA, else ~/.cache/film-reel/data)")


def _fit_flags(parser: argparse.ArgumentParser):
    parser.add_argument("path", help="a video or image file")
    parser.add_argument("--seconds", type=float, default=60.0, help="wall-time budget of the fit")
    parser.add_argument("--steps", type=int, help="a step budget instead of a time budget")
    parser.add_argument("--seed", type=int, default=0, help="seed of the fit and of the regeneration")
    parser.add_argument("--frames", type=int, default=16, help=FRAMES_HELP)
    _window_flags(parser)
    parser.add_argument("--max-side", type=int, default=FIT_SIDE,
                        help="working size of the fit: fewer tokens buy more steps in the time budget")
    parser.add_argument("--weights", help="start from these weights instead of the shipped prior")


def _claims_flags(parser: argparse.ArgumentParser):
    parser.add_argument("path", help="a video or image file")
    parser.add_argument("--seconds", type=float, default=30.0,
                        help="wall-time budget of each fit (native, crop, frames apart)")
    parser.add_argument("--steps", type=int, help="a step budget for each fit instead (the same numbers every run)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the fits and of the noise")
    parser.add_argument("--frames", type=int, default=16, help=FRAMES_HELP)
    _window_flags(parser)
    parser.add_argument("--max-side", type=int, default=FIT_SIDE, help="working size of the fits, as the page fits")
    parser.add_argument("--weights", help="start from these weights instead of the shipped prior")
    parser.add_argument("--save", help="also keep the answer as SAVE.json and SAVE.jpg (how the bundled samples' "
                                       "answers in assets/claims/ are made)")


def _evaluate_flags(parser: argparse.ArgumentParser):
    parser.add_argument("paths", nargs="*", help="real clips to add to the held-out procedural ones")
    parser.add_argument("--count", type=int, default=4, help="held-out procedural clips")
    parser.add_argument("--held-out", action="store_true",
                        help="add the held-out scene of real footage (needs `python -m explainer data` first)")
    parser.add_argument("--samples", type=int, default=0,
                        help="also generate this many clips from pure noise and compare their statistics "
                             "with the real clips'")
    parser.add_argument("--weights", help="these weights instead of the shipped prior")
    parser.add_argument("--given", nargs="+", choices=GIVEN, metavar="MODE",
                        help="also score these modes of given frames on each real clip (50-step DDIM, medians "
                             "over seeds 0-2, and the checks a learned condition must pass)")
    _window_flags(parser, spread=True)


def _train_flags(parser: argparse.ArgumentParser):
    add_settings(parser, TrainSettings)


def _compress_flags(parser: argparse.ArgumentParser):
    parser.add_argument("path", help="a video or image file")
    parser.add_argument("--frames", type=int, default=16, help=FRAMES_HELP)
    _window_flags(parser)
    parser.add_argument("--max-side", type=int, default=128, help="longest side of the working clip, px")
    parser.add_argument("--weights", help="these autoencoder weights instead of the shipped ones")


def _train_vae_flags(parser: argparse.ArgumentParser):
    from .train_vae import VAESettings

    add_settings(parser, VAESettings)


def _sample_answers_flags(parser: argparse.ArgumentParser):
    parser.add_argument("--dir", help="write them here instead of assets/answers/ (where the page reads them)")


class Command(NamedTuple):
    """A command: what it does (its --help line), its flags, the function that runs it, and how its result
    is summed up without --json (None: indented JSON)."""

    about: str
    flags: Callable[[argparse.ArgumentParser], None]
    run: Callable[[argparse.Namespace], dict]
    summary: Callable[[dict], str] | None


COMMANDS = {  # in the order --help lists them
    "dissect": Command("cut a clip into spacetime patches and report the grid", _dissect_flags, _dissect,
                       _dissect_summary),
    "bench": Command("time the DiT and a DDIM trajectory on this machine", _bench_flags, _bench, None),
    "bench-page": Command("time the page opening: visitors at once through its API, and in a browser",
                          _bench_page_flags, _bench_page, None),
    "gpu-check": Command("check the CUDA path end to end (bf16, the page's run, a fit, the claims, the packed "
                         "forward, bench's figures); without CUDA, say so", _gpu_check_flags, _gpu_check,
                         _gpu_check_summary),
    "denoise": Command("run the DiT's reverse process on a clip's patches", _denoise_flags, _denoise,
                       _denoise_summary),
    "data": Command("fetch the real footage the prior trains on, with where each file came from", _data_flags,
                    _data, _data_summary),
    "train": Command("train the DiT prior on procedural clips or real footage (torchrun-ready)", _train_flags,
                     _train, None),
    "compress": Command("encode a clip with the compression network and decode it, against same-count "
                        "resizing", _compress_flags, _compress, _compress_summary),
    "train-vae": Command("train the compression network (a small video autoencoder) on real footage "
                         "(torchrun-ready)", _train_vae_flags, _train_vae, None),
    "fit": Command("fine-tune the prior on one clip, then regenerate it from noise", _fit_flags, _fit, None),
    "claims": Command("test the three claims on a clip: cropping loses the composition, frames denoised "
                      "apart flicker, the next patch (one slice after another against all at once)",
                      _claims_flags, _claims, _claims_summary),
    "evaluate": Command("denoising PSNR of the prior against classical denoisers", _evaluate_flags, _evaluate,
                        _evaluate_summary),
    "sample-answers": Command("work out the bundled samples' answers at the page's default settings and ship "
                              "them in assets/answers/", _sample_answers_flags, _sample_answers, None),
}


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(prog="python -m explainer", description=__doc__.splitlines()[0], formatter_class=HelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    for name, command in COMMANDS.items():
        flags = commands.add_parser(name, help=command.about, description=command.about, formatter_class=HelpFormatter)
        command.flags(flags)
        flags.add_argument("--json", action="store_true", help="print one JSON object")
    return parser


def main(argv=None) -> int:
    try:
        args = build_parser().parse_args(argv)
    except UsageError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    command = COMMANDS[args.command]
    try:
        result = command.run(args)
    except ExplainerError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 2
    except Exception as error:  # a fault of the explainer, not of the input: still no traceback
        print(f"error: unexpected {type(error).__name__}: {error}", file=sys.stderr)
        return 1
    if os.environ.get("RANK", "0") != "0":
        return 0  # under torchrun only the first process reports
    if args.json or command.summary is None:
        print(json.dumps(result, indent=None if args.json else 2))
    else:
        print(command.summary(result))
    return 0
