"""How the page looks: a dark film-base Gradio theme in the figures' colours, and the page's CSS and JS."""
from __future__ import annotations

from functools import cache
from pathlib import Path

import gradio as gr
import plotly

from ..figures import style

STATIC = Path(__file__).resolve().parent / "static"
PLOTLY_JS = Path(plotly.__file__).resolve().parent / "package_data" / "plotly.min.js"


def film_theme() -> gr.themes.Base:
    """A dark film-base theme (the same in light and dark mode): amber accents, zinc greys."""
    theme = gr.themes.Base(primary_hue=gr.themes.colors.amber, secondary_hue=gr.themes.colors.pink,
                           neutral_hue=gr.themes.colors.zinc, radius_size=gr.themes.sizes.radius_md,
                           font=["Inter", "ui-sans-serif", "system-ui", "-apple-system", "Segoe UI", "sans-serif"],
                           font_mono=["ui-monospace", "SFMono-Regular", "Menlo", "monospace"])
    for name in list(vars(theme)):
        if name.endswith("_dark") and getattr(theme, name) is not None:
            setattr(theme, name[: -len("_dark")], getattr(theme, name))
    colours = dict(body_background_fill=style.PAGE, background_fill_primary=style.PAPER,
                   background_fill_secondary=style.RAISED, block_background_fill=style.PAPER,
                   block_border_color=style.GRID, border_color_primary=style.GRID,
                   body_text_color=style.INK, slider_color=style.AMOEBA,
                   button_primary_background_fill=style.AMOEBA, button_primary_text_color=style.ON_AMBER)
    return theme.set(**colours, **{f"{name}_dark": value for name, value in colours.items()})


def colour_variables() -> str:
    """The colours of figures/style.py as CSS variables (--fr-amoeba, ...): the page's CSS and its scripts
    read them there, so a colour is named in one place."""
    variables = "".join(f" --fr-{name}: {colour};" for name, colour in style.CSS_COLOURS.items())
    return f":root {{{variables} --fr-font: {style.FONT}; }}\n"


def page_css() -> str:
    """page.css, after the colour variables it uses."""
    return colour_variables() + (STATIC / "page.css").read_text()


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
