"""DiT weights on disk and changes to trained weights.

Weights are safetensors (never pickle) with a JSON sidecar saying what made them; a training checkpoint
holds the weights, their EMA copy and the optimiser's moments in one safetensors file; `widen_tiles` gives
trained weights wider output tiles without changing what they compute.
"""
from __future__ import annotations

import dataclasses
import json
from dataclasses import asdict
from functools import lru_cache
from pathlib import Path

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import load_file, save_file
from torch import nn

from .assets import PRIOR
from .diffusion import DEFAULT_SCHEDULE, SCHEDULES
from .dit import DiT, DiTConfig
from .errors import ExplainerError

# --- weights and their card --------------------------------------------------------------------------

def sidecar(path) -> Path:
    return Path(path).with_suffix(".json")


def save_weights(model: DiT, path, meta: dict | None = None) -> Path:
    """Write the model's weights to `path` (.safetensors) and its card to the .json beside it: its config,
    the noise schedule it was trained with, and `meta`."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tensors = {name: value.detach().float().cpu().contiguous() for name, value in model.state_dict().items()}
    save_file(tensors, str(path), metadata={"format": "pt"})
    card = {"config": asdict(model.config), "schedule": model.schedule, **(meta or {})}
    sidecar(path).write_text(json.dumps(card, indent=2) + "\n")
    return path


def load_weights(path, device=None) -> tuple[DiT, dict]:
    """A DiT built from the sidecar's config with the saved weights, in eval mode, set to the schedule its
    card says it was trained with (linear where the card names none). Needs no network; a missing,
    damaged or mismatched file raises ExplainerError saying which."""
    path = Path(path)
    if not path.exists() or not sidecar(path).exists():
        raise ExplainerError(f"model weights not found: {path.name} and its .json sidecar are both needed")
    try:
        card = json.loads(sidecar(path).read_text())
        config = DiTConfig(**card["config"])
    except (ValueError, KeyError, TypeError) as error:
        raise ExplainerError(f"the weights' sidecar {sidecar(path).name} is damaged ({error})") from None
    schedule = card.get("schedule", DEFAULT_SCHEDULE)
    if schedule not in SCHEDULES:
        raise ExplainerError(f"the weights in {path.name} were trained with the schedule {schedule!r}, which "
                             f"this explainer does not know (it knows {', '.join(SCHEDULES)})")
    try:
        tensors = load_file(str(path))
    except (SafetensorError, OSError, ValueError) as error:
        raise ExplainerError(f"the weights file {path.name} is damaged and cannot be loaded ({error})") from None
    model = DiT(config)
    model.schedule = schedule
    try:
        model.load_state_dict(tensors, strict=True)
    except RuntimeError:
        raise ExplainerError(f"the weights in {path.name} do not fit the model described in its sidecar") from None
    if not all(torch.isfinite(value).all() for value in tensors.values()):
        raise ExplainerError(f"the weights file {path.name} holds NaN or infinite values")
    return model.to(device or "cpu").eval().requires_grad_(False), card


def training_minutes(card: dict) -> float:
    """Wall time that made these weights, in minutes: their own run plus every run they continued from."""
    return sum(training_minutes_by_data(card).values())


def training_minutes_by_data(card: dict) -> dict[str, float]:
    """The same wall time split by what the runs trained on: {"footage": ..., "procedural": ...} minutes."""
    minutes = {"footage": 0.0, "procedural": 0.0}
    while card:
        kind = "footage" if (card.get("settings") or {}).get("data") == "footage" else "procedural"
        minutes[kind] += float(card.get("wall_time_s", 0.0)) / 60
        card = card.get("init")
    return minutes


@lru_cache(maxsize=2)
def load_prior(device: str = "cpu") -> tuple[DiT, dict]:
    """The shipped prior, loaded once per process and device."""
    return load_weights(PRIOR, device)


# --- training checkpoints ----------------------------------------------------------------------------

def save_checkpoint(path, model: nn.Module, ema: nn.Module | None, optimizer: torch.optim.Optimizer, *, step: int,
                    extra: dict) -> Path:
    """Everything needed to resume, as safetensors: weights, EMA weights (where the run keeps them), AdamW
    moments, the step, and `extra` (JSON) in the metadata. Written beside `path` and renamed, so a crash
    mid-write never leaves half a file. The DiT's runs and the compression network's use it."""
    path = Path(path)
    tensors = {f"model.{k}": v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    if ema is not None:
        tensors.update({f"ema.{k}": v.detach().cpu().contiguous() for k, v in ema.state_dict().items()})
    for index, state in optimizer.state_dict()["state"].items():
        for key, value in state.items():
            tensors[f"optim.{index}.{key}"] = torch.as_tensor(value).detach().cpu().contiguous()
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".partial")
    save_file(tensors, str(temporary), metadata={"step": str(step), "extra": json.dumps(extra)})
    temporary.replace(path)
    return path


def load_checkpoint(path, model: nn.Module, ema: nn.Module | None,
                    optimizer: torch.optim.Optimizer) -> tuple[int, dict]:
    """Fill `model`, `ema` (unless None) and `optimizer` from a checkpoint in place. -> (step, extra)."""
    tensors = load_file(str(path))
    with safe_open(str(path), "pt") as handle:
        metadata = handle.metadata()
    model.load_state_dict({k.removeprefix("model."): v for k, v in tensors.items() if k.startswith("model.")})
    if ema is not None:
        ema.load_state_dict({k.removeprefix("ema."): v for k, v in tensors.items() if k.startswith("ema.")})
    state = optimizer.state_dict()
    for name, value in tensors.items():
        if name.startswith("optim."):
            _, index, key = name.split(".", 2)
            state["state"].setdefault(int(index), {})[key] = value
    optimizer.load_state_dict(state)
    return int(metadata["step"]), json.loads(metadata.get("extra", "{}"))


# --- surgery on trained weights ----------------------------------------------------------------------

def widen_tiles(model: DiT, margin: int) -> DiT:
    """A copy of a trained `model` whose tokens paint tiles with `margin` (at least its own): its output
    projection fills the centre of each new tile and the new border starts at zero, so the copy's outputs
    equal the model's exactly until it trains on."""
    old, (pt, ph, pw), c = model.config.margin, model.config.patch, model.config.channels
    if margin < old:
        raise ValueError(f"tiles can only widen: margin {margin} < {old}")
    wider = DiT(dataclasses.replace(model.config, margin=margin)).to(next(model.parameters()).device)
    wider.schedule = model.schedule
    state = model.state_dict()
    grow = margin - old
    for name in ("final.linear.weight", "final.linear.bias"):
        before = state[name].reshape(pt, ph + 2 * old, pw + 2 * old, c, -1)  # (pt, th, tw, C, width or 1)
        after = before.new_zeros(pt, ph + 2 * margin, pw + 2 * margin, c, before.shape[-1])
        after[:, grow:grow + before.shape[1], grow:grow + before.shape[2]] = before
        state[name] = after.reshape(wider.state_dict()[name].shape)
    wider.load_state_dict(state)
    return wider
