"""The web page: a clip in, the film-reel story of how a Sora-style video model sees it, out.

- `layout`: `build_demo()`, the page top to bottom, and its opening on the view a link names;
  `sections_clip` (sections 1-5) and `sections_model` (6-8): each section with its events and Gradio
  adapters; `adapters`: what those share.
- `reel` (sections 1-5), `denoising` (6), `fitting` (7), `export` (8): what each section shows, as
  plain functions (settings in; figure JSON, chips, data, pictures out) that know nothing of Gradio.
- `common`: what those share; `views`: links to a view (query parameters); `theme`: how the page
  looks; `pools`: its concurrency pools.

explainer/serve.py serves it (`python app.py`).
"""
from __future__ import annotations

from ..assets import SAMPLES, sample_file
from .common import load_clip, request_folder
from .denoising import (
    DENOISE,
    MODELS,
    WORKING_SIDE,
    attention_view,
    denoising_figure,
    keep_run,
    prior_model,
    working_clip,
)
from .fitting import FIT_MAX_SECONDS
from .layout import build_demo
from .pools import FIT_POOL, MODEL_POOL
from .reel import DEFAULTS, embedding_name, show_tubelet, tubelet_embedding
from .sections_clip import dissect, warm_samples
from .sections_model import fit_to_clip
from .theme import PLOTLY_JS, launch_options

__all__ = ["build_demo", "launch_options", "MODEL_POOL", "FIT_POOL", "PLOTLY_JS", "SAMPLES",
           "sample_file", "DEFAULTS", "DENOISE", "MODELS", "FIT_MAX_SECONDS", "WORKING_SIDE", "load_clip",
           "request_folder", "dissect", "fit_to_clip", "show_tubelet", "tubelet_embedding", "embedding_name",
           "prior_model", "working_clip", "keep_run", "denoising_figure", "attention_view", "warm_samples"]

