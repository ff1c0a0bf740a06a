"""`python -m explainer bench`: how fast the DiT and a DDIM trajectory run on this machine.

Every figure comes from one run, and each ratio from two things timed in turn, rep after rep, so a shared,
noisy machine slows both alike: the DiT's forward against torch's own matmul at the DiT's GEMM shapes
(the same FLOPs with nothing else), and against diffusers' DiTTransformer2DModel on the same square
image case; a run with frames given against the same run with nothing given; the compression network's
encode + decode of the window against one 20-step run;
and Patch n' Pack, the four sample shapes as one sequence against one forward each, with the three ways
of keeping the clips apart in attention timed side by side.
"""
from __future__ import annotations

import contextlib
import json
import logging
import math
import statistics
import time
import warnings
from dataclasses import replace

import torch
import torch.nn.functional as F
from einops import rearrange

from . import diffusion
from .device import autocast, compute_dtype, cpu_bf16, cpu_supports_bf16, pick_device, synchronize
from .dit import (
    CONFIGS,
    DiTConfig,
    Pack,
    build_dit,
    count_params,
    forward_flops,
    gemm_shapes,
    get_config,
    packed_attention,
)
from .errors import ExplainerError
from .given import given_slices, slice_frames
from .patches import PatchGrid, fit_size
from .vae import build_vae

DEFAULT_FRAMES = 16
SOURCE_SIZE = (720, 1280)  # a 16:9 clip, brought to the working size the explainer uses
MAX_SIDE = 128
DIFFUSERS_SIDE, DIFFUSERS_BATCH = 128, 8  # the square 2D case both models can run
PACK_TIMESTEPS = (10, 300, 600, 950)  # one per packed clip: wide, tall, square, still image


def timed(fn, device) -> float:
    """Seconds one call of fn takes, GPU work included."""
    synchronize(device)
    started = time.perf_counter()
    fn()
    synchronize(device)
    return time.perf_counter() - started


def alternate(fns, device, reps: int, warmup: int = 2, pick=statistics.median) -> list[float]:
    """Median (or `pick`, e.g. min) seconds of each function, timed in turn rep after rep, so that drift in
    the load of a shared machine hits them all alike."""
    for _ in range(warmup):
        for fn in fns:
            fn()
    times = [[timed(fn, device) for fn in fns] for _ in range(reps)]
    return [pick(column) for column in zip(*times)]


def default_grid(patch) -> PatchGrid:
    """The explainer's default clip: 16 frames of a 16:9 source at its working size (16x72x128)."""
    height, width = fit_size(*SOURCE_SIZE, MAX_SIDE, patch[1], patch[2])
    return PatchGrid(DEFAULT_FRAMES, height, width, patch)


def gemm_pass(config: DiTConfig, tokens: int, device):
    """A function that runs plain torch.matmul at every GEMM shape of one forward, each as often as the
    forward does: the same FLOPs with nothing else, in the number format the model computes in."""
    dtype = compute_dtype(device)
    operands = [(gemm.count, torch.randn(gemm.batch, gemm.m, gemm.k, device=device, dtype=dtype).squeeze(0),
                 torch.randn(gemm.batch, gemm.k, gemm.n, device=device, dtype=dtype).squeeze(0))
                for gemm in gemm_shapes(config, tokens)]

    def run():
        for count, a, b in operands:
            for _ in range(count):
                a @ b

    return run


def vs_diffusers(config: DiTConfig, device, reps: int) -> dict:
    """Our forward time over diffusers' DiTTransformer2DModel's, same depth, width, heads, patch and tokens
    (a 128x128 image, patch 8, batch 8: 256 tokens each; a one-frame clip with pt = 1 for ours)."""
    try:
        from diffusers import DiTTransformer2DModel
        from diffusers.utils import logging as diffusers_logging
    except ImportError as error:
        return {"vs_diffusers_ratio": None, "vs_diffusers_note": f"diffusers not importable: {error}"}
    diffusers_logging.set_verbosity_error()
    _, ph, pw = config.patch
    ours = build_dit(replace(config, patch=(1, ph, pw)), device=device).eval()
    theirs = DiTTransformer2DModel(
        num_attention_heads=config.heads, attention_head_dim=config.width // config.heads, in_channels=3,
        out_channels=3, num_layers=config.depth, sample_size=DIFFUSERS_SIDE, patch_size=ph,
    ).to(device).eval()
    side, batch = DIFFUSERS_SIDE, DIFFUSERS_BATCH
    image = torch.randn(batch, 1, side, side, 3, device=device)  # (B, T=1, H, W, C)
    image_first = image[:, 0].permute(0, 3, 1, 2).contiguous()  # (B, C, H, W) as diffusers wants
    t = torch.full((batch,), 500, device=device)
    labels = torch.zeros(batch, dtype=torch.long, device=device)
    with torch.inference_mode(), autocast(device):
        ours_s, theirs_s = alternate([lambda: ours(image, t),
                                      lambda: theirs(image_first, timestep=t, class_labels=labels)], device, reps)
    return {
        "vs_diffusers_ratio": ours_s / theirs_s,
        "vs_diffusers_ms": [ours_s * 1e3, theirs_s * 1e3],
        "vs_diffusers_case": f"{batch}x{side}x{side} patch {ph}, {(side // ph) ** 2} tokens each",
    }


def ddim_trajectory(model, grid: PatchGrid, steps: int, given: str | None = None):
    """A whole DDIM trajectory from pure noise, every step's x0_hat kept (as the page does), with the model's
    own schedule (a schedule changes no timing, only the numbers); with `given` (a mode of GIVEN), that
    mode's slices of a random clip given clean."""
    shape = (1, grid.frames, grid.height, grid.width, grid.channels)
    schedule = diffusion.schedule_of(model)
    prompt = None
    if given is not None:
        slices = given_slices(given, grid.shape[0])
        prompt = diffusion.Given(torch.rand(shape) * 2 - 1, slice_frames(slices, grid.frames, grid.patch[0]),
                                 slices, grid.shape[0])
    start = diffusion.Start.noise(shape, given=prompt)

    def trajectory():
        kept = [step.x0_hat for step in diffusion.ddim(model, schedule, start, steps=steps)]
        assert len(kept) == steps

    return trajectory


def ddim_seconds(model, grid: PatchGrid, device, steps: int) -> float:
    """Wall time of a whole DDIM trajectory from pure noise (`ddim_trajectory`)."""
    return timed(ddim_trajectory(model, grid, steps), device)


def compress_figures(model, grid: PatchGrid, device, *, steps: int, reps: int) -> dict:
    """The compression network's encode + decode of the default window against one 20-step DDIM run of the
    DiT on the same window, timed in turn: what the compression step would add to a run."""
    vae = build_vae("small").eval().to(device)
    clip = torch.rand(1, grid.frames, grid.height, grid.width, grid.channels, device=device) * 2 - 1

    def round_trip():
        with torch.inference_mode():
            vae.decode(vae.encode(clip), grid.frames)

    compress_s, run_s = alternate([round_trip, ddim_trajectory(model, grid, steps)], device, reps, warmup=1)
    return {"compress_steps": steps, "compress_over_denoise": compress_s / run_s,
            "compress_ms": [compress_s * 1e3, run_s * 1e3]}


def given_figures(model, grid: PatchGrid, device, *, steps: int, reps: int) -> dict:
    """A DDIM run with the first slice given (animate: each token its own timestep) against the same run
    with nothing given, timed in turn: what giving frames costs in DiT time."""
    plain_s, given_s = alternate([ddim_trajectory(model, grid, steps), ddim_trajectory(model, grid, steps, "animate")],
                                 device, reps, warmup=1)
    return {"given_steps": steps, "given_over_plain": given_s / plain_s, "given_ms": [plain_s * 1e3, given_s * 1e3]}


def cpu_bf16_figures(model, clip, t, grid: PatchGrid, *, reps: int, ddim_steps: int) -> dict:
    """The opt-in bf16 autocast on an AMX CPU: its forward timed in turn with the float32 one, and a DDIM
    trajectory. Empty where the CPU has no bf16 hardware."""
    if clip.device.type != "cpu" or not cpu_supports_bf16():
        return {}

    def forward(bf16: bool):
        with cpu_bf16(bf16):
            model(clip, t)

    with torch.inference_mode():
        fp32_s, bf16_s = alternate([lambda: forward(False), lambda: forward(True)], clip.device, reps)
    with cpu_bf16():
        ddim_s = ddim_seconds(model, grid, clip.device, ddim_steps)
    return {"cpu_bf16_forward_ms": bf16_s * 1e3, "cpu_bf16_speedup": fp32_s / bf16_s,
            "cpu_bf16_ddim50_seconds": ddim_s * 50 / ddim_steps}


def page_figures(quick: bool = False) -> dict:
    """The page's denoising around the model, on the wide sample on show with the shipped prior and the
    page's default run (warm, nothing cached between runs): `page_first_step_s`, from the run being asked
    for to its first step's line; `page_run_over_model`, the page's whole run (every step's pictures and
    line, the kept run and its video) over the sampler's own DiT calls on the same clip; `page_run_bytes`,
    what the run's player text weighs."""
    from .assets import sample_file
    from .diffusion import SAMPLERS, Start, schedule_of
    from .page import show_run
    from .page.show_run import DENOISE, MODELS, WORKING_SIDE, prior_model, working_clip
    from .pixels import to_unit

    path = sample_file("wide")
    steps = 10 if quick else DENOISE["steps"]
    model = prior_model()
    clip = working_clip(path, WORKING_SIDE, None, model.config.patch)
    x0 = to_unit(clip.frames)[None].to(next(model.parameters()).device)
    start, settings = Start.noised_clip(x0, DENOISE["strength"]), dict(steps=steps, seed=DENOISE["seed"], clamp_x0=True)

    def model_only():
        for _ in SAMPLERS[DENOISE["sampler"]](model, schedule_of(model), start, **settings):
            pass

    first, text = [], []
    on_show = {"clip": clip, "path": path}  # the page's session keeps the clip it read
    asked = show_run.sampler_settings(steps=steps)

    def page_run():
        started = time.perf_counter()
        lanes = show_run.lanes_for(str(path), asked, MODELS[0], None, on_show, DENOISE["compare"])
        updates = show_run.stream_denoising(lanes, path.name)
        lines = [json.dumps(next(updates), separators=(",", ":"))]
        for update in updates:
            if isinstance(update, show_run.Run):
                text.append(update.player)
                continue
            lines.append(json.dumps(update, separators=(",", ":")))  # as the page sends it
            if len(lines) == 2:  # the run's head, then its first step
                first.append(time.perf_counter() - started)

    model_s, page_s = alternate([model_only, page_run], torch.device("cpu"), 1 if quick else 5, warmup=1)
    return {"page_first_step_s": statistics.median(first[1:] or first), "page_run_over_model": page_s / model_s,
            "page_model_seconds": model_s, "page_run_seconds": page_s,
            "page_run_steps": len(text[-1].splitlines()) - 2, "page_run_bytes": len(text[-1])}


def pack_shapes(patch) -> list[tuple[int, int, int]]:
    """(frames, height, width) of the four clips packed together: the bundled wide, tall and square samples
    at the working size, and a still image (one frame) the size of the wide one."""
    from .assets import SAMPLES

    sizes = [fit_size(*SAMPLES[name][2:4], MAX_SIDE, patch[1], patch[2]) for name in ("wide", "tall", "square")]
    return [(DEFAULT_FRAMES, *size) for size in sizes] + [(1, *sizes[0])]


def randomised(model, seed: int = 0, std: float = 0.05):
    """The model with seeded noise added to every weight, so the gates adaLN-Zero starts at zero open and
    a mistake anywhere in the forward shows in its output."""
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for weight in model.parameters():
            weight.add_(torch.randn(weight.shape, generator=generator).to(weight.device) * std)
    return model


def block_diagonal_mask(lengths, device=None) -> torch.Tensor:
    """The attention mask that a dense way needs over clips of `lengths` tokens laid end to end (a pack's
    lengths): token i may attend to token j when both are of one clip. The model never builds it
    (`packed_attention` computes each clip's block alone); the packing figure draws it
    (figures.packing.mask_cells). -> (N, N) bool."""
    clip_of_token = torch.arange(len(lengths), device=device).repeat_interleave(
        torch.tensor(lengths, device=device))  # (N,)
    return clip_of_token[:, None] == clip_of_token[None]


def dense_mask_attention(qkv, mask, heads: int):
    """Attention over the whole packed sequence, every pair scored, the pairs across clips masked out.
    qkv (1, N, 3D), mask (N, N) bool -> (1, N, D)."""
    q, k, v = rearrange(qkv, "b n (three h d) -> three b h n d", three=3, h=heads)  # 3x (1, h, N, d)
    out = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)  # (1, h, N, d)
    return rearrange(out, "b h n d -> b n (h d)")


@contextlib.contextmanager
def quiet_logger(name: str):
    """Within this block the logger `name` prints errors only."""
    logger = logging.getLogger(name)
    before = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(before)


def nested_attention(qkv, pack: Pack, heads: int):
    """The clips as one jagged nested tensor (torch.nested), one attention call over all of them.
    (1, N, 3D) -> (1, N, D)."""
    offsets = torch.tensor([*pack.starts, pack.tokens], device=qkv.device)  # where each clip's tokens start
    with warnings.catch_warnings(), quiet_logger("torch.fx._symbolic_trace"):  # torch's own nags
        warnings.simplefilter("ignore")  # "nested tensors are a prototype"
        parts = rearrange(qkv[0], "n (three h d) -> three n h d", three=3, h=heads)  # 3x (N, h, d)
        q, k, v = (torch.nested.nested_tensor_from_jagged(part.contiguous(), offsets).transpose(1, 2)
                   for part in parts)  # 3x (clips, h, j, d), j each clip's own length
        out = F.scaled_dot_product_attention(q, k, v).transpose(1, 2).values()  # (N, h, d)
    return rearrange(out, "n h d -> 1 n (h d)")


def pack_figures(config: DiTConfig, device, reps: int) -> dict:
    """Patch n' Pack on the four shapes of `pack_shapes`, each clip with its own timestep, on a randomised
    model: `pack_max_abs_error`, the packed forward against each clip's own forward (float32, on the CPU);
    `pack_speedup`, the four forwards' time over the packed forward's (best of `reps`, timed in turn); and
    the attention of the packed sequence three ways, with the model's way (per clip) among them."""
    model = randomised(build_dit(config)).eval()
    generator = torch.Generator().manual_seed(0)
    clips = [torch.randn(*shape, config.channels, generator=generator).clamp(-1, 1)
             for shape in pack_shapes(config.patch)]
    ts = torch.tensor(PACK_TIMESTEPS)

    def separate():
        return [model(clip[None], t)[0] for clip, t in zip(clips, ts)]

    def packed():
        return model.forward_packed(clips, ts)

    with torch.inference_mode():
        error = max((apart - together).abs().max().item() for apart, together in zip(separate(), packed()))
        model, clips, ts = model.to(device), [clip.to(device) for clip in clips], ts.to(device)
        separate_s, packed_s = alternate([separate, packed], device, reps, warmup=1, pick=min)
        pack = model.pack(clips)
        qkv = torch.randn(1, pack.tokens, 3 * config.width, generator=generator).to(device)
        # the dense way's mask, built before the timing: a model attending that way would build it once
        # per forward and share it among its blocks
        mask = block_diagonal_mask(pack.lengths, device)
        ways = {"dense_mask": lambda: dense_mask_attention(qkv, mask, config.heads),
                "per_clip": lambda: packed_attention(qkv, pack, config.heads),
                "nested": lambda: nested_attention(qkv, pack, config.heads)}
        try:
            nested_attention(qkv, pack, config.heads)
        except RuntimeError:  # no nested attention kernel for this device
            del ways["nested"]
        attention_s = dict(zip(ways, alternate(list(ways.values()), device, reps, warmup=1, pick=min)))
    return {
        "pack_shapes": [list(shape) for shape in pack_shapes(config.patch)],
        "pack_tokens": pack.lengths,
        "pack_max_abs_error": error,
        "pack_speedup": separate_s / packed_s,
        "pack_ms": [separate_s * 1e3, packed_s * 1e3],
        "pack_attention_ms": {way: seconds * 1e3 for way, seconds in attention_s.items()},
        "pack_attention_used": "per_clip",
    }


VISITORS = 8


def visitor_figures(config: DiTConfig, device, steps: int) -> dict:
    """Eight visitors' denoising runs (`steps` DiT calls each) with the model shared or not, timed by
    their DiT calls (what sharing changes): one visitor at a time, visitor k done after k whole runs;
    or every step of all eight through the model together, all done at the end. Twice: eight clips of one
    shape (the wide sample's) batched, and two each of the four `pack_shapes` packed into one sequence.
    `visitors_*_s` are [wall time of all eight, the median and the 95th percentile of when each is done]."""
    model = build_dit(config, device=device).eval()
    generator = torch.Generator().manual_seed(0)
    shapes = pack_shapes(config.patch)
    same = torch.randn(VISITORS, *shapes[0], config.channels, generator=generator).to(device)
    mixed = [torch.randn(*shape, config.channels, generator=generator).to(device)
             for shape in shapes * (VISITORS // len(shapes))]
    ts = torch.full((VISITORS,), 500, device=device)

    def done_at(one_run_s: list[float]) -> list[float]:  # one visitor at a time, in turn
        return [sum(one_run_s[: k + 1]) for k in range(len(one_run_s))]

    def spread(times: list[float]) -> list[float]:  # all done, the median visitor done, the 95th percentile
        ordered = sorted(times)
        return [max(times), statistics.median(times), ordered[max(0, math.ceil(0.95 * len(times)) - 1)]]

    with torch.inference_mode():
        model(same[:1], ts[:1])  # warm
        apart = [timed(lambda k=k: [model(same[k:k + 1], ts[:1]) for _ in range(steps)], device)
                 for k in range(VISITORS)]
        batched = timed(lambda: [model(same, ts) for _ in range(steps)], device)
        mixed_apart = [timed(lambda clip=clip: [model(clip[None], ts[:1]) for _ in range(steps)], device)
                       for clip in mixed]
        packed = timed(lambda: [model.forward_packed(mixed, ts) for _ in range(steps)], device)
    return {"visitors": VISITORS, "visitor_steps": steps,
            "visitors_one_at_a_time_s": spread(done_at(apart)),
            "visitors_batched_s": spread([batched] * VISITORS),
            "visitors_mixed_one_at_a_time_s": spread(done_at(mixed_apart)),
            "visitors_mixed_packed_s": spread([packed] * VISITORS)}


def run_bench(config: str = "default", quick: bool = False) -> dict:
    """Measure the DiT on this machine; `quick` is a smoke run (few repetitions, 5 DDIM steps, scaled)."""
    device = pick_device()
    reps = 3 if quick else 20
    ddim_steps = 5 if quick else 50
    if config not in CONFIGS:
        raise ExplainerError(f"unknown config {config!r}; choose from {', '.join(CONFIGS)}")
    cfg = get_config(config)
    grid = default_grid(cfg.patch)
    model = build_dit(cfg, device=device).eval()
    clip = torch.randn(1, grid.frames, grid.height, grid.width, grid.channels, device=device)
    t = torch.full((1,), 500, device=device)
    with torch.inference_mode():
        forward_s, gemm_s = alternate([lambda: model(clip, t), gemm_pass(cfg, grid.tokens, device)], device, reps)
    flops = forward_flops(cfg, grid.tokens)
    ddim_s = ddim_seconds(model, grid, device, ddim_steps)
    return {
        "device": str(device),
        "dtype": str(compute_dtype(device)).removeprefix("torch."),
        "threads": torch.get_num_threads(),
        "config": config,
        "quick": quick,
        "clip": [grid.frames, grid.height, grid.width],
        "patch": list(cfg.patch),
        "tokens": grid.tokens,
        "params": count_params(model),
        "gflops_per_forward": flops / 1e9,
        "dit_forward_ms": forward_s * 1e3,
        "dit_gflops_per_s": flops / forward_s / 1e9,
        "gemm_gflops_per_s": flops / gemm_s / 1e9,  # FLOP-weighted over the forward's GEMM shapes
        "gemm_ratio": gemm_s / forward_s,
        **vs_diffusers(cfg, device, reps),
        "ddim_steps": ddim_steps,
        "ddim50_seconds": ddim_s * 50 / ddim_steps,
        "ddim50_scaled_from_fewer_steps": ddim_steps != 50,
        **cpu_bf16_figures(model, clip, t, grid, reps=reps, ddim_steps=ddim_steps),
        **given_figures(model, grid, device, steps=2 if quick else 20, reps=2 if quick else 5),
        **compress_figures(model, grid, device, steps=2 if quick else 20, reps=2 if quick else 5),
        **pack_figures(cfg, device, reps=2 if quick else 5),
        **visitor_figures(cfg, device, steps=2 if quick else 10),
        **page_figures(quick),
    }
