"""The web page: a clip in, its film reel and spacetime patches out."""
from __future__ import annotations

import argparse
from pathlib import Path

import gradio as gr

from .clip import load_clip
from .errors import ExplainerError

ASSETS = Path(__file__).resolve().parent.parent / "assets"
DEFAULT_SAMPLE = ASSETS / "sample_wide.webm"


def dissect(path):
    if not path:
        raise gr.Error("Upload a clip or pick a sample first.")
    try:
        clip = load_clip(path)
    except ExplainerError as error:
        raise gr.Error(str(error)) from None
    grid = clip.grid
    summary = {"source": clip.source.as_dict(), "working size": list(clip.frames.shape[:3]),
               "grid": list(grid.shape), "tokens": grid.tokens}
    return list(clip.frames), summary


def build_demo() -> gr.Blocks:
    with gr.Blocks(title="Film Reel") as demo:
        gr.Markdown("# Film Reel\nHow a Sora-style video model cuts your clip into spacetime patches.")
        video = gr.Video(value=str(DEFAULT_SAMPLE) if DEFAULT_SAMPLE.exists() else None, label="Your clip")
        button = gr.Button("Dissect", variant="primary")
        strip = gr.Gallery(label="Film reel", columns=8, height="auto")
        facts = gr.JSON(label="What the clip became")
        button.click(dissect, video, [strip, facts], api_name="dissect")
        demo.load(dissect, video, [strip, facts])
    return demo


def main(argv=None):
    parser = argparse.ArgumentParser(description="Film Reel: an explainer of video diffusion transformers")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=7860)
    parser.add_argument("--share", action="store_true")
    parser.add_argument("--max-file-size", default="200mb")
    args = parser.parse_args(argv)
    demo = build_demo()
    demo.queue().launch(server_name=args.host, server_port=args.port, share=args.share,
                        max_file_size=args.max_file_size)
