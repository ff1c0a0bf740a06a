"""`python -m explainer train-vae`: train the compression network on the same footage as the prior.

Each step is a batch of random crops of one shape from the real footage (explainer.footage): pairs of
consecutive frames (what one latent frame holds) and stills, the loss the reconstruction's L1 and squared
error plus a small KL term. A run resumes from its checkpoint, stops after --max-minutes, and runs on
several processes with torchrun as `train` does; the card beside the weights says how they were made.
"""
from __future__ import annotations

import json
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import load_file, save_file
from torch.nn.parallel import DistributedDataParallel
from tqdm import tqdm

from .device import cpu_generator, seed_everything
from .errors import ExplainerError
from .fit import gradient_step
from .train import _device_name, _distributed, learning_rate, setting
from .vae import CONFIGS, VAEConfig, VideoAutoencoder, build_vae, config_dict, kl_to_standard
from .weights import load_checkpoint, save_checkpoint


@dataclass
class VAESettings:
    """Every setting of an autoencoder run; `python -m explainer train-vae` has one flag per field."""

    config: str = setting("small", "autoencoder size", choices=list(CONFIGS))
    steps: int = setting(200_000, "optimiser steps (a run also stops at --max-minutes)")
    batch: int = setting(4, "clips per step, all of one shape")
    frames_choices: tuple[int, ...] = setting((1, 2, 2, 2), "frames per clip, drawn per batch (1: a still)",
                                              nargs="+", type=int)
    max_side: int = setting(64, "longest side of a training crop")
    lr: float = setting(1e-3, "peak learning rate")
    min_lr_fraction: float = setting(0.05, "the cosine decay's floor, as a fraction of the peak")
    warmup: int = setting(200, "linear warm-up steps")
    weight_decay: float = setting(0.0, "AdamW weight decay")
    kl_weight: float = setting(1e-6, "weight of the KL term (per latent number) beside the per-value losses")
    mse_weight: float = setting(1.0, "weight of the squared error beside the L1 error")
    data_dir: str = setting("", "footage folder (empty: the cache `python -m explainer data` fills)")
    threads: int = setting(0, "torch threads (0: torch's default)")
    seed: int = setting(0, "seed of the weights and the data stream")
    init: str = setting("", "start from these autoencoder weights (a fresh optimiser)")
    out: str = setting("runs/vae", "folder for vae.safetensors, its card and the checkpoint")
    checkpoint_every: int = setting(500, "steps between checkpoints")
    max_minutes: float = setting(0.0, "stop and save after this much wall time (0: no limit)")
    log_every: int = setting(50, "steps between loss reports on the progress bar")


def reconstruction_loss(model, clips, settings: VAESettings, generator) -> torch.Tensor:
    """L1 + mse_weight * squared error of the decoded sample, + kl_weight * KL of the latent."""
    decoded, mean, log_var = model(clips, generator)
    error = decoded - clips
    return error.abs().mean() + settings.mse_weight * error.square().mean() + \
        settings.kl_weight * kl_to_standard(mean, log_var)


def spike(loss: float, losses: list[float], factor: float = 20.0) -> bool:
    """Whether a step's loss is not finite, or `factor` times the median of the last 200 (once there are
    enough to judge by): such a step is skipped rather than taken."""
    if not np.isfinite(loss):
        return True
    return len(losses) >= 50 and loss > factor * float(np.median(losses[-200:]))


def save_vae(model: VideoAutoencoder, path, card: dict) -> Path:
    """Weights as safetensors, the card as JSON beside them (same name, .json)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    save_file({k: v.detach().contiguous().cpu() for k, v in model.state_dict().items()}, str(path))
    path.with_suffix(".json").write_text(json.dumps({"config": config_dict(model), **card}, indent=2))
    return path


def load_vae(path, device="cpu") -> tuple[VideoAutoencoder, dict]:
    """Weights saved by `save_vae`, in eval mode, with their card."""
    path = Path(path)
    if not path.exists():
        raise ExplainerError(f"no autoencoder weights at {path}: train them with `python -m explainer train-vae`")
    card = json.loads(path.with_suffix(".json").read_text())
    config = VAEConfig(**{k: tuple(v) if isinstance(v, list) else v for k, v in card["config"].items()})
    model = VideoAutoencoder(config)
    model.load_state_dict(load_file(str(path), device=str(device)))
    return model.to(device).eval().requires_grad_(False), card


def _stream(settings: VAESettings, seed: int, rank: int):
    from .data import load_footage
    from .footage import FootageBuckets, describe

    footage = load_footage(settings.data_dir or None)
    stream = FootageBuckets(footage, settings.batch, seed=seed, max_side=settings.max_side,
                            frames_choices=settings.frames_choices, rank=rank)
    return iter(stream), describe(footage)


def train_vae(settings: VAESettings, command: str = "") -> dict:
    """Train the autoencoder; write a checkpoint every so often and vae.safetensors + card to settings.out.
    Resumes from settings.out/checkpoint.safetensors when present."""
    if settings.threads:
        torch.set_num_threads(settings.threads)
    rank, world, device = _distributed()
    seed_everything(settings.seed)
    out = Path(settings.out)
    checkpoint = out / "checkpoint.safetensors"
    model, optimizer, step, seconds_before = _begin(settings, device, checkpoint)
    batches, data = _stream(settings, seed=settings.seed * 1000 + step, rank=rank)
    trained = DistributedDataParallel(model) if world > 1 else model
    generator = cpu_generator(settings.seed * 7919 + rank + step)
    started, losses, skipped = time.perf_counter(), [], 0
    minutes = settings.max_minutes

    def card() -> dict:
        return {"training_steps": step, "wall_time_s": round(seconds_before + time.perf_counter() - started, 1),
                "final_loss": round(float(np.mean(losses[-200:])), 5) if losses else None, "skipped_steps": skipped,
                "device": _device_name(device), "processes": world, "data": data, "settings": asdict(settings),
                "command": command or " ".join(sys.argv)}

    bar = tqdm(total=settings.steps, initial=step, disable=rank != 0, dynamic_ncols=True, desc="train-vae")
    while step < settings.steps:
        fraction = (time.perf_counter() - started) / (minutes * 60) if minutes else 0.0
        for group in optimizer.param_groups:
            group["lr"] = learning_rate(settings, step, fraction)
        loss = reconstruction_loss(trained, next(batches).to(device), settings, generator)
        if spike(loss.item(), losses):  # a batch far off every recent one: its step would throw the weights off
            skipped += 1
        else:
            gradient_step(optimizer, loss, model.parameters())
            losses.append(loss.item())
        step += 1
        bar.update(1)
        if step % settings.log_every == 0:
            bar.set_postfix(loss=f"{np.mean(losses[-settings.log_every:]):.4f}")
        out_of_time = bool(minutes) and fraction > 1
        if rank == 0 and (step % settings.checkpoint_every == 0 or step == settings.steps or out_of_time):
            save_checkpoint(checkpoint, model, None, optimizer, step=step,
                            extra={"seconds": seconds_before + time.perf_counter() - started})
            save_vae(model, out / "vae.safetensors", card())
        if out_of_time:
            break
    bar.close()
    if rank == 0:
        save_vae(model, out / "vae.safetensors", card())
    return {"steps": step, **{k: card()[k] for k in ("wall_time_s", "final_loss", "device", "processes")},
            "weights": str(out / "vae.safetensors")}


def _begin(settings: VAESettings, device, checkpoint: Path):
    """The run's model and AdamW, from --init or fresh, resumed from the checkpoint when there is one.
    -> (model, optimizer, step, seconds already trained)."""
    if settings.init:
        model = load_vae(settings.init)[0].train().requires_grad_(True)
    else:
        model = build_vae(settings.config, settings.seed)
    model = model.to(device)
    optimizer = torch.optim.AdamW(model.parameters(), lr=settings.lr, weight_decay=settings.weight_decay)
    step, seconds = 0, 0.0
    if checkpoint.exists():
        step, extra = load_checkpoint(checkpoint, model, None, optimizer)
        seconds = extra.get("seconds", 0.0)
    return model, optimizer, step, seconds
