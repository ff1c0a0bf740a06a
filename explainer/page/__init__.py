"""The web page: a clip in, the film-reel story of how a Sora-style video model sees it, out.

- `layout`: `build_demo()`, the page top to bottom (its list of sections), and its opening on the view a
  link names; `sections/`: one module a section, with its components by name, its events and its Gradio
  adapters; `wiring`: components and events by name; `adapters`: what the sections share;
  `sample_answers`: the bundled samples' answers, kept and shipped; `tickets`: which run a visitor wants.
- `show_clip` (the film reel to noising), `show_run` (denoising), `show_fit`, `show_claims`, `export`:
  what each section shows, as plain functions (settings in; figure JSON, chips, data, pictures out) that
  know nothing of Gradio.
- `common`: what those share; `views`: links to a view (query parameters); `theme`: how the page
  looks; `pools`: its concurrency pools.

explainer/serve.py serves it (`python app.py`).
"""
from __future__ import annotations

from ..assets import SAMPLES, sample_file
from .common import load_clip, request_folder
from .layout import build_demo
from .pools import FIT_POOL, MODEL_POOL
from .sample_answers import warm_samples
from .sections.film_reel_section import dissect
from .sections.fit_section import fit_to_clip
from .show_clip import DEFAULTS, embedding_name, show_tubelet, tubelet_embedding
from .show_fit import FIT_MAX_SECONDS
from .show_run import (
    DENOISE,
    MODELS,
    WORKING_SIDE,
    attention_view,
    keep_run,
    prior_model,
    working_clip,
)
from .theme import PLOTLY_JS, launch_options

__all__ = ["build_demo", "launch_options", "MODEL_POOL", "FIT_POOL", "PLOTLY_JS", "SAMPLES",
           "sample_file", "DEFAULTS", "DENOISE", "MODELS", "FIT_MAX_SECONDS", "WORKING_SIDE", "load_clip",
           "request_folder", "dissect", "fit_to_clip", "show_tubelet", "tubelet_embedding", "embedding_name",
           "prior_model", "working_clip", "keep_run", "attention_view", "warm_samples"]

