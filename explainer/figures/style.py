"""The visual language of every figure: one set of colours, one font, one dark film-base background.

The amoeba is amber, the one highlighted thing (a token, a step) is pink, noise is grey, time runs
indigo -> teal -> lime, and the clip's pixels keep their real colours. Each colour is named for what it
marks, here and nowhere else: the page's theme, its CSS and its scripts read them as the CSS variables
--fr-<name> of `CSS_COLOURS`.
"""
from __future__ import annotations

AMOEBA = "#ffab2e"       # the amoeba cut, everywhere
PATCH = "#ff4fa3"        # the one highlighted token / step
NOISE = "#9aa1ab"        # noise
INK = "#ece8e1"          # text and the clean signal
MUTED = "#8b909a"        # guides and secondary text
GRID = "#2c3039"         # grid lines
PAPER = "#15171c"        # figure background: dark film base
FILM = "#0c0d10"         # film stock around the frames
HOLE = "#e6dfd2"         # sprocket holes
COMPARED = "#6cc3ff"     # the second run of a comparison (the first is amber)
# the page around the figures
PAGE = "#0f1013"         # the page's background: a shade darker than the paper, so each block stands out
RAISED = "#1b1d23"       # inputs and secondary blocks; the dark end of the value and channel scales
CHIP = "#17191e"         # a fact chip's face
ON_AMBER = "#17130c"     # text on an amber button
FONT = "Inter, ui-sans-serif, system-ui, -apple-system, 'Segoe UI', sans-serif"
# colour scales
TIME_SCALE = [[0.0, "#4553c4"], [0.5, "#1fa59b"], [1.0, "#c3d93b"]]     # early -> late
VALUE_SCALE = [[0.0, "#4f8fe6"], [0.5, RAISED], [1.0, "#f1ede4"]]     # negative -> 0 -> positive
ERROR_SCALE = [[0.0, FILM], [0.35, "#7b2d6e"], [0.7, "#ff6b4a"], [1.0, "#ffe9a8"]]  # no error -> large error
CHANNEL_SCALES = {  # one colour channel's value, dark -> full
    "R": [[0, RAISED], [1, "#ff5a4f"]], "G": [[0, RAISED], [1, "#4fd17a"]], "B": [[0, RAISED], [1, "#5a8dff"]]}
# where the 3D camera stands: the amoeba tube, the clip's volume, the grid of tokens
TUBE_EYE = dict(x=1.55, y=-1.35, z=0.75)
VOLUME_EYE = dict(x=1.45, y=-1.5, z=0.95)
GRID_EYE = dict(x=1.5, y=-1.6, z=0.9)
# the colours the page's CSS and scripts use, by the names they use (--fr-amoeba, ...)
CSS_COLOURS = {"amoeba": AMOEBA, "patch": PATCH, "noise": NOISE, "ink": INK, "muted": MUTED, "grid": GRID,
               "paper": PAPER, "film": FILM, "compared": COMPARED, "page": PAGE, "raised": RAISED, "chip": CHIP}
MAX_FIGURE_BYTES = 1_500_000  # JSON sent to the browser per figure
FLAT_LIGHT = dict(ambient=1.0, diffuse=0.0, specular=0.0, roughness=1.0, fresnel=0.0)  # colours as given


def rgb(colour) -> str:
    """(r, g, b) numbers -> a CSS rgb() string."""
    r, g, b = (int(c) for c in colour)
    return f"rgb({r},{g},{b})"


def hex_rgb(colour: str) -> tuple[int, int, int]:
    """'#rrggbb' -> (r, g, b)."""
    colour = colour.lstrip("#")
    return tuple(int(colour[i:i + 2], 16) for i in (0, 2, 4))


def rgba(colour: str, alpha: float) -> str:
    """'#rrggbb' and an opacity -> a CSS rgba() string."""
    r, g, b = hex_rgb(colour)
    return f"rgba({r},{g},{b},{alpha})"
