"""`python -m explainer COMMAND ...`: the explainer's stages from the shell.

Each command returns one dict; `--json` prints it as one JSON object, otherwise a short summary.
Errors a person can fix (bad clip, bad flag) print one `error:` line on stderr and exit with status 2.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time

from .errors import ExplainerError


def _dissect(args) -> dict:
    from .clip import load_clip

    started = time.perf_counter()
    clip = load_clip(args.path, frames=args.frames, max_side=args.max_side, patch=tuple(args.patch))
    grid = clip.grid
    return {
        "path": str(args.path),
        "source": clip.source.as_dict(),
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
        f"working clip: {result['frames']} frames of {result['width']}x{result['height']} (no cropping)",
        f"spacetime patches {result['patch'][0]}x{result['patch'][1]}x{result['patch'][2]} -> grid "
        f"{result['grid'][0]}x{result['grid'][1]}x{result['grid'][2]} = {result['tokens']} tokens "
        f"of {result['token_dim']} numbers",
        f"took {result['seconds']:.3f} s",
    ])


def _bench(args) -> dict:
    from .bench import run_bench

    return run_bench(config=args.config, quick=args.quick)


def _denoise(args) -> dict:
    from .clip import load_clip
    from .trajectory import denoise, write_trajectory_video
    from .weights import PRIOR, load_weights

    clip = load_clip(args.path, frames=args.frames, max_side=args.max_side)
    model, _ = load_weights(args.weights or PRIOR)
    started = time.perf_counter()
    run = denoise(model, clip.frames, sampler=args.sampler, steps=args.steps, seed=args.seed, start=args.start,
                  strength=args.strength)
    seconds = time.perf_counter() - started
    result = {"path": str(args.path), "working": list(clip.frames.shape[:3]), "tokens": clip.grid.tokens,
              **run.settings, "model_calls": len(run.timesteps), "seconds": round(seconds, 2),
              "first_t": run.timesteps[0], "x0_hat_psnr_db": [round(p, 2) for p in run.psnr_db]}
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
    from dataclasses import fields

    from .train import TrainSettings, train

    names = {f.name for f in fields(TrainSettings)}
    settings = TrainSettings(**{k: v for k, v in vars(args).items() if k in names and v is not None})
    return train(settings, command="python -m explainer " + " ".join(sys.argv[1:]))


def _fit(args) -> dict:
    from .clip import load_clip
    from .fit import fit_clip, regenerate
    from .pixels import psnr_db, to_unit
    from .weights import PRIOR, load_weights

    clip = load_clip(args.path, frames=args.frames, max_side=args.max_side)
    model, card = load_weights(args.weights or PRIOR)
    x0 = to_unit(clip.frames)
    prior_regen = regenerate(model, x0.shape, seed=args.seed)
    fit = fit_clip(model, x0, seconds=args.seconds, steps=args.steps, seed=args.seed)
    regen = regenerate(fit.model, x0.shape, seed=args.seed)
    return {"path": str(args.path), "working": list(x0.shape[:3]), "tokens": clip.grid.tokens,
            "steps": fit.steps, "seconds": round(fit.seconds, 1),
            "final_loss": round(float(sum(fit.losses[-20:]) / max(1, len(fit.losses[-20:]))), 5),
            "prior_regen_psnr_db": round(psnr_db(prior_regen, x0), 2),
            "regen_psnr_db": round(psnr_db(regen, x0), 2)}


def _evaluate(args) -> dict:
    from .evaluate import evaluate
    from .weights import PRIOR, load_weights

    model, _ = load_weights(args.weights or PRIOR)
    return evaluate(model, args.paths, count=args.count)


def _evaluate_summary(result: dict) -> str:
    from .evaluate import format_table

    return format_table(result)


COMMANDS = {
    # name: (function, summary formatter or None for indented JSON)
    "dissect": (_dissect, _dissect_summary),
    "bench": (_bench, None),
    "denoise": (_denoise, _denoise_summary),
    "train": (_train, None),
    "fit": (_fit, None),
    "evaluate": (_evaluate, _evaluate_summary),
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m explainer", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)

    dissect = commands.add_parser("dissect", help="cut a clip into spacetime patches and report the grid")
    dissect.add_argument("path")
    dissect.add_argument("--frames", type=int, default=16, help="frames sampled evenly over the clip")
    dissect.add_argument("--max-side", type=int, default=128, help="longest side of the working clip, px")
    dissect.add_argument("--patch", type=int, nargs=3, default=[2, 8, 8], metavar=("PT", "PH", "PW"))
    dissect.add_argument("--json", action="store_true")

    bench = commands.add_parser("bench", help="time the DiT and a DDIM trajectory on this machine")
    bench.add_argument("--config", default="default")
    bench.add_argument("--quick", action="store_true", help="a smoke run: few repetitions")
    bench.add_argument("--json", action="store_true")

    denoise = commands.add_parser("denoise", help="run the DiT's reverse process on a clip's patches")
    denoise.add_argument("path")
    denoise.add_argument("--sampler", choices=["ddim", "ddpm"], default="ddim")
    denoise.add_argument("--steps", type=int, default=50)
    denoise.add_argument("--seed", type=int, default=0)
    denoise.add_argument("--start", choices=["noise", "clip"], default="noise",
                         help="pure noise, or the clip noised to --strength (SDEdit)")
    denoise.add_argument("--strength", type=float, default=0.6)
    denoise.add_argument("--frames", type=int, default=16)
    denoise.add_argument("--max-side", type=int, default=128)
    denoise.add_argument("--weights")
    denoise.add_argument("--video", help="write the run (x_t | x̂0) to this .webm")
    denoise.add_argument("--json", action="store_true")

    train = commands.add_parser("train", help="train the DiT prior on procedural clips (torchrun-ready)")
    train.add_argument("--config")
    train.add_argument("--steps", type=int)
    train.add_argument("--batch", type=int, help="clips per process and step")
    train.add_argument("--reuse", type=int, help="optimizer steps per generated batch")
    train.add_argument("--lr", type=float)
    train.add_argument("--warmup", type=int)
    train.add_argument("--ema", type=float)
    train.add_argument("--max-side", type=int)
    train.add_argument("--seed", type=int)
    train.add_argument("--init", help="start from these weights (.safetensors with its .json) instead of random ones")
    train.add_argument("--noise-bias", type=float,
                       help="bend training timesteps: > 0 towards pure noise, < 0 towards clean clips")
    train.add_argument("--workers", type=int, help="data-loader processes per training process")
    train.add_argument("--out", help="folder for dit.safetensors and its .json")
    train.add_argument("--checkpoint", help="resumable checkpoint file (default OUT/checkpoint.safetensors)")
    train.add_argument("--checkpoint-every", type=int)
    train.add_argument("--max-minutes", type=float, help="stop and save after this much wall time")
    train.add_argument("--json", action="store_true")

    fit = commands.add_parser("fit", help="fine-tune the prior on one clip, then regenerate it from noise")
    fit.add_argument("path")
    fit.add_argument("--seconds", type=float, default=60.0)
    fit.add_argument("--steps", type=int, help="a step budget instead of a time budget")
    fit.add_argument("--seed", type=int, default=0)
    fit.add_argument("--frames", type=int, default=16)
    fit.add_argument("--max-side", type=int, default=64,
                     help="working size of the fit: fewer tokens buy more steps in the time budget")
    fit.add_argument("--weights", help="start from these weights instead of the shipped prior")
    fit.add_argument("--json", action="store_true")

    evaluate = commands.add_parser("evaluate", help="denoising PSNR of the prior against classical denoisers")
    evaluate.add_argument("paths", nargs="*", help="real clips to add to the held-out procedural ones")
    evaluate.add_argument("--count", type=int, default=4, help="held-out procedural clips")
    evaluate.add_argument("--weights")
    evaluate.add_argument("--json", action="store_true")
    return parser


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    function, summary = COMMANDS[args.command]
    try:
        result = function(args)
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
    if args.json or summary is None:
        print(json.dumps(result, indent=None if args.json else 2))
    else:
        print(summary(result))
    return 0
