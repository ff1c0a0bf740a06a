"""Serving the page to many visitors at once, from one process, as a hosted link.

- One queue holds every request; at most `--queue-size` wait in it. Past that a visitor is told the app
  is busy and to try again (Gradio answers HTTP 503; the page shows "This application is currently busy.
  Please try again.", gradio_client raises "Queue is full! Please try again.").
- Every event that decodes a clip or runs the DiT shares one concurrency pool, MODEL_POOL, that runs one
  job at a time: visitors take turns instead of splitting two CPU cores (or one GPU) many ways.
- A fit to one's clip trains for up to two minutes; it runs in a pool of its own, FIT_POOL, one fit at a
  time, so the other visitors' clips and denoising runs go on beside it (a little slower) instead of
  waiting behind it.
- The page opening (PAGE_POOL) serves the bundled samples' answers, read by up to PAGE_WORKERS visitors
  at once: those at the default settings ship in assets/answers/ and are read at start, before the server
  takes its first visitor; a link to an uncommon view of a sample dissects it once, one at a time.
- The model is loaded once per process, at start, on the device `pick_device()` chooses.
- Files live under one temp root (explainer/files.py): Gradio's uploads and cached outputs in `gradio/`
  (deleted once older than `--keep-files` seconds by Gradio's `delete_cache`; the stray files Gradio does
  not track are swept here), and any file the page writes in `work/`, under a generated name (never the
  upload's), swept on the same age. The root is the process's own and is deleted when the server stops
  (Ctrl-C or SIGTERM), unless $FILM_REEL_TEMP names one to keep.
- Gradio writes image outputs to its cache in place; two visitors given the same picture could read a
  half-written file. `atomic_image_cache()` makes those writes atomic.
- Both `atomic_image_cache()` and `shared_session_configs()` replace a Gradio internal at run time, so the
  Gradio release is pinned (pyproject.toml, requirements.txt, README's sdk_version) and
  tests/test_gradio_internals.py fails when a release changes what they replace.
- The server binds 127.0.0.1 unless told `--host 0.0.0.0`, and serves no file outside its own static
  assets and cache (Gradio's file route answers 403 for anything else).
"""
from __future__ import annotations

import argparse
import functools
import os
import threading
import uuid
from pathlib import Path

from . import files
from .page.pools import FIT_POOL, MODEL_POOL, PAGE_POOL

MODEL_WORKERS = 1        # jobs the model pool (every event that decodes a clip or runs the DiT) runs at once
FIT_WORKERS = 1          # fits run at once
PAGE_WORKERS = 8         # page openings served at once (the bundled samples' kept answers; one is dissected at a time)
QUEUE_SIZE = 20          # requests waiting at most; the next one is told to try again
KEEP_FILES_S = 3600      # uploads and outputs older than this are deleted
MAX_FILE_SIZE = "200mb"  # the largest upload; a larger one is answered HTTP 413


# --- flags -------------------------------------------------------------------------------------------

def parse_args(argv=None) -> argparse.Namespace:
    """The page's command line. The default bind is loopback: serving others is an explicit choice."""
    parser = argparse.ArgumentParser(description="Film Reel: an explainer of video diffusion transformers",
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--host", default=os.environ.get("GRADIO_SERVER_NAME", "127.0.0.1"),
                        help="address to serve on (0.0.0.0 to serve others)")
    parser.add_argument("--port", type=int, default=int(os.environ.get("GRADIO_SERVER_PORT", 7860)),
                        help="port to serve on")
    parser.add_argument("--share", action="store_true", help="also make a public gradio.live link")
    parser.add_argument("--max-file-size", default=MAX_FILE_SIZE, help="largest upload, e.g. 200mb")
    parser.add_argument("--queue-size", type=int, default=QUEUE_SIZE,
                        help="requests that may wait at once; past that visitors are asked to try again")
    parser.add_argument("--keep-files", type=int, default=KEEP_FILES_S, metavar="SECONDS",
                        help="delete uploads and outputs older than this")
    args = parser.parse_args(argv)
    if args.queue_size < 1 or args.keep_files < 1:
        parser.error("--queue-size and --keep-files must be at least 1")
    return args


# --- Gradio's image cache ----------------------------------------------------------------------------

def atomic_image_cache():
    """Make Gradio write image outputs to its cache atomically.

    Gradio stores a picture at a path named by the hash of its bytes, with a plain write: when two jobs
    give the same picture (every visitor of a sample gets the same filmstrip; `dissect` yields it twice),
    the second job truncates and rewrites the file while a browser may be downloading it, and that
    download comes back empty. Staging the bytes beside the file and renaming it over the old one (what
    Gradio already does when it copies a file into its cache) means a reader sees the old file or the new
    one, both whole."""
    from gradio import processing_utils

    if getattr(processing_utils.save_pil_to_cache, "atomic", False):
        return

    def save_pil_to_cache(img, cache_dir, name="image", format="webp"):
        data = processing_utils.encode_pil_to_bytes(img, format)
        folder = Path(cache_dir) / processing_utils.hash_bytes(data)
        folder.mkdir(exist_ok=True, parents=True)
        path = (folder / f"{name}.{format}").resolve()
        staging = path.with_name(f".{path.name}.{uuid.uuid4().hex}.part")
        try:
            staging.write_bytes(data)
            os.replace(staging, path)
        finally:
            staging.unlink(missing_ok=True)
        return str(path)

    save_pil_to_cache.atomic = True
    processing_utils.save_pil_to_cache = save_pil_to_cache


def shared_session_configs(demo):
    """Work out each of the page's component configs once, not once per visitor.

    Gradio gives every new session a copy of every component's config (to rebuild the page from a deep
    link), working each out afresh: with a page of this many components, that is a large part of the
    server's work for each page opening (`bench-page` measures it). A component as the page built it does
    not change while the page runs (a session's updates make the session its own copy), so its config is
    worked out once, and each caller gets its own copy of it (Gradio writes a new value into a session's
    copy)."""
    from gradio.blocks import BlocksConfig

    original = getattr(BlocksConfig.config_for_block, "original", BlocksConfig.config_for_block)
    built = dict(demo.blocks)
    kept: dict[int, dict] = {}

    def config_for_block(_id, rendered_ids, block, renderable=None):
        if renderable is not None or built.get(_id) is not block:
            return original(_id, rendered_ids, block, renderable)
        config = kept.get(_id)
        if config is None:
            config = kept[_id] = original(_id, rendered_ids, block, renderable)
        return {**config, "props": dict(config["props"])} if "props" in config else dict(config)

    config_for_block.original = original
    BlocksConfig.config_for_block = staticmethod(config_for_block)


# --- the model ---------------------------------------------------------------------------------------

def warm_model():
    """Load the prior now, once for the process, on the device the model runs on; every request reuses
    it (`weights.load_prior` is cached per device). Missing weights are reported, not fatal: the page's
    first sections need no model."""
    from .device import pick_device
    from .errors import ExplainerError
    from .weights import load_prior

    device = pick_device().type
    try:
        load_prior(device)
    except ExplainerError as error:
        print(f"The model could not be loaded ({error}); its sections will say so.", flush=True)
    return device


def serialise_pools(demo) -> dict[str, list[str]]:
    """Hold the events of the model pool to MODEL_WORKERS jobs at once, the fit pool to FIT_WORKERS and
    the page openings to PAGE_WORKERS, whatever their listeners said; the api names of each pool's events."""
    pools = {}
    for pool, workers in ((MODEL_POOL, MODEL_WORKERS), (FIT_POOL, FIT_WORKERS), (PAGE_POOL, PAGE_WORKERS)):
        pooled = [fn for fn in demo.fns.values() if fn.concurrency_id == pool]
        for fn in pooled:
            fn.concurrency_limit = workers
        pools[pool] = [fn.api_name for fn in pooled]
    return pools


def kept_by_gradio(demo) -> set[str]:
    """The cached files Gradio keeps while the page runs: components' initial values and examples."""
    return {path for block in demo.blocks.values() for path in getattr(block, "keep_in_cache", ())}


# --- starting --------------------------------------------------------------------------------------

def start(demo, args: argparse.Namespace, **launch_options):
    """Queue and launch `demo` as `args` say, without blocking; returns the work-folder sweeper (running).

    Call `files.use_temp_root()` before building `demo`, then `demo.block_thread()` to serve until stopped."""
    from gradio import utils as gradio_utils

    atomic_image_cache()
    shared_session_configs(demo)
    every = files.sweep_every(args.keep_files)
    demo.delete_cache = (every, args.keep_files)  # read by Gradio when launch() makes the server
    warm_model()
    load_sample_answers()
    serialise_pools(demo)
    demo.queue(max_size=args.queue_size, default_concurrency_limit=1)
    demo.launch(server_name=args.host, server_port=args.port, share=args.share,
                max_file_size=args.max_file_size, prevent_thread_lock=True, **launch_options)
    uploads = Path(gradio_utils.get_upload_folder()).resolve()
    sweeper = files.Sweeper(args.keep_files, every, files.work_dir(),
                            uploads if uploads.is_relative_to(files.temp_root()) else None,  # never another app's
                            keep=functools.partial(kept_by_gradio, demo))
    sweeper.sweep()  # what an earlier run left behind
    sweeper.start()
    threading.Thread(target=warm_samples, name="film-reel-samples", daemon=True).start()
    return sweeper


def load_sample_answers() -> list[str]:
    """The bundled samples' answers at the page's default settings, read from assets/answers/ (no sample
    is dissected), so that the first visitors are answered as fast as later ones; the samples read."""
    from .page.sample_answers import load_shipped

    return load_shipped()


def warm_samples():
    """Any bundled sample's answer at the page's default settings that did not ship, worked out once in
    the background while the first visitors arrive (one who comes sooner waits for that sample only)."""
    from .page import warm_samples as dissect_samples

    dissect_samples()


def main(argv=None):
    """`python app.py`: serve the page until stopped (Ctrl-C or SIGTERM), then delete this process's files."""
    from .page import build_demo, launch_options

    args = parse_args(argv)
    files.use_temp_root()  # before the page is built: Gradio reads its cache folder then
    if threading.current_thread() is threading.main_thread():
        files.delete_on_termination()
    demo = build_demo()
    sweeper = start(demo, args, **launch_options())
    if args.share:
        if demo.share_url:
            print(f"Public link: {demo.share_url}", flush=True)
        else:
            print("No public link: a share tunnel could not be made from this machine (offline or blocked). "
                  f"The page still runs locally at {demo.local_url}", flush=True)
    try:
        demo.block_thread()
    finally:
        sweeper.stop()
