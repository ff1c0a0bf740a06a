"""The explainer's pictures: numpy arrays in, pictures (uint8 arrays) or Plotly figures out.

One module per section of the page, named as on screen: reel (1. the film reel), amoeba (2. the amoeba cut),
compressed (3. the clip through the compression network), spacetime_patches (4), tokens (5), noising (6),
denoising (7), fitting (8. fit the DiT to your clip), claims (9. the claims, tested on your clip) and packing
(Patch n' Pack: clips of every shape in one sequence). They share style (the visual language), palette (real
colours at one byte a pixel) and common (layout, the Play controls, phone overrides, the JSON the page
receives). Nothing here knows Gradio: the page passes in frames, masks and weights as numpy arrays.
"""
from .amoeba import amoeba_tube
from .claims import crop_claim, flicker_claim, frame_changes
from .common import base_layout, for_phones, frame_count, image_uri, json_bytes, play_controls, to_json
from .compressed import decoded_reels, error_map, latent_channels, scale_colours
from .denoising import attention_panels, attention_titles, patch_picker, reel_strip, strip_columns
from .fitting import loss_curve, reels_side_by_side, regeneration, smooth
from .noising import frames_grid, noising, sweep_timesteps
from .packing import packing, packing_numbers, sample_grids
from .palette import palette_axis, palette_of, palette_scale
from .reel import amoeba_overlay, filmstrip, overlay_scale, timeline, timeline_frame_at
from .spacetime_patches import crop_vs_native, tubelet_volume
from .style import (
    AMOEBA,
    FILM,
    FONT,
    GRID,
    HOLE,
    INK,
    MAX_FIGURE_BYTES,
    MUTED,
    NOISE,
    PAPER,
    PATCH,
    TIME_SCALE,
    hex_rgb,
    rgb,
    rgba,
)
from .tokens import token_colours, token_sequence, token_story

__all__ = [
    "AMOEBA", "FILM", "FONT", "GRID", "HOLE", "INK", "MAX_FIGURE_BYTES", "MUTED", "NOISE", "PAPER", "PATCH",
    "TIME_SCALE", "amoeba_overlay", "amoeba_tube", "attention_panels", "attention_titles", "base_layout",
    "crop_claim", "crop_vs_native", "decoded_reels", "error_map",
    "flicker_claim", "frame_changes", "filmstrip", "for_phones", "frame_count", "frames_grid", "hex_rgb", "image_uri",
    "json_bytes", "latent_channels", "loss_curve", "noising", "overlay_scale", "packing", "packing_numbers",
    "palette_axis",
    "palette_of", "palette_scale", "patch_picker", "play_controls", "reel_strip", "reels_side_by_side",
    "regeneration", "rgb", "rgba", "scale_colours",
    "sample_grids", "smooth", "strip_columns", "sweep_timesteps", "timeline", "timeline_frame_at", "to_json",
    "token_colours", "token_sequence",
    "token_story", "tubelet_volume",
]
