"""`python -m explainer COMMAND ...`: the explainer's stages from the shell.

Each command returns one dict; `--json` prints it as one JSON object, otherwise a short summary.
Errors a person can fix (bad clip, bad flag) print one `error:` line on stderr and exit with status 2.
"""
from __future__ import annotations

import argparse
import json
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


COMMANDS = {
    # name: (function, summary formatter or None for indented JSON)
    "dissect": (_dissect, _dissect_summary),
    "bench": (_bench, None),
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
    if args.json or summary is None:
        print(json.dumps(result, indent=None if args.json else 2))
    else:
        print(summary(result))
    return 0
