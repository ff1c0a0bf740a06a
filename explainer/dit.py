"""The video Diffusion Transformer (DiT): a noisy clip in, the model's guess of the clean clip out.

Read top to bottom: small helpers, the embeddings (tubelets, 3D sin-cos positions, timesteps), attention
with its fused and its map-returning path, the adaLN-Zero block, the final layer and the overlap-add of
tiles, the pack of clips of different shapes in one sequence, the model, then what a forward costs
(parameters, FLOPs, GEMM shapes) and the named configs.
Weights on disk, and surgery on trained weights, are `explainer.weights`.

Clips are channels-last tensors (B, T, H, W, C) in [-1, 1]. The tubelet cut is `explainer.patches.patchify`,
the very cut the explainer draws; nothing here knows a second one. On the way out each token paints a tile
a little larger than its patch (`margin` pixels on every side) and overlapping tiles add up, so the seams
between patches are drawn by both neighbours instead of by neither (`tiles_to_clip`); with margin 0
that is exactly the inverse of the cut.

Prediction target: x0. The network outputs the clean clip, not the noise eps and not v: on the small
models and short fits the explainer runs, x0-prediction learns far faster. The samplers in
`explainer.diffusion` convert x0 to eps where a step needs it. With frames given (a timestep per time
slice, the given ones at t = 0), each generated frame starts from the nearest given frame (`from_given`):
the network sees that frame's x_t less the start's share in it (the change from the start, noised) and
paints the change, which is added back. A scene that holds still needs nothing painted, and what the
network learns is the motion. The generated frames also share most of their noise (`shared_noise`, drawn
by `explainer.diffusion.frame_noise`), in training and in sampling, so the detail painted from it is
alike from frame to frame instead of each frame's own.
"""
from __future__ import annotations

import functools
import itertools
import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from einops import rearrange, repeat
from torch import nn

from .device import autocast
from .diffusion import DEFAULT_SCHEDULE, schedule_of
from .patches import DEFAULT_PATCH, PatchGrid, pad_frames, padded_grid, patchify, unpatchify

# --- helpers -----------------------------------------------------------------------------------------

def modulate(x, shift, scale):
    """adaLN: x * (1 + scale) + shift, in one fused kernel. x (B, N, D); shift/scale (B, 1, D), one per
    clip, or (1, N, D), one per token of a pack (see `per_token`)."""
    return torch.addcmul(shift, x, 1 + scale)


def gated_add(x, gate, branch):
    """Residual x + gate * branch, in one fused kernel. x/branch (B, N, D), gate (B, 1, D) or (1, N, D)."""
    return torch.addcmul(x, gate, branch)


def per_token(rows, spread: Pack | SliceTimes | None = None):
    """Conditioning computed once per distinct timestep, (k rows, width), made to broadcast over the
    tokens: one row per clip, (B, 1, width), for a batch with one t per clip; in a pack every token takes
    its own clip's row, (1, N, width); with a t per time slice each slice's row, (B, gt, 1, width), to meet
    tokens viewed by slice (`by_slice`)."""
    return rows[:, None] if spread is None else spread.spread(rows)


def by_slice(x, slices: SliceTimes | None):
    """x (B, N, D) shaped to meet `per_token`'s rows: (B, gt, gh * gw, D) with a t per slice, else as is."""
    return x if slices is None else slices.by_slice(x)


def as_triple(value) -> tuple[int, int, int]:
    if isinstance(value, int):
        return value, value, value
    return tuple(int(v) for v in value)


# --- embeddings --------------------------------------------------------------------------------------

def sincos_1d(dim: int, positions: torch.Tensor) -> torch.Tensor:
    """Sin-cos features of integer positions, as in the Transformer paper. (n,) -> (n, dim)."""
    omega = 1.0 / 10000 ** (torch.arange(dim // 2, dtype=torch.float64) / (dim // 2))  # (dim/2,)
    angles = positions.double()[:, None] * omega[None]  # (n, dim/2)
    return torch.cat([angles.sin(), angles.cos()], dim=-1)  # (n, dim)


def axis_widths(width: int) -> tuple[int, int, int]:
    """How the hidden width is shared by the time, row and column axes (each an even number)."""
    space = 2 * (width // 6)
    return width - 2 * space, space, space


@functools.lru_cache(maxsize=64)
def position_embedding(width: int, grid: tuple[int, int, int], offset: tuple[int, int, int],
                       device: torch.device) -> torch.Tensor:
    """Fixed 3D sin-cos position of every token of a (gt, gh, gw) grid, indices shifted by `offset`.
    Computed once per grid, so one model serves every clip shape. -> (gt*gh*gw, width), float32."""
    with torch.inference_mode(False), torch.no_grad():  # a plain tensor, usable when training too
        (gt, gh, gw), (ot, oh, ow) = grid, offset
        dt, dh, dw = axis_widths(width)
        along_t = sincos_1d(dt, torch.arange(gt) + ot)  # (gt, dt)
        along_h = sincos_1d(dh, torch.arange(gh) + oh)  # (gh, dh)
        along_w = sincos_1d(dw, torch.arange(gw) + ow)  # (gw, dw)
        table = torch.cat([
            repeat(along_t, "gt d -> gt gh gw d", gh=gh, gw=gw),
            repeat(along_h, "gh d -> gt gh gw d", gt=gt, gw=gw),
            repeat(along_w, "gw d -> gt gh gw d", gt=gt, gh=gh),
        ], dim=-1)  # (gt, gh, gw, width)
        return rearrange(table, "gt gh gw d -> (gt gh gw) d").float().to(device)


def timestep_features(t: torch.Tensor, dim: int, max_period: float = 10000.0) -> torch.Tensor:
    """Sinusoidal features of (possibly fractional) timesteps. (B,) -> (B, dim)."""
    half = dim // 2
    freqs = torch.exp(-math.log(max_period) * torch.arange(half, device=t.device) / half)  # (dim/2,)
    angles = t.float()[:, None] * freqs[None]  # (B, dim/2)
    return torch.cat([angles.cos(), angles.sin()], dim=-1)  # (B, dim)


class TimestepEmbedder(nn.Module):
    """Timestep -> sinusoidal features -> MLP -> the conditioning vector c."""

    def __init__(self, width: int, freq_dim: int):
        super().__init__()
        self.freq_dim = freq_dim
        self.mlp = nn.Sequential(nn.Linear(freq_dim, width), nn.SiLU(), nn.Linear(width, width))

    def forward(self, t):
        return self.mlp(timestep_features(t, self.freq_dim))  # (B, D)


# --- attention ---------------------------------------------------------------------------------------

def fused_attention(qkv, heads: int):
    """softmax(q k^T / sqrt(d)) v with torch's fused kernel, every token attending to every token.
    (B, N, 3D) -> (B, N, D)."""
    q, k, v = rearrange(qkv, "b n (three h d) -> three b h n d", three=3, h=heads)  # 3x (B, h, N, d)
    return rearrange(F.scaled_dot_product_attention(q, k, v), "b h n d -> b n (h d)")  # (B, N, D)


def packed_attention(qkv, pack: Pack, heads: int):
    """Block-diagonal attention over a pack: each clip's stretch of the sequence attends to itself alone,
    so the masked-out blocks are never computed and no mask is ever built. Of the three ways
    `explainer.bench` times (pack_attention_ms), a dense mask scores every pair of the sequence and throws
    most away, and torch.nested's jagged tensors have no CPU kernel for it. (1, N, 3D) -> (1, N, D)."""
    return torch.cat([fused_attention(part, heads) for part in pack.split(qkv)], dim=1)  # (1, N, D)


def attention_weights(q, k):
    """The attention map itself: softmax(q k^T / sqrt(d)). (B, h, N, d) x2 -> (B, h, N, N)."""
    scores = q @ k.transpose(-2, -1) * q.shape[-1] ** -0.5  # (B, h, N, N)
    return scores.softmax(dim=-1)


class Attention(nn.Module):
    """Multi-head self-attention over every spacetime patch, with one fused q/k/v projection."""

    def __init__(self, width: int, heads: int):
        super().__init__()
        self.heads = heads
        self.qkv = nn.Linear(width, 3 * width)
        self.proj = nn.Linear(width, width)

    def forward(self, x, query: int | None = None, pack: Pack | None = None):
        """x (B, N, D) -> (B, N, D); with `query` also the weights that token puts on every token,
        (B, heads, N), computed on the manual path (the fused kernel never forms the map). With `pack`,
        x (1, N, D) holds several clips' tokens and no clip attends to another."""
        qkv = self.qkv(x)  # (B, N, 3D), in one product even for a pack
        if pack is not None:
            return self.proj(packed_attention(qkv, pack, self.heads)), None  # (1, N, D)
        if query is None:
            return self.proj(fused_attention(qkv, self.heads)), None  # (B, N, D)
        q, k, v = rearrange(qkv, "b n (three h d) -> three b h n d", three=3, h=self.heads)  # 3x (B, h, N, d)
        full = attention_weights(q, k)  # (B, h, N, N)
        out = rearrange(full.to(v.dtype) @ v, "b h n d -> b n (h d)")  # (B, N, D)
        return self.proj(out), full[:, :, query].float()  # (B, N, D), (B, h, N)


# --- a timestep per time slice --------------------------------------------------------------------

@dataclass(frozen=True, eq=False)  # eq=False: it holds a tensor
class SliceTimes:
    """Which row of conditioning each time slice takes when each slice of a clip has its own timestep (given
    slices at t = 0, the rest at the step's t): `row` (B, gt) indexes the distinct timesteps, each a stretch
    of `per_slice` tokens (tokens are time-major)."""

    row: torch.Tensor  # (B, gt) long
    per_slice: int  # tokens in one time slice, gh * gw

    def spread(self, rows):
        """One row per distinct timestep to one per time slice, made to broadcast over the slice's stretch of
        tokens (nothing is copied per token). (k, width) -> (B, gt, 1, width)."""
        return rows[self.row][:, :, None]  # (B, gt, 1, w)

    def by_slice(self, x):
        """Tokens as stretches of one time slice, to meet `spread`'s rows. (B, N, D) -> (B, gt, gh * gw, D)."""
        return x.unflatten(1, (self.row.shape[1], self.per_slice))


def distinct_times(t: torch.Tensor, grid: PatchGrid) -> tuple[torch.Tensor, SliceTimes]:
    """A timestep per time slice (B, gt) as the few distinct timesteps (adaLN runs once for each) and where
    each slice finds its own. -> ((k,), SliceTimes)."""
    gt, gh, gw = grid.shape
    if t.shape[1] != gt:
        raise ValueError(f"a timestep per time slice needs {gt} per clip, got {t.shape[1]}")
    distinct, row = torch.unique(t, return_inverse=True)  # (k,), (B, gt)
    return distinct, SliceTimes(row, gh * gw)


# --- the adaLN-Zero block ----------------------------------------------------------------------------

class MLP(nn.Module):
    """Token-wise feed-forward: Linear, GELU, Linear. The exact (erf) GELU rather than the tanh
    approximation DiT uses, as torch's CPU kernel for the exact one is the faster of the two."""

    def __init__(self, width: int, hidden: int):
        super().__init__()
        self.fc1 = nn.Linear(width, hidden)
        self.fc2 = nn.Linear(hidden, width)

    def forward(self, x):
        return self.fc2(F.gelu(self.fc1(x)))  # (B, N, D)


class AdaLNZeroBlock(nn.Module):
    """A transformer block whose LayerNorms are steered by the timestep: adaLN-Zero."""

    def __init__(self, width: int, heads: int, mlp_ratio: float):
        super().__init__()
        self.norm1 = nn.LayerNorm(width, elementwise_affine=False, eps=1e-6)
        self.attn = Attention(width, heads)
        self.norm2 = nn.LayerNorm(width, elementwise_affine=False, eps=1e-6)
        self.mlp = MLP(width, int(width * mlp_ratio))
        # shift, scale and gate for the attention branch and the MLP branch, all from c
        self.adaLN = nn.Sequential(nn.SiLU(), nn.Linear(width, 6 * width))

    def forward(self, x, c, query: int | None = None, pack: Pack | None = None, slices: SliceTimes | None = None):
        """x (B, N, D), c (B, D) -> (B, N, D), and the attention weights of `query` (or None). With `pack`,
        x (1, N, D) holds every clip's tokens and c (clips, D) one row per clip. With `slices`, c holds one
        row per distinct timestep and each time slice takes its own."""
        # the modulation depends on t alone: computed once per timestep, then spread over its tokens
        modulation = per_token(self.adaLN(c), slices or pack)  # (B, 1, 6D), (1, N, 6D) or (B, gt, 1, 6D)
        shift_a, scale_a, gate_a, shift_m, scale_m, gate_m = modulation.chunk(6, dim=-1)  # 6x (B, 1, D)
        shape = x.shape  # (B, N, D); with a t per slice, each modulation meets x viewed by slice

        def steered(y, shift, scale):
            return modulate(by_slice(y, slices), shift, scale).reshape(shape)

        def added(y, gate, branch):
            return gated_add(by_slice(y, slices), gate, by_slice(branch, slices)).reshape(shape)

        h, weights = self.attn(steered(self.norm1(x), shift_a, scale_a), query, pack)  # (B, N, D)
        x = added(x, gate_a, h)  # (B, N, D)
        h = self.mlp(steered(self.norm2(x), shift_m, scale_m))  # (B, N, D)
        return added(x, gate_m, h), weights  # (B, N, D)


# --- the final layer: tokens to overlapping tiles to a clip ------------------------------------------

class FinalLayer(nn.Module):
    """adaLN, then each token to the numbers of its tile (its tubelet and a margin around it)."""

    def __init__(self, width: int, tile_dim: int):
        super().__init__()
        self.norm = nn.LayerNorm(width, elementwise_affine=False, eps=1e-6)
        self.adaLN = nn.Sequential(nn.SiLU(), nn.Linear(width, 2 * width))
        self.linear = nn.Linear(width, tile_dim)

    def forward(self, x, c, pack: Pack | None = None, slices: SliceTimes | None = None):
        shift, scale = per_token(self.adaLN(c), slices or pack).chunk(2, dim=-1)  # 2x (B, 1, D), or as the block's
        steered = modulate(by_slice(self.norm(x), slices), shift, scale).reshape(x.shape)  # (B, N, D)
        return self.linear(steered)  # (B, N, pt*(ph+2m)*(pw+2m)*C)


def tiles_to_clip(tiles, grid: PatchGrid, margin: int):
    """Tokens' tiles back into a clip. Tile i covers patch i grown by `margin` pixels on every side (same
    frames); where tiles overlap their values add up (overlap-add, F.fold), so both neighbours draw each
    seam. margin 0 is `unpatchify`, the exact inverse of the cut. (B, N, pt*th*tw*C) -> (B, T, H, W, C)."""
    if margin == 0:
        return unpatchify(tiles, grid)
    (gt, gh, gw), (pt, ph, pw) = grid.shape, grid.patch
    th, tw = ph + 2 * margin, pw + 2 * margin
    columns = rearrange(tiles, "b (gt gh gw) (pt th tw c) -> (b gt pt) (c th tw) (gh gw)",
                        gt=gt, gh=gh, gw=gw, pt=pt, th=th, tw=tw)  # one frame of every tile per row
    frames = F.fold(columns, (gh * ph, gw * pw), (th, tw), stride=(ph, pw), padding=margin)  # (B*T, C, H, W)
    return rearrange(frames, "(b gt pt) c h w -> b (gt pt) h w c", gt=gt, pt=pt)


# --- the given frames: where a generated frame's guess starts --------------------------------------

def from_given(x, t, pt: int):
    """Where each frame's guess starts when some time slices are given (t = 0) and others generated
    (t > 0): a generated frame starts from the nearest given frame, or, between two given frames, from
    their crossfade by distance; a given frame from itself. A clip with nothing given (or nothing generated)
    starts from 0. x (B, T, H, W, C), given frames clean; t (B, gt) -> (B, T, H, W, C)."""
    frames = x.shape[1]
    given = (t == 0).repeat_interleave(pt, dim=1)[:, :frames]  # (B, T)
    mixed = given.any(dim=1) & ~(t == 0).all(dim=1)  # (B,): clips with frames given and frames generated
    index = torch.arange(frames, device=x.device).expand_as(given)  # (B, T)
    before = torch.where(given, index, -1).cummax(dim=1).values  # (B, T): the last given frame up to here
    after = torch.where(given, index, frames).flip(1).cummin(dim=1).values.flip(1)  # the first from here on
    has_before, has_after = before >= 0, after < frames
    span = (after - before).clamp(min=1)
    to_after = torch.where(has_before, (index - before) / span, 1.0) * has_after  # (B, T): share of `after`
    to_before = (1 - to_after) * has_before
    weights = (to_before[..., None] * F.one_hot(before.clamp(min=0), frames)
               + to_after[..., None] * F.one_hot(after.clamp(max=frames - 1), frames))  # (B, T, T)
    weights = weights * mixed[:, None, None]
    return torch.einsum("bfg,bg...->bf...", weights.to(x.dtype), x)  # (B, T, H, W, C)


# --- Patch n' Pack: clips of different shapes in one sequence ---------------------------------------

@dataclass(frozen=True)
class Pack:
    """Several clips' tokens laid end to end in one sequence, no padding (NaViT's Patch n' Pack): clip i
    owns tokens starts[i] up to starts[i] + lengths[i]."""

    grids: tuple[PatchGrid, ...]  # each clip's tubelet grid
    frames: tuple[int, ...]  # each clip's own frame count (its grid's is padded up to a multiple of pt)

    @property
    def lengths(self) -> list[int]:
        return [grid.tokens for grid in self.grids]

    @property
    def starts(self) -> list[int]:
        return [0, *itertools.accumulate(self.lengths)][:-1]

    @property
    def tokens(self) -> int:
        return sum(self.lengths)

    def split(self, x, dim: int = 1) -> tuple[torch.Tensor, ...]:
        """The packed sequence cut back into its clips' stretches, along the token axis `dim`."""
        return x.split(self.lengths, dim=dim)

    def spread(self, rows):
        """One row per clip to one row per token, each token its own clip's row. (clips, k) -> (1, N, k)."""
        return rows.repeat_interleave(torch.tensor(self.lengths, device=rows.device), dim=0)[None]


# --- the model ---------------------------------------------------------------------------------------

@dataclass
class DiTConfig:
    """Everything that fixes the architecture; `asdict(config)` and `DiTConfig(**d)` round-trip it,
    so saved weights can carry it in a JSON sidecar."""

    depth: int = 4
    width: int = 192
    heads: int = 3
    patch: tuple[int, int, int] = DEFAULT_PATCH  # (pt, ph, pw): one tubelet
    channels: int = 3
    mlp_ratio: float = 4.0
    freq_dim: int = 256  # sinusoidal timestep features fed to the timestep MLP
    margin: int = 0  # pixels each token paints beyond its patch on every side (0 when a card does not say)
    # with frames given, the network paints each generated frame's change from its nearest given frame
    # (`from_given`) rather than the whole frame (False when a card does not say)
    from_given: bool = False
    # with frames given, the share of the noise's variance the generated frames have in common, in training
    # and in sampling (`diffusion.frame_noise`; 0, every frame its own, when a card does not say)
    shared_noise: float = 0.0

    def __post_init__(self):
        self.patch = as_triple(self.patch)  # JSON hands back a list
        if self.width % self.heads or self.width % 2:
            raise ValueError(f"width {self.width} must be even and divisible by heads {self.heads}")

    @property
    def token_dim(self) -> int:
        pt, ph, pw = self.patch
        return pt * ph * pw * self.channels

    @property
    def tile_dim(self) -> int:
        """Numbers one token paints: its tubelet grown by `margin` on every side."""
        pt, ph, pw = self.patch
        return pt * (ph + 2 * self.margin) * (pw + 2 * self.margin) * self.channels


class DiT(nn.Module):
    """Diffusion Transformer over spacetime patches: (noisy clip x_t, timestep t) -> predicted clean clip x0."""

    # the noise schedule the weights were trained with, by its name in diffusion.SCHEDULES: what the
    # samplers must use with them (weights.load_weights sets it from the weights' card)
    schedule: str = DEFAULT_SCHEDULE

    def __init__(self, config: DiTConfig):
        super().__init__()
        self.config = config
        width = config.width
        self.embed = nn.Linear(config.token_dim, width)  # one flattened tubelet -> one token
        self.t_embed = TimestepEmbedder(width, config.freq_dim)
        self.blocks = nn.ModuleList(AdaLNZeroBlock(width, config.heads, config.mlp_ratio) for _ in range(config.depth))
        self.final = FinalLayer(width, config.tile_dim)
        self.initialize()

    def initialize(self):
        """Xavier linears with zero biases; the timestep MLP small; every adaLN modulation and the final
        projection zero, so each block starts as the identity and the untrained model outputs exactly 0."""
        for module in self.modules():
            if isinstance(module, nn.Linear):
                nn.init.xavier_uniform_(module.weight)
                nn.init.zeros_(module.bias)
        for layer in (self.t_embed.mlp[0], self.t_embed.mlp[2]):
            nn.init.normal_(layer.weight, std=0.02)
        for ada in [block.adaLN[-1] for block in self.blocks] + [self.final.adaLN[-1], self.final.linear]:
            nn.init.zeros_(ada.weight)
            nn.init.zeros_(ada.bias)

    def grid(self, frames: int, height: int, width: int) -> PatchGrid:
        """The tubelet grid this model cuts a clip of (frames, height, width) into (frames padded to pt)."""
        return padded_grid(frames, height, width, self.config.patch, self.config.channels)

    def conditioning(self, t, grid: PatchGrid, batch: int, time_slices: bool):
        """The timestep conditioning c of a forward, and how its rows reach the tokens: t (B,) or one number,
        one row per clip; t (B, gt), a timestep per time slice, one row per distinct timestep (spread by
        SliceTimes), or with `time_slices` one row per slice's own sequence. -> (c, SliceTimes or None)."""
        if t.dim() == 2 and time_slices:  # each slice is its own sequence: its own row
            return self.t_embed(t.reshape(-1)), None  # (B * gt, D)
        if t.dim() == 2:
            distinct, slices = distinct_times(t, grid)
            return self.t_embed(distinct), slices  # (k, D)
        c = self.t_embed(t.reshape(-1).expand(batch))  # (B, D)
        return c.repeat_interleave(grid.shape[0] if time_slices else 1, dim=0), None  # (B or B * gt, D)

    def forward(self, x, t, attention_of: tuple[int, int] | None = None, offset=0, time_slices: bool = False):
        """x: noisy clips (B, T, H, W, C); t: timesteps, (B,) or one number, or one per time slice (B, gt)
        (given slices at t = 0 beside the generated ones at the step's t); -> predicted clean clips
        (B, T, H, W, C), float32.

        attention_of=(block, query_token): also return how token `query_token` spreads its attention over
        all tokens in that block, (B, heads, N); that block runs the manual path, the output is the same.
        offset: int or (ot, oh, ow) added to the position indices, so a crop can sit anywhere in a clip.
        time_slices: each time slice (the pt frames of one row of tubelets) attends to itself alone, a
        block-diagonal mask over time: the nearest this model comes to an image model run frame by frame.
        T need not be a multiple of pt: the last frame is repeated to fill the last tubelet, and the
        extra frames are dropped from the output. H and W must be multiples of ph and pw.
        """
        frames = x.shape[1]
        grid = self.grid(*x.shape[1:4])
        block_of, query = attention_of if attention_of is not None else (None, None)
        if block_of is not None and not (0 <= block_of < len(self.blocks) and 0 <= query < grid.tokens):
            raise IndexError(f"attention_of={attention_of} outside {len(self.blocks)} blocks, {grid.tokens} tokens")
        if time_slices and block_of is not None:
            raise ValueError("attention_of reads full attention; it does not combine with time_slices")
        t = torch.as_tensor(t, device=x.device)  # (B,), (B, gt) or ()
        pos = position_embedding(self.config.width, grid.shape, as_triple(offset), x.device)  # (N, D)
        start = self.given_start(x, t)  # (B, T, H, W, C) or None
        if start is not None:  # a generated frame's x_t less its share of the start: the change, noised
            x = x - start.to(x.dtype) * self.clean_share(t, frames)
        with autocast(x.device):
            x = pad_frames(x, self.config.patch[0])  # (B, T', H, W, C)
            x = self.embed(patchify(x, self.config.patch)) + pos  # (B, N, D)
            c, spread = self.conditioning(t, grid, x.shape[0], time_slices)  # (B, D), (k, D) or (B * gt, D)
            slices = grid.shape[0] if time_slices else 1  # tokens are time-major: a slice is one stretch
            x = rearrange(x, "b (gt s) d -> (b gt) s d", gt=slices)  # each slice its own sequence
            for index, block in enumerate(self.blocks):
                x, found = block(x, c, query if index == block_of else None, slices=spread)  # (B, N, D)
                if index == block_of:
                    weights = found  # (B, heads, N)
            x = rearrange(self.final(x, c, slices=spread), "(b gt) s k -> b (gt s) k", gt=slices)  # (B, N, tile)
        x0 = tiles_to_clip(x.float(), grid, self.config.margin)[:, :frames]  # (B, T, H, W, C)
        x0 = x0 if start is None else x0 + start  # the network painted the change from the start
        return x0 if attention_of is None else (x0, weights)

    def given_start(self, x, t):
        """With frames given (`from_given` on, t per slice), where each frame's guess starts: the nearest
        given frame, or the crossfade of the two around it (B, T, H, W, C), float32; else None."""
        if not (self.config.from_given and t.dim() == 2):
            return None
        return from_given(x.float(), t, self.config.patch[0])

    def clean_share(self, t, frames: int):
        """sqrt(alpha_bar) of each generated frame's timestep, 0 for a given frame: how much of the clean
        frame its x_t holds. t (B, gt) -> (B, T, 1, 1, 1)."""
        share = schedule_of(self).alpha_bar(t.cpu()).sqrt().float().to(t.device) * (t > 0)  # (B, gt)
        return share.repeat_interleave(self.config.patch[0], dim=1)[:, :frames, None, None, None]

    def pack(self, clips) -> Pack:
        """Where each of `clips` (each (T, H, W, C); shapes may differ) sits in one packed sequence."""
        return Pack(tuple(self.grid(*clip.shape[:3]) for clip in clips), tuple(clip.shape[0] for clip in clips))

    def forward_packed(self, clips, ts) -> list[torch.Tensor]:
        """Patch n' Pack: clips of different shapes through the model as ONE sequence. clips: noisy clips,
        each (T, H, W, C) (a still image has T = 1); ts: one timestep per clip, or one number for all.
        -> each clip's predicted clean clip (T, H, W, C), float32, what `forward` gives for it alone.

        Every token keeps its own clip's 3D positions and timestep conditioning, and attention is
        block-diagonal, so no clip sees another. The linears (embedding, q/k/v, MLP, output) each run once
        over the whole sequence, and adaLN's once over every clip's timestep, rather than once per clip.
        That pays for small clips, whose own products are too small to keep the matrix units busy; clips of
        a thousand tokens or more already keep them busy, and the elementwise work (per-token modulation)
        over a sequence too long for the cache costs about what the larger products save (`explainer.bench`,
        pack_speedup, measures it for the four samples).
        """
        if not clips:
            raise ValueError("forward_packed needs at least one clip")
        pack, device, pt = self.pack(clips), clips[0].device, self.config.patch[0]
        t = torch.as_tensor(ts, device=device).reshape(-1).expand(len(clips))  # (clips,)
        pos = torch.cat([position_embedding(self.config.width, grid.shape, (0, 0, 0), device)
                         for grid in pack.grids])  # (N, D): each clip's own positions, from 0
        with autocast(device):
            tubelets = torch.cat([patchify(pad_frames(clip, pt), self.config.patch) for clip in clips])  # (N, K)
            x = self.embed(tubelets[None]) + pos  # (1, N, D)
            c = self.t_embed(t)  # (clips, D)
            for block in self.blocks:
                x, _ = block(x, c, pack=pack)  # (1, N, D)
            x = self.final(x, c, pack)  # (1, N, pt*(ph+2m)*(pw+2m)*C)
        return [tiles_to_clip(tiles.float(), grid, self.config.margin)[0, :frames]  # (T, H, W, C)
                for tiles, grid, frames in zip(pack.split(x), pack.grids, pack.frames)]


# --- what a forward costs ----------------------------------------------------------------------------

@dataclass(frozen=True)
class Gemm:
    """One matrix product of a forward: `count` times a batch of `batch` (m x k) @ (k x n) products."""

    name: str
    count: int
    batch: int
    m: int
    k: int
    n: int

    @property
    def flops(self) -> int:
        return 2 * self.count * self.batch * self.m * self.k * self.n


def gemm_shapes(config: DiTConfig, tokens: int, batch: int = 1) -> list[Gemm]:
    """Every matrix product of one forward over `batch` clips of `tokens` tokens (attention included)."""
    d, depth, heads = config.width, config.depth, config.heads
    rows, hidden = batch * tokens, int(d * config.mlp_ratio)
    return [
        Gemm("tubelet embed", 1, 1, rows, config.token_dim, d),
        Gemm("timestep mlp", 1, 1, batch, config.freq_dim, d),
        Gemm("timestep mlp", 1, 1, batch, d, d),
        Gemm("adaLN", depth, 1, batch, d, 6 * d),
        Gemm("qkv", depth, 1, rows, d, 3 * d),
        Gemm("q k^T", depth, batch * heads, tokens, d // heads, tokens),
        Gemm("weights v", depth, batch * heads, tokens, tokens, d // heads),
        Gemm("attention out", depth, 1, rows, d, d),
        Gemm("mlp in", depth, 1, rows, d, hidden),
        Gemm("mlp out", depth, 1, rows, hidden, d),
        Gemm("final adaLN", 1, 1, batch, d, 2 * d),
        Gemm("final projection", 1, 1, rows, d, config.tile_dim),
    ]


def forward_flops(config: DiTConfig, tokens: int, batch: int = 1) -> int:
    """Analytic FLOPs of one forward: all linears plus 4 N^2 D per block for q k^T and weights v
    (elementwise work, a few percent, left out)."""
    return sum(g.flops for g in gemm_shapes(config, tokens, batch))


def count_params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


# --- configs -----------------------------------------------------------------------------------------

def dit_tiny() -> DiTConfig:
    """For tests: about 0.26 M parameters."""
    return DiTConfig(depth=2, width=64, heads=2, margin=2, from_given=True, shared_noise=0.75)


def dit_default() -> DiTConfig:
    """For the app (the shipped prior): about 3.1 M parameters."""
    return DiTConfig(depth=4, width=192, heads=3, margin=2, from_given=True, shared_noise=0.75)


def dit_large() -> DiTConfig:
    """More capacity: about 7.7 M parameters."""
    return DiTConfig(depth=6, width=256, heads=4, margin=2, from_given=True, shared_noise=0.75)


CONFIGS = {"tiny": dit_tiny, "default": dit_default, "large": dit_large}


def get_config(name: str) -> DiTConfig:
    if name not in CONFIGS:
        raise KeyError(f"unknown DiT config {name!r}; choose from {sorted(CONFIGS)}")
    return CONFIGS[name]()


def build_dit(config: str | DiTConfig = "default", seed: int = 0, device=None) -> DiT:
    """A freshly initialised DiT (the same weights for the same seed), on `device` (default: the CPU)."""
    config = get_config(config) if isinstance(config, str) else config
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = DiT(config)
    return model.to(device or "cpu")
