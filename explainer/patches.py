"""Spacetime patches: the clip's volume cut into tubelets, and the amoeba cut of the film-reel story.

A clip here is a tensor or array of shape (T, H, W, C). A tubelet is a block of pt frames x ph x pw pixels;
the grid of tubelets is (gt, gh, gw) and each tubelet, flattened, is one token of pt*ph*pw*C numbers.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from einops import rearrange

# tubelet <-> token, for one clip (T, H, W, C) or a batch (B, T, H, W, C); the same patterns serve the
# explainer's figures and the DiT, so there is exactly one definition of what a spacetime patch is.
PATCHIFY = "... (gt pt) (gh ph) (gw pw) c -> ... (gt gh gw) (pt ph pw c)"
UNPATCHIFY = "... (gt gh gw) (pt ph pw c) -> ... (gt pt) (gh ph) (gw pw) c"

DEFAULT_PATCH = (2, 8, 8)


@dataclass(frozen=True)
class PatchGrid:
    """How a clip of (frames, height, width) is cut into tubelets of (pt, ph, pw)."""

    frames: int
    height: int
    width: int
    patch: tuple[int, int, int] = DEFAULT_PATCH
    channels: int = 3

    def __post_init__(self):
        pt, ph, pw = self.patch
        if min(pt, ph, pw) < 1:
            raise ValueError(f"patch sizes must be positive, got {self.patch}")
        for name, size, step in (("frames", self.frames, pt), ("height", self.height, ph),
                                 ("width", self.width, pw)):
            if size < step or size % step:
                raise ValueError(f"{name}={size} is not a positive multiple of the patch size {step}")

    @property
    def shape(self) -> tuple[int, int, int]:
        """The grid of tubelets (gt, gh, gw)."""
        pt, ph, pw = self.patch
        return self.frames // pt, self.height // ph, self.width // pw

    @property
    def tokens(self) -> int:
        gt, gh, gw = self.shape
        return gt * gh * gw

    @property
    def token_dim(self) -> int:
        """Numbers in one flattened tubelet: pt * ph * pw * C."""
        pt, ph, pw = self.patch
        return pt * ph * pw * self.channels

    def index(self, token: int) -> tuple[int, int, int]:
        """Grid position (it, ih, iw) of token number `token` in the 1D sequence (time-major)."""
        gt, gh, gw = self.shape
        if not 0 <= token < self.tokens:
            raise IndexError(f"token {token} outside 0..{self.tokens - 1}")
        return token // (gh * gw), (token // gw) % gh, token % gw

    def token_at(self, it: int, ih: int, iw: int) -> int:
        """Inverse of `index`."""
        _, gh, gw = self.shape
        return (it * gh + ih) * gw + iw

    def pixels(self, token: int) -> tuple[slice, slice, slice]:
        """The (frames, rows, columns) slices of the clip that token `token` covers."""
        it, ih, iw = self.index(token)
        pt, ph, pw = self.patch
        return (slice(it * pt, (it + 1) * pt), slice(ih * ph, (ih + 1) * ph), slice(iw * pw, (iw + 1) * pw))

    def attention_cost(self) -> dict:
        """Self-attention over all tokens: N^2 score pairs, and the score-matrix memory at fp32 per head."""
        n = self.tokens
        return {"tokens": n, "pairs": n * n, "score_matrix_mb": n * n * 4 / 2**20}


def patchify(clip, patch=DEFAULT_PATCH):
    """(..., T, H, W, C) -> (..., tokens, pt*ph*pw*C). Works on numpy arrays and torch tensors."""
    pt, ph, pw = patch
    return rearrange(clip, PATCHIFY, pt=pt, ph=ph, pw=pw)


def unpatchify(tokens, grid: PatchGrid):
    """(..., tokens, pt*ph*pw*C) -> (..., T, H, W, C), the exact inverse of `patchify`."""
    gt, gh, gw = grid.shape
    pt, ph, pw = grid.patch
    return rearrange(tokens, UNPATCHIFY, gt=gt, gh=gh, gw=gw, pt=pt, ph=ph, pw=pw)


def padded_frame_indices(frames: int, pt: int) -> list[int]:
    """Which of `frames` frames fill a whole number of tubelets: all of them in order, then the last one
    repeated until the count is a multiple of pt."""
    return list(range(frames)) + [frames - 1] * (-frames % pt)


def padded_grid(frames: int, height: int, width: int, patch=DEFAULT_PATCH, channels: int = 3) -> PatchGrid:
    """The tubelet grid of a clip of (frames, height, width) once `pad_frames` has made its frame count a
    multiple of pt."""
    return PatchGrid(frames + -frames % patch[0], height, width, tuple(patch), channels)


def pad_frames(clip, pt: int):
    """Repeat the last frame until T is a multiple of pt: a still image (T = 1) becomes pt identical frames,
    as a photograph is a clip that does not move. (..., T, H, W, C) -> (..., T', H, W, C); numpy arrays
    and torch tensors alike, returned as they are when T is already a multiple."""
    frames = clip.shape[-4]
    if frames % pt == 0:
        return clip
    return clip[..., padded_frame_indices(frames, pt), :, :, :]


def fit_size(height: int, width: int, max_side: int, multiple_h: int, multiple_w: int) -> tuple[int, int]:
    """The working size for a frame of (height, width): longer side at most `max_side`, each side a whole
    multiple of the patch, aspect ratio kept as closely as those multiples allow. Never crops."""
    if height < 1 or width < 1:
        raise ValueError(f"frame size must be positive, got {width}x{height}")
    scale = min(1.0, max_side / max(height, width))
    max_h = max(multiple_h, max_side // multiple_h * multiple_h)
    max_w = max(multiple_w, max_side // multiple_w * multiple_w)
    target_h = height * scale
    best = None
    # try the nearest multiples around the scaled size and keep the one whose aspect is closest
    for h in {max(multiple_h, min(max_h, m * multiple_h)) for m in
              (math.floor(target_h / multiple_h), math.ceil(target_h / multiple_h))}:
        w_exact = h * width / height
        for w in {max(multiple_w, min(max_w, m * multiple_w)) for m in
                  (math.floor(w_exact / multiple_w), math.ceil(w_exact / multiple_w))}:
            error = abs(math.log((w / h) / (width / height)))
            key = (round(error, 9), -(h * w))  # closest aspect first, then the larger frame
            if best is None or key < best[0]:
                best = (key, (h, w))
    return best[1]


# --- the amoeba cut ---------------------------------------------------------------------------------

def amoeba_mask(height: int, width: int, center=(0.5, 0.5), size=0.3, seed=0, *, lobes=5) -> np.ndarray:
    """A smooth, seeded, amoeba-shaped boolean mask of (height, width).

    `center` is (x, y) as fractions of the frame, `size` the mean radius as a fraction of the shorter side.
    The outline is a circle whose radius wobbles with a few random low-frequency harmonics.
    """
    rng = np.random.default_rng(seed)
    amplitudes = rng.uniform(0.05, 0.25, lobes) / np.arange(1, lobes + 1) ** 0.5
    phases = rng.uniform(0, 2 * np.pi, lobes)
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float64)
    dx, dy = xs + 0.5 - center[0] * width, ys + 0.5 - center[1] * height
    angle, dist = np.arctan2(dy, dx), np.hypot(dx, dy)
    harmonics = np.arange(2, lobes + 2)[:, None, None]  # start at 2: a first harmonic only shifts the blob
    wobble = 1 + (amplitudes[:, None, None] * np.sin(harmonics * angle + phases[:, None, None])).sum(0)
    radius = max(size, 1e-3) * min(height, width) * wobble
    return dist <= radius


def amoeba_cut(frames: np.ndarray, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Cut the same amoeba from every frame (T, H, W, C): (rows, cols, pieces). rows and cols (n,) are the
    mask's pixels in reading order; pieces (T, n, C) holds every frame's values at them. The pieces stacked
    along T are the spacetime 'tube' of the film-reel story."""
    rows, cols = np.nonzero(mask)
    return rows, cols, np.asarray(frames)[:, rows, cols]


def amoeba_tokens(grid: PatchGrid, mask: np.ndarray) -> np.ndarray:
    """Indices of the tokens whose tubelets the amoeba touches (the same in every time slice)."""
    _, gh, gw = grid.shape
    _, ph, pw = grid.patch
    touched = rearrange(mask, "(gh ph) (gw pw) -> gh gw (ph pw)", ph=ph, pw=pw).any(-1)  # (gh, gw)
    cells = np.flatnonzero(touched)
    return np.concatenate([it * gh * gw + cells for it in range(grid.shape[0])])


def square_crop_vs_native(height: int, width: int, frames: int, patch=DEFAULT_PATCH, *,
                          crop_side=None) -> dict:
    """What a fixed square centre crop (the U-Net way) keeps of a frame, against native-aspect patches.

    The crop is the largest centred square (or `crop_side` after resizing the short side to it); native
    patches keep the whole frame.
    """
    side = min(height, width)
    crop_side = side if crop_side is None else crop_side
    pt, ph, pw = patch
    native = PatchGrid(frames, height, width, patch)
    crop_h = max(ph, crop_side // ph * ph)
    crop_w = max(pw, crop_side // pw * pw)
    cropped = PatchGrid(frames, crop_h, crop_w, patch)
    top, left = (height - side) // 2, (width - side) // 2
    return {
        "crop_box": (top, left, side, side),  # (row, column, height, width) in frame pixels
        "area_kept": side * side / (height * width),
        "native_tokens": native.tokens,
        "crop_tokens": cropped.tokens,
        "native_grid": native.shape,
        "crop_grid": cropped.shape,
    }
