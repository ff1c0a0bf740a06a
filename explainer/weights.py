"""DiT weights on disk: safetensors (never pickle) with a JSON sidecar saying what made them."""
from __future__ import annotations

import json
from dataclasses import asdict
from functools import lru_cache
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from .assets import PRIOR
from .dit import DiT, DiTConfig
from .errors import ExplainerError


def sidecar(path) -> Path:
    return Path(path).with_suffix(".json")


def save_weights(model: DiT, path, meta: dict | None = None) -> Path:
    """Write the model's weights to `path` (.safetensors) and its config plus `meta` to the .json beside it."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tensors = {name: value.detach().float().cpu().contiguous() for name, value in model.state_dict().items()}
    save_file(tensors, str(path), metadata={"format": "pt"})
    card = {"config": asdict(model.config), **(meta or {})}
    sidecar(path).write_text(json.dumps(card, indent=2) + "\n")
    return path


def load_weights(path, device=None) -> tuple[DiT, dict]:
    """A DiT built from the sidecar's config with the saved weights, in eval mode. Needs no network;
    a missing, damaged or mismatched file raises ExplainerError saying which."""
    path = Path(path)
    if not path.exists() or not sidecar(path).exists():
        raise ExplainerError(f"model weights not found: {path.name} and its .json sidecar are both needed")
    try:
        card = json.loads(sidecar(path).read_text())
        config = DiTConfig(**card["config"])
    except (ValueError, KeyError, TypeError) as error:
        raise ExplainerError(f"the weights' sidecar {sidecar(path).name} is damaged ({error})") from None
    try:
        tensors = load_file(str(path))
    except (SafetensorError, OSError, ValueError) as error:
        raise ExplainerError(f"the weights file {path.name} is damaged and cannot be loaded ({error})") from None
    model = DiT(config)
    try:
        model.load_state_dict(tensors, strict=True)
    except RuntimeError:
        raise ExplainerError(f"the weights in {path.name} do not fit the model described in its sidecar") from None
    if not all(torch.isfinite(value).all() for value in tensors.values()):
        raise ExplainerError(f"the weights file {path.name} holds NaN or infinite values")
    return model.to(device or "cpu").eval().requires_grad_(False), card


def training_minutes(card: dict) -> float:
    """Wall time that made these weights, in minutes: their own run plus every run they continued from."""
    seconds = 0.0
    while card:
        seconds += float(card.get("wall_time_s", 0.0))
        card = card.get("init")
    return seconds / 60


@lru_cache(maxsize=2)
def load_prior(device: str = "cpu") -> tuple[DiT, dict]:
    """The shipped prior, loaded once per process and device."""
    return load_weights(PRIOR, device)
