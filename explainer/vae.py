"""The compression network: a small video autoencoder that turns a clip into a smaller latent clip and back.

Sora's report (and the DiT paper, for images) first compresses pixels into a latent: here 4x4 pixels in
space and 2 frames in time become one latent position of 4 channels, so one latent number stands for
2 * 4 * 4 * 3 / 4 = 24 pixel values. The encoder runs 2D convolutions on each frame down to a quarter of
its height and width, then merges each pair of frames into one latent frame; the decoder undoes both.
A still image (or the odd last frame of a clip) is paired with itself, so a photo is a one-frame clip.
The latent is a Gaussian (a mean and a log-variance per number), nudged towards N(0, 1) by a KL term
in training, so that it stays smooth enough to diffuse in; encoding for the page takes its mean.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F
from einops import rearrange
from torch import nn

# --- config ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class VAEConfig:
    """How wide each level is, and what the latent keeps."""

    widths: tuple[int, int, int] = (24, 48, 96)  # channels at full, half and quarter size
    middle: int = 128  # channels where a pair of frames meets
    latent_channels: int = 4
    space: int = 4  # latent rows and columns are this many pixels (two halvings)
    time: int = 2  # frames per latent frame


CONFIGS = {"small": VAEConfig(), "tiny": VAEConfig(widths=(8, 16, 16), middle=16)}


# --- blocks ------------------------------------------------------------------------------------------

class ResBlock(nn.Module):
    """Two 3x3 convolutions with a shortcut; the second starts at zero, so the block starts as identity."""

    def __init__(self, width: int):
        super().__init__()
        self.conv1 = nn.Conv2d(width, width, 3, padding=1)
        self.conv2 = nn.Conv2d(width, width, 3, padding=1)
        nn.init.zeros_(self.conv2.weight)
        nn.init.zeros_(self.conv2.bias)

    def forward(self, x):
        return x + self.conv2(F.silu(self.conv1(F.silu(x))))  # (N, C, H, W)


class Down(nn.Module):
    """Half the height and width: a strided 3x3 convolution to the next width, then a residual block."""

    def __init__(self, width_in: int, width_out: int):
        super().__init__()
        self.conv = nn.Conv2d(width_in, width_out, 3, stride=2, padding=1)
        self.block = ResBlock(width_out)

    def forward(self, x):
        return self.block(self.conv(x))  # (N, C_out, H/2, W/2)


class Up(nn.Module):
    """Twice the height and width: a residual block, nearest-neighbour upsampling, a 3x3 convolution."""

    def __init__(self, width_in: int, width_out: int):
        super().__init__()
        self.block = ResBlock(width_in)
        self.conv = nn.Conv2d(width_in, width_out, 3, padding=1)

    def forward(self, x):
        return self.conv(F.interpolate(self.block(x), scale_factor=2.0, mode="nearest"))  # (N, C_out, 2H, 2W)


# --- the autoencoder ---------------------------------------------------------------------------------

class VideoAutoencoder(nn.Module):
    """Clip (B, T, H, W, 3) in [-1, 1] <-> latent (B, ceil(T/2), H/4, W/4, 4); H and W multiples of 4."""

    def __init__(self, config: VAEConfig = VAEConfig()):
        super().__init__()
        self.config = config
        full, half, quarter = config.widths
        latent, middle = config.latent_channels, config.middle
        # encoder: each frame to a quarter of its size, then each pair of frames to one latent frame
        self.stem = nn.Conv2d(3, full, 3, padding=1)
        self.down = nn.Sequential(Down(full, half), Down(half, quarter))
        self.pair = nn.Conv2d(2 * quarter, middle, 3, padding=1)
        self.pair_block = ResBlock(middle)
        self.to_moments = nn.Conv2d(middle, 2 * latent, 1)  # a mean and a log-variance per latent number
        # decoder: each latent frame to a pair of frames at a quarter size, then each frame to full size
        self.from_latent = nn.Conv2d(latent, middle, 3, padding=1)
        self.unpair_block = ResBlock(middle)
        self.unpair = nn.Conv2d(middle, 2 * quarter, 3, padding=1)
        self.up = nn.Sequential(Up(quarter, half), Up(half, full))
        self.head = nn.Sequential(ResBlock(full), nn.SiLU(), nn.Conv2d(full, 3, 3, padding=1))

    def latent_shape(self, frames: int, height: int, width: int) -> tuple[int, int, int, int]:
        """(T', H', W', C) of a clip's latent."""
        c = self.config
        return -(-frames // c.time), height // c.space, width // c.space, c.latent_channels

    def moments(self, clip: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The latent's mean and log-variance, each (B, T', H/4, W/4, 4)."""
        batch, frames, height, width, _ = clip.shape
        if height % self.config.space or width % self.config.space:
            raise ValueError(f"height and width must be multiples of {self.config.space}, got {height}x{width}")
        if frames % 2:  # an odd last frame (a still included) is paired with itself
            clip = torch.cat([clip, clip[:, -1:]], dim=1)  # (B, T+1, H, W, 3)
        x = rearrange(clip, "b t h w c -> (b t) c h w")  # every frame on its own
        x = self.down(self.stem(x))  # (B*T, quarter, H/4, W/4)
        x = rearrange(x, "(b t two) c h w -> (b t) (two c) h w", b=batch, two=2)  # the two frames of a pair meet
        x = self.to_moments(F.silu(self.pair_block(self.pair(x))))  # (B*T', 2*latent, H/4, W/4)
        mean, log_var = rearrange(x, "(b t) c h w -> b t h w c", b=batch).chunk(2, dim=-1)
        # a spread no wider than the prior's N(0, 1): a wider one only adds noise the decoder must undo
        return mean, log_var.clamp(-30.0, 0.0)  # (B, T', H/4, W/4, 4) each

    def encode(self, clip: torch.Tensor) -> torch.Tensor:
        """The latent's mean: what the page shows and a latent DiT would read."""
        return self.moments(clip)[0]  # (B, T', H/4, W/4, 4)

    def decode(self, latent: torch.Tensor, frames: int | None = None) -> torch.Tensor:
        """Latent (B, T', H', W', 4) -> clip (B, frames or 2T', 4H', 4W', 3)."""
        batch = latent.shape[0]
        x = rearrange(latent, "b t h w c -> (b t) c h w")
        x = self.unpair(F.silu(self.unpair_block(self.from_latent(x))))  # (B*T', 2*quarter, H', W')
        x = rearrange(x, "(b t) (two c) h w -> (b t two) c h w", b=batch, two=2)  # a pair of frames again
        x = self.head(self.up(x))  # (B*2T', 3, 4H', 4W')
        clip = rearrange(x, "(b t) c h w -> b t h w c", b=batch)
        return clip[:, :frames] if frames is not None else clip

    def forward(self, clip: torch.Tensor, generator: torch.Generator | None = None):
        """Training: a latent drawn from the encoder's Gaussian, decoded. -> (reconstruction, mean, log_var)."""
        mean, log_var = self.moments(clip)
        noise = torch.randn(mean.shape, generator=generator).to(mean)
        latent = mean + (0.5 * log_var).exp() * noise
        return self.decode(latent, clip.shape[1]), mean, log_var


def kl_to_standard(mean: torch.Tensor, log_var: torch.Tensor) -> torch.Tensor:
    """KL(N(mean, var) || N(0, 1)), averaged over the latent's numbers."""
    return 0.5 * (mean.square() + log_var.exp() - 1 - log_var).mean()


def build_vae(config: str | VAEConfig = "small", seed: int = 0) -> VideoAutoencoder:
    if isinstance(config, str):
        if config not in CONFIGS:
            raise ValueError(f"unknown autoencoder config {config!r}; choose from {', '.join(CONFIGS)}")
        config = CONFIGS[config]
    torch.manual_seed(seed)
    return VideoAutoencoder(config)


def config_dict(model: VideoAutoencoder) -> dict:
    return asdict(model.config)
