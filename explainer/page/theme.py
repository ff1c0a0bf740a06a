"""How the page looks: a dark film-base Gradio theme in the figures' colours, and the page's CSS and JS."""
from __future__ import annotations

from functools import cache
from pathlib import Path

import gradio as gr
import plotly

from .. import figures

STATIC = Path(__file__).resolve().parent / "static"
PLOTLY_JS = Path(plotly.__file__).resolve().parent / "package_data" / "plotly.min.js"
PAGE_BACKGROUND = "#0f1013"  # a shade darker than the figures' paper, so each block stands out
RAISED = "#1b1d23"           # inputs and secondary blocks
ON_AMBER = "#17130c"         # text on an amber button
CHIP = "#17191e"             # a fact chip's face


def film_theme() -> gr.themes.Base:
    """A dark film-base theme (the same in light and dark mode): amber accents, zinc greys."""
    theme = gr.themes.Base(primary_hue=gr.themes.colors.amber, secondary_hue=gr.themes.colors.pink,
                           neutral_hue=gr.themes.colors.zinc, radius_size=gr.themes.sizes.radius_md,
                           font=["Inter", "ui-sans-serif", "system-ui", "-apple-system", "Segoe UI", "sans-serif"],
                           font_mono=["ui-monospace", "SFMono-Regular", "Menlo", "monospace"])
    for name in list(vars(theme)):
        if name.endswith("_dark") and getattr(theme, name) is not None:
            setattr(theme, name[: -len("_dark")], getattr(theme, name))
    colours = dict(body_background_fill=PAGE_BACKGROUND, background_fill_primary=figures.PAPER,
                   background_fill_secondary=RAISED, block_background_fill=figures.PAPER,
                   block_border_color=figures.GRID, border_color_primary=figures.GRID,
                   body_text_color=figures.INK, slider_color=figures.AMOEBA,
                   button_primary_background_fill=figures.AMOEBA, button_primary_text_color=ON_AMBER)
    return theme.set(**colours, **{f"{name}_dark": value for name, value in colours.items()})


def page_css() -> str:
    """page.css, after the figures' colours as CSS variables (so a colour is named in one place)."""
    names = {"amoeba": figures.AMOEBA, "patch": figures.PATCH, "noise": figures.NOISE, "ink": figures.INK,
             "muted": figures.MUTED, "grid": figures.GRID, "chip": CHIP}
    variables = "".join(f" --fr-{name}: {colour};" for name, colour in names.items())
    return f":root {{{variables} }}\n" + (STATIC / "page.css").read_text()


@cache
def player_js() -> str:
    """The script every Plotly player runs when it loads."""
    return (STATIC / "plotly_player.js").read_text()


@cache
def denoise_player_js() -> str:
    """The script of the live denoising player."""
    return (STATIC / "denoise_player.js").read_text()


def launch_options() -> dict:
    """What `launch()` needs besides host and port: the theme, the page's CSS, and the script that names
    the pictures Gradio leaves unnamed (accessibility.js)."""
    return dict(theme=film_theme(), css=page_css(), js=(STATIC / "accessibility.js").read_text())
