"""3. Compressed: the clip on show through the compression network (the video autoencoder), the step Sora
takes before it cuts spacetime patches; and what that buys the DiT on the visitor's whole clip.

Each function takes the clip on show (explainer.clip.Clip) and returns what the section shows: figure JSON,
fact chips, data. Nothing here knows Gradio.
"""
from __future__ import annotations

import functools
import hashlib
import json
import math
import threading
from collections import OrderedDict

import numpy as np
import torch
from safetensors import SafetensorError

from .. import figures
from ..compress import VAE_WEIGHTS, Compressed, baseline_size, compress, frame_pairs, own_frames
from ..errors import ExplainerError
from ..train_vae import load_vae
from ..vae import VAEConfig
from .common import chips, fact

KEPT_CLIPS = 8  # clips whose trip through the network is kept (a clip's views and its timing share one trip)

_kept: OrderedDict[str, tuple[Compressed, dict]] = OrderedDict()
_keeping = threading.Lock()


# --- the network --------------------------------------------------------------------------------------

def compression_config() -> VAEConfig:
    """The network's shape as the card beside its weights says (the default shape where there is none), for
    the section's words: read without loading the weights."""
    try:
        card = json.loads(VAE_WEIGHTS.with_suffix(".json").read_text())
        return VAEConfig(**{key: tuple(value) if isinstance(value, list) else value
                            for key, value in card["config"].items()})
    except (OSError, ValueError, KeyError, TypeError):
        return VAEConfig()


def values_per_number(config: VAEConfig) -> float:
    """Pixel values (colours included) that one latent number stands for."""
    return config.time * config.space * config.space * 3 / config.latent_channels


@functools.cache
def compression_model():
    """The compression network, loaded once per process, on the CPU, and run once on a tiny clip so the
    first visitor's timing is not its warm-up."""
    try:
        model = load_vae(VAE_WEIGHTS, "cpu")[0]
    except (SafetensorError, OSError, ValueError, RuntimeError, KeyError) as error:
        raise ExplainerError(f"The compression network's weights could not be read ({error}).") from None
    compress(model, np.zeros((2, 8, 8, 3), np.uint8))
    return model


def compressed(frames: np.ndarray) -> tuple[Compressed, dict]:
    """The clip's frames (T, H, W, 3) uint8 through the network, and its scores against them: worked out
    once per clip (the latest KEPT_CLIPS kept), so the time it took is the time of that one trip."""
    key = hashlib.sha1(frames.tobytes()).hexdigest() + str(frames.shape)
    with _keeping:
        if key in _kept:
            _kept.move_to_end(key)
            return _kept[key]
    result = compress(compression_model(), frames)
    answer = (result, result.scores(frames))
    with _keeping:
        _kept[key] = answer
        while len(_kept) > KEPT_CLIPS:
            _kept.popitem(last=False)
    return answer


# --- what compression buys ----------------------------------------------------------------------------

def tubelet_count(frames: int, height: int, width: int, patch) -> int:
    """Tokens of a (frames, height, width) volume cut into tubelets of (pt, ph, pw), each side rounded up to
    whole tubelets (a model pads the edges)."""
    pt, ph, pw = patch
    return math.ceil(frames / pt) * math.ceil(height / ph) * math.ceil(width / pw)


def compression_savings(frames: int, height: int, width: int, patch, config: VAEConfig = VAEConfig()) -> dict:
    """A clip of frames x height x width, cut into tubelets of `patch` from its pixels, and from its latent
    (the network's ceil(T/time) x ceil(H/space) x ceil(W/space)): the DiT's tokens both ways, and how much
    cheaper attention gets (it compares every token with every other: it grows with the tokens squared)."""
    latent = (math.ceil(frames / config.time), math.ceil(height / config.space), math.ceil(width / config.space))
    pixel_tokens = tubelet_count(frames, height, width, patch)
    latent_tokens = tubelet_count(*latent, patch)
    return {"frames": frames, "height": height, "width": width, "patch": [int(side) for side in patch],
            "latent": list(latent), "pixel_tokens": pixel_tokens, "latent_tokens": latent_tokens,
            "tokens_fewer": round(pixel_tokens / latent_tokens, 2),
            "attention_cheaper": round(pixel_tokens**2 / latent_tokens**2, 1)}


def whole_clip_savings(clip, config: VAEConfig) -> dict:
    """`compression_savings` for the visitor's whole clip at its own resolution and frame count."""
    source = clip.source
    return compression_savings(max(1, source.frames_decoded), source.height, source.width, clip.grid.patch, config)


def whole_clip_words(clip, savings: dict) -> str:
    """One sentence: the whole clip's tokens from pixels and from the latent, and attention's saving."""
    source = clip.source
    if source.frames_decoded <= 1:
        what = f"your still ({source.width} × {source.height})"
    else:
        some = "at least " if source.truncated else ""
        what = (f"your whole clip ({source.duration_s:.1f} s of {source.width} × {source.height}, "
                f"{some}{source.frames_decoded:,} frames)")
    pt, ph, pw = savings["patch"]
    return (f"<p>Cut into {pt}×{ph}×{pw} tubelets, {what} makes "
            f"<b>{savings['pixel_tokens']:,}</b> tokens of pixels, or <b>{savings['latent_tokens']:,}</b> tokens "
            f"of latent: attention, which grows with the tokens squared, gets about "
            f"<b>{savings['attention_cheaper']:,.0f}×</b> cheaper.</p>")


# --- the section's views ------------------------------------------------------------------------------

def latent_labels(times_s: list[float], frames: int, latent_frames: int) -> list[str]:
    """What each latent frame stands for: the times of the clip's frames it was made from."""
    pairs = frame_pairs(frames, -(-frames // latent_frames))
    return [f"{times_s[pair[0]]:.2f} s" if len(pair) == 1 else f"{times_s[pair[0]]:.2f}–{times_s[pair[-1]]:.2f} s"
            for pair in pairs]


def compress_stats(clip, result: Compressed, scores: dict, savings: dict) -> str:
    """The latent's size against the pixels', the decoded clip's and the baseline's scores, and the whole
    clip's tokens both ways, as a sentence and chips."""
    frames, height, width, _ = result.decoded.shape
    lt, lh, lw, channels = result.latent.shape
    small_h, small_w = baseline_size(height, width, lh * lw * channels)
    pixels, numbers = result.decoded.size, result.latent.size
    whole_t, whole_h, whole_w = savings["latent"]
    return whole_clip_words(clip, savings) + chips([
        fact("pixels", f"{pixels:,}", f"{frames} × {width} × {height} × 3 colours"),
        fact("latent", f"{numbers:,}", f"{lt} × {lw} × {lh} × {channels} channels", "fr-key"),
        fact("kept", f"1 in {pixels / numbers:.3g}", "numbers the latent keeps of the pixels'"),
        fact("decoded", f"{scores['psnr_db']:.1f} dB", f"SSIM {scores['ssim']:.3f}", "fr-key"),
        fact("resizing, same count", f"{scores['baseline_psnr_db']:.1f} dB",
             f"SSIM {scores['baseline_ssim']:.3f}: {lt} frames of {small_w} × {small_h}, back by bicubic and linear"),
        fact("tokens of pixels", f"{savings['pixel_tokens']:,}", "your whole clip"),
        fact("tokens of latent", f"{savings['latent_tokens']:,}", f"{whole_t} × {whole_w} × {whole_h} latent"),
        fact("attention", f"{savings['attention_cheaper']:,.0f}× cheaper",
             f"{savings['tokens_fewer']:,.1f}× fewer tokens, squared", "fr-key"),
    ])


def compress_data(scores: dict, savings: dict) -> dict:
    """The section's numbers, as data (the times, measured anew on every server, are in `show_times`)."""
    kept = {key: value for key, value in scores.items() if key not in ("encode_s", "decode_s")}
    return {**kept, "whole_clip": savings}


def show_compressed(clip) -> dict:
    """The section's views of the clip on show, by name: the latent's channels, the decoded reels beside
    the clip with their error, the chips and the data. Where the network's weights cannot be read, the
    chips say so and the figures stay empty (the other sections go on)."""
    frames = own_frames(clip)
    try:
        result, scores = compressed(frames)
    except ExplainerError as error:
        return dict(compress_latent=None, compress_reels=None, compress_data={"error": str(error)},
                    compress_stats=f"<div class='fr-empty'>{error} Train them with "
                                   "<code>python -m explainer train-vae</code>.</div>")
    savings = whole_clip_savings(clip, compression_config())
    latent = figures.latent_channels(result.latent, latent_labels(clip.times_s, len(frames), len(result.latent)))
    reels = figures.decoded_reels(frames, result.decoded, scores, [f"{t:.2f}s" for t in clip.times_s])
    return dict(compress_latent=figures.to_json(latent), compress_reels=figures.to_json(reels),
                compress_stats=compress_stats(clip, result, scores, savings),
                compress_data=compress_data(scores, savings))


def show_times(clip) -> str:
    """How long the network took on this clip, on this server: encoding and decoding, as chips (or what
    kept it from running)."""
    try:
        result, _ = compressed(own_frames(clip))
    except ExplainerError as error:
        return f"<div class='fr-empty'>{error}</div>"
    frames, height, width, _ = result.decoded.shape
    return chips([
        fact("encode", f"{result.encode_s:.2f} s", f"{frames} frame{'s' * (frames > 1)} of {width} × {height} → latent",
             "fr-key"),
        fact("decode", f"{result.decode_s:.2f} s", "latent → frames", "fr-key"),
        fact("measured on", "this server's CPU", f"{torch.get_num_threads()} threads"),
    ])
