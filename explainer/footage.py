"""Many training clips out of a little real footage, in every shape the DiT takes.

Each batch is clips of one random shape (wide, tall, square, or a one-frame image), made from:
- a video shot: a random crop of a random aspect ratio and size, every k-th frame (k = 1-3), sometimes
  played backwards, sometimes mirrored, colours mildly jittered;
- a photograph filmed by a synthetic camera: a smooth pan, zoom and turn across it, sometimes with a
  second layer (a soft-edged piece of the photo) sliding over it at another speed, for parallax; the
  camera moves at full pace, slowly, or not at all (a tripod shot: the sensor's noise flickers and one
  piece moves over the still scene, gliding across or swinging to and fro, from a crawl to a brisk move),
  so that still scenes with something moving in them are in the mix as they are in real footage;
- a procedural scene (explainer.scenes), so the made-up motions stay in the mix.
Some of the shots and photos are then lifted to a bright scene or sunk to a dark one by a gamma curve.
"""
from __future__ import annotations

import cv2
import numpy as np
import torch

from .data import Footage
from .pixels import to_unit
from .scenes import make_clip, random_clip_shape

MIX = {"shot": 0.45, "photo": 0.4, "scene": 0.15}  # where a clip comes from
CAMERA = {"moving": 0.3, "slow": 0.2, "still": 0.5}  # how a photo is filmed
PACE = {"moving": (1.0, 1.0), "slow": (0.05, 0.25), "still": (0.0, 0.0)}  # the share of a full move, a range
TONE_SHARE = 0.4  # the share of real clips given a new tone curve, to be bright (high-key) or dark (low-key)
TONE_MEAN = (0.2, 0.9)  # the mean level (0-1) such a clip is brought to, drawn uniformly
GAMMA = (0.25, 4.0)  # the tone curve's exponent stays within these


def draw(rng: np.random.Generator, shares: dict) -> str:
    """A key of `shares` drawn with probability in proportion to its value."""
    weights = np.array(list(shares.values()), dtype=float)
    return list(shares)[rng.choice(len(shares), p=weights / weights.sum())]


def _resize(frames: np.ndarray, height: int, width: int) -> np.ndarray:
    return np.stack([cv2.resize(frame, (width, height), interpolation=cv2.INTER_AREA) for frame in frames])


def jitter_colour(rng: np.random.Generator, clip: np.ndarray, strength: float = 0.08) -> np.ndarray:
    """Mild brightness, contrast and saturation changes, the same over the whole clip."""
    values = clip.astype(np.float32)
    saturation, contrast = 1 + rng.uniform(-strength, strength, 2) * (1.5, 1.0)
    brightness = rng.uniform(-strength, strength) * 0.3 * 255
    grey = values.mean(axis=-1, keepdims=True)
    values = grey + (values - grey) * saturation
    mean = values.mean()
    values = (values - mean) * contrast + mean + brightness
    return np.clip(values, 0, 255).round().astype(np.uint8)


def tone_curve(rng: np.random.Generator, clip: np.ndarray) -> np.ndarray:
    """The clip through one gamma curve, the same for every pixel and frame, chosen to bring its mean level
    to one drawn from TONE_MEAN: an exponent under 1 lifts it towards white (a high-key scene, a bright studio
    or snow), over 1 sinks it towards black. The footage's scenes are mid-toned (mean levels 19-134 of 255),
    so without this a bright scene is one the model never saw."""
    mean = float(np.clip(clip.mean() / 255, 0.02, 0.98))
    gamma = float(np.clip(np.log(rng.uniform(*TONE_MEAN)) / np.log(mean), *GAMMA))
    table = np.round(255 * (np.arange(256) / 255) ** gamma).astype(np.uint8)
    return table[clip]


def crop_shot(rng: np.random.Generator, shot: np.ndarray, frames: int, height: int, width: int) -> np.ndarray:
    """A crop of the shot with the aspect ratio of (height, width), resized to it: `frames` frames at a
    random stride, perhaps reversed and mirrored."""
    length, shot_h, shot_w, _ = shot.shape
    stride = int(rng.integers(1, 4))
    while stride > 1 and (frames - 1) * stride + 1 > length:
        stride -= 1
    span = (frames - 1) * stride + 1
    start = int(rng.integers(0, max(1, length - span + 1)))
    picks = np.minimum(np.arange(start, start + span, stride), length - 1)  # a short shot repeats its end
    aspect = width / height
    # the crop: between the whole frame and about a third of it, never upscaled more than twice
    most_h = min(shot_h, shot_w / aspect)
    least_h = min(most_h, max(height / 2, most_h / 3))
    crop_h = rng.uniform(least_h, most_h)
    crop_w = min(shot_w, crop_h * aspect)
    top = int(rng.integers(0, int(shot_h - crop_h) + 1))
    left = int(rng.integers(0, int(shot_w - crop_w) + 1))
    clip = _resize(shot[picks, top:top + int(crop_h), left:left + int(crop_w)], height, width)
    if rng.random() < 0.5:
        clip = clip[::-1]
    if rng.random() < 0.5:
        clip = clip[:, :, ::-1]
    return np.ascontiguousarray(clip)


def _camera_path(rng: np.random.Generator, frames: int, photo_h: int, photo_w: int, height: int, width: int,
                 pace: float = 1.0):
    """Per frame, the 2x3 affine map from photo to frame for a smooth move: pan, zoom and a little turn,
    `pace` times a full move (0: the camera stands still)."""
    base = max(height / photo_h, width / photo_w) * rng.uniform(1.15, 2.2)  # frame pixels per photo pixel
    zoom = np.exp(np.linspace(0, rng.uniform(-0.25, 0.25) * pace, frames))
    turn = np.linspace(0, rng.uniform(-8, 8) * pace, frames) if rng.random() < 0.5 else np.zeros(frames)
    # the frame's centre in photo pixels, moving along a straight line that stays inside the photo
    reach_x = max(0.0, photo_w / 2 - width / (2 * base * zoom.min()) * 1.2)
    reach_y = max(0.0, photo_h / 2 - height / (2 * base * zoom.min()) * 1.2)
    begin, end = rng.uniform(-1, 1, (2, 2)) * (reach_x, reach_y)
    end = begin + (end - begin) * pace
    centres = np.linspace(begin, end, frames) + (photo_w / 2, photo_h / 2)
    maps = []
    for (cx, cy), scale, angle in zip(centres, base * zoom, turn):
        rotation = cv2.getRotationMatrix2D((float(cx), float(cy)), float(angle), float(scale))
        rotation[:, 2] += (width / 2 - cx, height / 2 - cy)  # the photo point (cx, cy) lands mid-frame
        maps.append(rotation)
    return maps


def film_photo(rng: np.random.Generator, photo: np.ndarray, frames: int, height: int, width: int,
               camera: str | None = None) -> np.ndarray:
    """A clip of a photograph through a synthetic camera (`camera`, one of CAMERA; drawn when None).
    A moving or slow camera has, half the time, a second layer of parallax: a soft-edged piece of the
    photo gliding over the rest at its own pace. A still camera watches one piece move over the still
    scene (`_moving_piece`) and gets the noise of a real sensor, frame by frame."""
    if camera is None:
        camera = draw(rng, CAMERA)
    pace = rng.uniform(*PACE[camera])
    photo_h, photo_w, _ = photo.shape
    maps = _camera_path(rng, frames, photo_h, photo_w, height, width, pace)
    clip = np.stack([cv2.warpAffine(photo, m, (width, height), flags=cv2.INTER_AREA, borderMode=cv2.BORDER_REFLECT)
                     for m in maps])
    if frames == 1:
        return clip
    if camera != "still":
        return _parallax(rng, clip, layer_pace=max(pace, rng.uniform(0.03, 0.15)))
    clip = _moving_piece(rng, clip)
    noise = rng.normal(0, rng.uniform(0, 1.5), clip.shape)
    return np.clip(clip + noise, 0, 255).round().astype(np.uint8)


def _parallax(rng: np.random.Generator, clip: np.ndarray, layer_pace: float) -> np.ndarray:
    """Half the time, a soft-edged piece of the first frame drifting over the clip, `layer_pace` times a
    full glide."""
    frames, height, width, _ = clip.shape
    if rng.random() < 0.5:
        ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
        cx, cy = rng.uniform(0.25, 0.75) * width, rng.uniform(0.25, 0.75) * height
        rx, ry = rng.uniform(0.15, 0.35) * width, rng.uniform(0.15, 0.35) * height
        alpha = np.clip(1.5 - np.hypot((xs - cx) / rx, (ys - cy) / ry), 0, 1)[..., None]  # soft ellipse
        drift = rng.uniform(-1, 1, 2) * (width, height) * rng.uniform(0.1, 0.3) * layer_pace
        _lay_piece(clip, alpha, drift * np.arange(frames)[:, None] / max(1, frames - 1))
    return clip


def _lay_piece(clip: np.ndarray, alpha: np.ndarray, shifts: np.ndarray) -> None:
    """Lay the piece of the first frame that `alpha` (H, W, 1) cuts out over every frame of `clip`, frame
    n shifted by shifts[n] (dx, dy) pixels. Writes into `clip`."""
    height, width = clip.shape[1:3]
    layer = clip[0].astype(np.float32)
    for n, (dx, dy) in enumerate(shifts):
        move = np.float32([[1, 0, dx], [0, 1, dy]])
        moved = cv2.warpAffine(layer, move, (width, height), borderMode=cv2.BORDER_REFLECT)
        mask = cv2.warpAffine(alpha, move, (width, height))[..., None]
        clip[n] = np.clip(clip[n] * (1 - mask) + moved * mask, 0, 255).astype(np.uint8)


def _moving_piece(rng: np.random.Generator, clip: np.ndarray) -> np.ndarray:
    """Something moving in a still scene: a piece of the first frame (an ellipse with a soft rim, up to
    about a quarter of the frame) moving over the clip, gliding across it or swinging to and fro (from a
    sixth of a swing to a whole one over the clip), from a crawl to a brisk move; the rest stays put."""
    frames, height, width, _ = clip.shape
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    cx, cy = rng.uniform(0.2, 0.8) * width, rng.uniform(0.2, 0.8) * height
    rx, ry = rng.uniform(0.08, 0.25) * width, rng.uniform(0.08, 0.25) * height
    alpha = np.clip((1.2 - np.hypot((xs - cx) / rx, (ys - cy) / ry)) * 4, 0, 1)[..., None]  # rim 0.25 wide
    reach = rng.uniform(-1, 1, 2) * (width, height) * rng.uniform(0.03, 0.35)  # the farthest it goes
    along = np.linspace(0, 1, frames)
    if rng.random() < 0.5:
        path = along  # glides from where it was to `reach`
    else:
        path = np.sin(2 * np.pi * rng.uniform(0.15, 1.0) * along + rng.uniform(0, 2 * np.pi))
        path = path - path[0]  # swings, like a pendulum, from where it was
    _lay_piece(clip, alpha, path[:, None] * reach)
    return clip


class FootageBuckets(torch.utils.data.IterableDataset):
    """An endless stream of batches of real footage and procedural scenes; each batch is `batch` clips of
    one random shape, (B, T, H, W, C) in [-1, 1]. Every (seed, rank, worker) draws its own clips."""

    def __init__(self, footage: Footage, batch: int, seed: int = 0, max_side: int = 128, frames_choices=(1, 16),
                 rank: int = 0, mix: dict | None = None):
        super().__init__()
        self.footage, self.batch, self.seed, self.max_side = footage, batch, seed, max_side
        self.frames_choices, self.rank, self.mix = tuple(frames_choices), rank, dict(mix or MIX)

    def clip(self, rng: np.random.Generator, frames: int, height: int, width: int) -> np.ndarray:
        kind = draw(rng, {k: share for k, share in self.mix.items()
                          if k == "scene" or (self.footage.shots if k == "shot" else self.footage.photos)})
        if kind == "scene":
            return make_clip(frames, height, width, seed=int(rng.integers(0, 2**31)))
        if kind == "shot":
            shot = self.footage.shots[rng.integers(len(self.footage.shots))]
            clip = crop_shot(rng, shot, frames, height, width)
        else:
            photo = self.footage.photos[rng.integers(len(self.footage.photos))]
            clip = film_photo(rng, photo, frames, height, width)
        clip = jitter_colour(rng, clip)
        return tone_curve(rng, clip) if rng.random() < TONE_SHARE else clip

    def __iter__(self):
        info = torch.utils.data.get_worker_info()
        worker = info.id if info else 0
        if info:
            cv2.setNumThreads(1)
            torch.set_num_threads(1)
        rng = np.random.default_rng([self.seed, self.rank, worker, 7])
        while True:
            frames, height, width = random_clip_shape(rng, self.max_side, 8, self.frames_choices)
            yield to_unit(np.stack([self.clip(rng, frames, height, width) for _ in range(self.batch)]))


def describe(footage: Footage) -> dict:
    """What a training run drew from, for the weights' card."""
    return {"shots": len(footage.shots), "photos": len(footage.photos), "sources": list(footage.names),
            "mix": dict(MIX), "shot_frames": int(sum(len(s) for s in footage.shots)),
            "camera": dict(CAMERA), "tone": {"share": TONE_SHARE, "mean": list(TONE_MEAN), "gamma": list(GAMMA)},
            "note": "crops of every aspect, strides 1-3, reversed, mirrored, colour jitter, sometimes a gamma curve "
                    "to a bright or a dark scene; photos through "
                    "synthetic pan/zoom/turn with a parallax layer, the camera moving, slow or still (a tripod "
                    "shot with one piece gliding or swinging over the still scene); "
                    "procedural scenes"}
