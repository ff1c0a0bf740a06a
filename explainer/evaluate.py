"""How well does the shipped prior denoise? One-step x̂0 against classical denoisers, on the same noisy input.

At each signal-to-noise ratio the clean clip x0 (in [-1, 1]) is noised with the schedule's step t whose SNR
is nearest; the observation a classical denoiser sees is y = x_t / sqrt(alpha_bar_t) = x0 + noise / sqrt(SNR).
Baselines, each tuned on the clean clip (so they are flattered, not handicapped):
- noisy: y itself, clipped to the pixel range;
- blur: the best Gaussian blur over spatial sigmas and temporal sigmas (0 = per frame);
- nlm: OpenCV's non-local means per frame, with the best filter strength h.
"""
from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import torch

from .clip import WindowSettings
from .diffusion import Schedule, Start, add_noise, generate, schedule_of
from .pixels import psnr_db, to_pixels, to_unit

SNRS = (4.0, 1.0, 0.25)
BLUR_SIGMAS = (0.5, 0.75, 1.0, 1.5, 2.0, 3.0)
BLUR_TIME_SIGMAS = (0.0, 0.75, 1.5)
NLM_STRENGTHS = (5, 10, 20, 35, 55, 80)


def timestep_for_snr(schedule: Schedule, snr: float) -> int:
    """The step whose SNR alpha_bar / (1 - alpha_bar) is nearest `snr` (in log terms)."""
    snrs = schedule.snr(torch.arange(schedule.steps))
    return int(torch.argmin((snrs.log() - np.log(snr)).abs()))


def gaussian_blur(clip: np.ndarray, sigma: float, time_sigma: float) -> np.ndarray:
    """Blur (T, H, W, C) float32 in space (per frame) and, if time_sigma > 0, along time."""
    blurred = np.stack([cv2.GaussianBlur(frame, (0, 0), sigma, borderType=cv2.BORDER_REFLECT) for frame in clip])
    if time_sigma > 0 and len(clip) > 1:
        radius = max(1, int(round(3 * time_sigma)))
        offsets = np.arange(-radius, radius + 1)
        weights = np.exp(-0.5 * (offsets / time_sigma) ** 2)
        weights /= weights.sum()
        index = np.clip(np.arange(len(clip))[:, None] + offsets[None, :], 0, len(clip) - 1)  # (T, taps)
        blurred = np.einsum("tk,tkhwc->thwc", np.broadcast_to(weights, index.shape), blurred[index])
    return blurred


def best_blur_psnr(noisy: np.ndarray, clean: np.ndarray) -> tuple[float, tuple]:
    scores = {(s, ts): psnr_db(np.clip(gaussian_blur(noisy, s, ts), -1, 1), clean)
              for s in BLUR_SIGMAS for ts in BLUR_TIME_SIGMAS}
    best = max(scores, key=scores.get)
    return scores[best], best


def best_nlm_psnr(noisy: np.ndarray, clean: np.ndarray) -> tuple[float, int]:
    pixels = to_pixels(noisy)
    scores = {}
    for h in NLM_STRENGTHS:
        denoised = np.stack([cv2.fastNlMeansDenoisingColored(frame, None, h, h, 5, 15) for frame in pixels])
        scores[h] = psnr_db(to_unit(denoised), clean)
    best = max(scores, key=scores.get)
    return scores[best], best


@torch.inference_mode()
def evaluate_clip(model, clip: torch.Tensor, name: str, *, snrs=SNRS, seed: int = 0, schedule=None) -> list[dict]:
    """Rows of PSNRs (dB) for one clean clip (T, H, W, C) in [-1, 1] at each SNR, noised with the schedule
    the model was trained with unless one is given."""
    schedule = schedule or schedule_of(model)
    device = next(model.parameters()).device
    clean = clip.float().numpy()
    rows = []
    for index, snr in enumerate(snrs):
        t = timestep_for_snr(schedule, snr)
        noise = torch.randn(clip.shape, generator=torch.Generator().manual_seed(seed * 100 + index))
        x_t = add_noise(schedule, clip[None], noise[None], t)  # (1, T, H, W, C)
        x0_hat = model(x_t.to(device), torch.tensor([t], device=device)).float().cpu()[0].clamp(-1, 1)
        alpha_bar = float(schedule.alpha_bar(t))
        observed = (x_t[0] / alpha_bar ** 0.5).numpy().astype(np.float32)
        blur, blur_setting = best_blur_psnr(observed, clean)
        nlm, nlm_h = best_nlm_psnr(observed, clean)
        rows.append({"clip": name, "snr": snr, "t": t, "dit_psnr_db": round(psnr_db(x0_hat, clip), 2),
                     "noisy_psnr_db": round(psnr_db(np.clip(observed, -1, 1), clean), 2),
                     "blur_psnr_db": round(blur, 2), "nlm_psnr_db": round(nlm, 2),
                     "blur_sigma": list(blur_setting), "nlm_h": nlm_h})
    return rows


def held_out_clips(count: int = 4, seed: int = 10**6) -> list[tuple[str, torch.Tensor]]:
    """Procedural clips from seeds far from any the training stream draws first, in several shapes."""
    from .scenes import MOTIONS, make_clip

    shapes = [(16, 72, 128), (16, 128, 72), (16, 96, 96), (16, 64, 128)]
    clips = []
    for i in range(count):
        frames, height, width = shapes[i % len(shapes)]
        motion = MOTIONS[i % len(MOTIONS)]
        pixels = make_clip(frames, height, width, seed=seed + i, motion=motion)
        clips.append((f"procedural-{motion}-{width}x{height}", to_unit(pixels)))
    return clips


def held_out_footage(frames: int = 16, max_side: int = 128, patch=(2, 8, 8), *,
                     window: WindowSettings = WindowSettings()) -> tuple[str, torch.Tensor, dict]:
    """The held-out scene of real footage (explainer.data.HELD_OUT) cut as the page cuts a clip: a window
    of `frames` frames at the page's frame rate (or `window`'s; its start counts from the scene's first
    frame), the longer side at most `max_side`, no crop. -> (name, clip, the window as source frames)."""
    from .clip import clip_frame_rate, default_stride, even_targets, nearest_frame, window_indices
    from .data import HELD_OUT, cache_dir, held_out_frames
    from .patches import fit_size

    scene = held_out_frames()
    name, first, end = HELD_OUT
    if window.spread:
        picks = [nearest_frame(t) for t in even_targets(len(scene), frames)]
        stride = max(1, round((picks[-1] - picks[0]) / max(1, len(picks) - 1)))
    else:
        fps = clip_frame_rate(cache_dir() / name)
        stride = window.stride if window.stride is not None else default_stride(fps)
        picks, stride = window_indices(len(scene), frames, start_frame=window.start_at(fps), stride=stride)
    height, width = fit_size(*scene.shape[1:3], max_side, patch[1], patch[2])
    clip = np.stack([cv2.resize(frame, (width, height), interpolation=cv2.INTER_AREA) for frame in scene[picks]])
    cut = {"window": [first + picks[0], first + picks[-1]], "stride": stride}
    return f"{Path(name).stem}[{first}:{end}] (held out)", to_unit(clip), cut


# --- samples from pure noise, against real footage ----------------------------------------------------

SLOPE_BAND = (0.02, 0.45)  # cycles per pixel over which the power spectrum's slope is fitted


def luminance(clip) -> np.ndarray:
    """(T, H, W, 3) in [-1, 1] -> (T, H, W) luma (Rec. 601 weights)."""
    clip = np.asarray(clip, np.float32)
    return clip @ np.array([0.299, 0.587, 0.114], np.float32)


def spectral_slope(clip) -> float:
    """The slope of the frames' radially averaged luminance power spectrum on log-log axes (power ~
    f^slope), fitted over SLOPE_BAND and averaged over frames. Natural images sit near -2 to -3.5;
    smoother pictures fall off faster (more negative)."""
    slopes = []
    for frame in luminance(clip):
        height, width = frame.shape
        power = np.abs(np.fft.fft2((frame - frame.mean()) * np.outer(np.hanning(height), np.hanning(width)))) ** 2
        fy, fx = np.meshgrid(np.fft.fftfreq(height), np.fft.fftfreq(width), indexing="ij")
        radius = np.hypot(fy, fx)
        bins = np.linspace(*SLOPE_BAND, 16)
        which = np.digitize(radius, bins)
        centres, means = [], []
        for n in range(1, len(bins)):
            inside = which == n
            if inside.any():
                centres.append(radius[inside].mean())
                means.append(power[inside].mean())
        slopes.append(np.polyfit(np.log(centres), np.log(np.maximum(means, 1e-20)), 1)[0])
    return float(np.mean(slopes))


def frame_correlation(clip) -> float:
    """Mean correlation of consecutive frames' luminance: near 1 for a steady shot, lower for fast motion
    or flicker; NaN for a one-frame clip."""
    frames = luminance(clip).reshape(len(clip), -1)
    if len(frames) < 2:
        return float("nan")
    return float(np.mean([np.corrcoef(a, b)[0, 1] for a, b in zip(frames[:-1], frames[1:])]))


@torch.inference_mode()
def generation(model, real: list[tuple[str, torch.Tensor]], *, samples: int = 3, shape=(16, 72, 128),
               steps: int = 50) -> dict:
    """Spectral slope and consecutive-frame correlation of `samples` DDIM runs from pure noise (seeds 0..),
    beside the same for the real clips resized to the same working size. The runs use the schedule the
    model was trained with."""
    frames, height, width = shape

    def stats(clip):
        return {"spectral_slope": round(spectral_slope(clip), 3),
                "frame_correlation": round(frame_correlation(clip), 3)}

    generated = [stats(generate(model, schedule_of(model), Start.noise((1, *shape, 3)), steps=steps, seed=seed,
                                clamp_x0=True)[0].clamp(-1, 1).cpu().numpy())
                 for seed in range(samples)]
    references = {}
    for name, clip in real:
        picks = np.linspace(0, len(clip) - 1, frames).round().astype(int)
        resized = np.stack([cv2.resize(frame, (width, height), interpolation=cv2.INTER_AREA)
                            for frame in clip.numpy()[picks]])
        references[name] = stats(resized)
    return {"shape": list(shape), "steps": steps, "samples": generated, "real": references}


def real_clips(paths, *, footage: bool = False, window: WindowSettings = WindowSettings()):
    """The real clips to score, cut by `window` as the page cuts them (by default a window at the page's
    frame rate from the start): the held-out scene first (with `footage`), then the clips at `paths`.
    -> ([(name, clip in [-1, 1])], {name: {"window": [first, last] source frame, "stride": ...}})."""
    from .clip import load_clip

    real, cuts = [], {}
    if footage:
        name, clip, cuts[name] = held_out_footage(window=window)
        real.append((name, clip))
    for path in paths:
        clip = load_clip(path, **window.load_kwargs(path))
        real.append((Path(path).name, to_unit(clip.frames)))
        cuts[Path(path).name] = {"window": list(clip.window), "stride": clip.stride}
    return real, cuts


def evaluate(model, real_paths=(), *, count: int = 4, snrs=SNRS, seed: int = 0, footage: bool = False,
             samples: int = 0, window: WindowSettings = WindowSettings()) -> dict:
    """Rows of PSNRs for the held-out procedural clips, the real clips at `real_paths` and (with `footage`)
    the held-out scene of real footage, each real clip cut by `window` (a window at the page's frame rate
    unless told otherwise); with `samples`, the statistics of samples from pure noise."""
    real, cuts = real_clips(real_paths, footage=footage, window=window)
    named = held_out_clips(count) + real
    rows = [row for name, clip in named for row in evaluate_clip(model, clip, name, snrs=snrs, seed=seed)]
    result = {"rows": rows, "frames": "spread" if window.spread else "window", "cuts": cuts}
    if samples:
        result["generation"] = generation(model, real, samples=samples)
    return result


def given_medians(model, real: list[tuple[str, torch.Tensor]], modes, *, seeds=(0, 1, 2),
                  steps: int = 50) -> list[dict]:
    """Each mode of `modes` (names in explainer.given.GIVEN) on each real clip: the medians over `seeds` of
    what `denoise --given` reports, and the checks a learned condition must pass (`given_scores.done_when`)."""
    from .given_scores import done_when, score_given
    from .trajectory import RunSettings

    rows = []
    for name, clip in real:
        pixels = to_pixels(clip)
        for mode in modes:
            runs = [score_given(model, pixels, RunSettings(steps=steps, seed=seed, given=mode)) for seed in seeds]
            keys = [key for key, value in runs[0].items() if isinstance(value, float)]
            medians = {key: round(float(np.median([run[key] for run in runs])), 2) for key in keys}
            rows.append({"clip": name, "given": mode, "seeds": list(seeds), **medians, **done_when(medians)})
    return rows


def format_table(result: dict) -> str:
    header = "| clip | SNR | noisy | NL-means | best blur | DiT x̂0 |\n|---|---|---|---|---|---|"
    lines = [f"| {r['clip']} | {r['snr']:g} | {r['noisy_psnr_db']:.1f} | {r['nlm_psnr_db']:.1f} | "
             f"{r['blur_psnr_db']:.1f} | **{r['dit_psnr_db']:.1f}** |" for r in result["rows"]]
    if result.get("cuts"):
        how = "frames spread over each clip" if result.get("frames") == "spread" else "windows of consecutive frames"
        lines.append(f"\nReal clips as {how}: " + "; ".join(
            f"{name} frames {cut['window'][0]}-{cut['window'][1]}, every {cut['stride']}"
            for name, cut in result["cuts"].items()))
    if "generation" in result:
        made = result["generation"]
        lines.append("\n| from pure noise | spectral slope | consecutive-frame correlation |\n|---|---|---|")
        lines += [f"| sample, seed {n} | {g['spectral_slope']:.2f} | {g['frame_correlation']:.2f} |"
                  for n, g in enumerate(made["samples"])]
        lines += [f"| {name} (real) | {g['spectral_slope']:.2f} | {g['frame_correlation']:.2f} |"
                  for name, g in made["real"].items()]
    return "\n".join([header, *lines])
