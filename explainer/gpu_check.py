"""`python -m explainer gpu-check`: the CUDA path end to end, as one JSON object.

On a machine with CUDA it runs, on the GPU, each thing the page and the command line ask of the model:
the forward in bf16 against the same forward in float32, the page's default denoising run through the
page's own code (`show_run.lanes_for` and `stream_denoising`), a short fit through the page's fit
(`show_fit.fit_to`), the three claims with a small step budget (`claims.measure_claims`), the packed forward
against one forward per clip, and bench's figures (its forward against plain matmul, a DDIM trajectory, and
eight visitors sharing the model one at a time or batched). Without CUDA it says so and checks nothing.

Every part takes the device it runs on and a `CheckBudget`, so the same code runs on the CPU with a tiny
budget: a mistake in the plumbing (a tensor left on the wrong device, a figure missing) shows without a GPU.
"""
from __future__ import annotations

import copy
import platform
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import torch

from . import bench
from .device import compute_dtype, cpu_bf16, synchronize
from .dit import build_dit, count_params, forward_flops, get_config


@dataclass(frozen=True)
class CheckBudget:
    """How much each part of the check runs: `FULL` on a GPU, `SMOKE` to test the plumbing on the CPU."""

    config: str = "default"        # model size of bench's figures (the page's parts use the shipped prior)
    reps: int = 20                 # timed repetitions of bench's figures
    ddim_steps: int = 50           # a DDIM trajectory's steps (bench scales to 50)
    visitor_steps: int = 10        # DiT calls of each visitor's run in the eight-visitors table
    page_steps: int = 50           # the page's default run
    fit_seconds: float = 10.0      # the short fit
    claim_steps: int = 30          # training steps of each of the claims' three fits
    claim_sampling_steps: int = 10  # DDIM steps of what the claims' copies make


FULL = CheckBudget()
SMOKE = CheckBudget(config="tiny", reps=1, ddim_steps=2, visitor_steps=1, page_steps=2, fit_seconds=1.0,
                    claim_steps=1, claim_sampling_steps=2)


def machine(device: torch.device) -> dict:
    """What the check ran on: the GPU by name (or the CPU), torch and its CUDA."""
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else (platform.processor() or "cpu")
    return {"device": str(device), "name": name, "dtype": str(compute_dtype(device)).removeprefix("torch."),
            "torch": torch.__version__, "torch_cuda": torch.version.cuda}


# --- the model's number format -------------------------------------------------------------------------

def bf16_error(model, device: torch.device, seed: int = 0) -> dict:
    """The forward in bf16 autocast on `device` against the same weights in float32 on the CPU, on a seeded
    clip of bench's default size at t = 500: relative error ||bf16 - fp32|| / ||fp32||, and the largest
    difference. (On the CPU, bf16 is the opt-in autocast; on CUDA it is what the model always runs in.)"""
    grid = bench.default_grid(model.config.patch)
    clip = torch.randn(1, grid.frames, grid.height, grid.width, grid.channels,
                       generator=torch.Generator().manual_seed(seed))
    t = torch.full((1,), 500)
    with torch.inference_mode():
        with cpu_bf16(False):
            exact = _on(model, torch.device("cpu"))(clip, t).float()  # (1, T, H, W, C)
        with cpu_bf16(True):
            low = _on(model, device)(clip.to(device), t.to(device)).float().cpu()
    return {"relative_error": float((low - exact).norm() / exact.norm()),
            "max_abs_error": float((low - exact).abs().max()), "tokens": grid.tokens}


def _on(model, device: torch.device):
    """`model` on `device`: itself when it is there, else a copy (the page's model stays where it is)."""
    if next(model.parameters()).device.type == device.type:
        return model
    return copy.deepcopy(model).to(device)


# --- the page's own code -------------------------------------------------------------------------------

def page_run(steps: int) -> dict:
    """The page's default denoising run on the wide sample, through the page's code, after a short warm-up
    run: seconds from the press to the first step's line, the whole run (every step's pictures, the kept
    run and its video), the DiT calls it made (the default run starts part-way into the noise, so fewer
    than its steps), the step lines and pictures it sent, and the device the page's model is on."""
    from .assets import sample_file
    from .page import show_run

    path = sample_file("wide")
    model = show_run.prior_model()
    clip = show_run.working_clip(str(path), show_run.WORKING_SIDE, None, model.config.patch)
    on_show = {"clip": clip, "path": str(path)}  # the page's session keeps the clip it read
    _stream(show_run, str(path), on_show, 2)  # warm: kernels, allocator
    return {**_stream(show_run, str(path), on_show, steps), "device": str(next(model.parameters()).device)}


def _stream(show_run, path: str, on_show: dict, steps: int) -> dict:
    """One run as the page streams it, timed; what it sent, counted."""
    device = next(show_run.prior_model().parameters()).device
    synchronize(device)
    started = time.perf_counter()
    lanes = show_run.lanes_for(path, show_run.sampler_settings(steps=steps), show_run.MODELS[0], None, on_show,
                               show_run.DENOISE["compare"])
    first_step_s, step_lines, pictures, run = None, 0, 0, None
    for update in show_run.stream_denoising(lanes, Path(path).name):
        if isinstance(update, show_run.Run):
            run = update
            continue
        if "index" in update:  # a step's line: its two strips of the whole reel
            step_lines += 1
            pictures += sum(key in update for key in ("x_t", "x0_hat"))
            if first_step_s is None:
                synchronize(device)
                first_step_s = time.perf_counter() - started
    synchronize(device)
    return {"steps": steps, "first_step_s": first_step_s, "run_s": time.perf_counter() - started,
            "model_calls": run.summary["model_calls"], "step_lines": step_lines, "pictures": pictures,
            "player_bytes": len(run.player),
            "video": bool(run.video) and Path(run.video).is_file()}


def page_fit(seconds: float, seed: int = 0) -> dict:
    """A short fit through the page's fit (`show_fit.fit_to`) on the wide sample: its steps, the live
    updates it sent, and both models' regenerations scored against the clip."""
    from .assets import sample_file
    from .page import show_fit

    started, updates, done = time.perf_counter(), 0, None
    for update in show_fit.fit_to(str(sample_file("wide")), seconds, seed):
        if isinstance(update, show_fit.Fitted):
            done = update
        else:
            updates += 1
    summary = done.summary
    return {"seconds": summary["seconds"], "steps": summary["steps"],
            "steps_per_s": summary["steps"] / max(summary["seconds"], 1e-9), "live_updates": updates,
            "final_loss": summary["final_loss"], "prior_psnr_db": summary["prior_psnr_db"],
            "fitted_psnr_db": summary["fitted_psnr_db"], "wall_s": time.perf_counter() - started,
            "device": str(next(done.fitted["model"].parameters()).device)}


def claims_run(budget: CheckBudget, seed: int = 0) -> dict:
    """Both claims on the wide sample with a step budget (the same numbers on any machine for a seed, up to
    the number format), the page's model on the page's device."""
    from .assets import sample_file
    from .claims import measure_claims
    from .page.show_run import prior_model

    claims = measure_claims(sample_file("wide"), model=prior_model(), steps=budget.claim_steps, seed=seed,
                            sampling_steps=budget.claim_sampling_steps)
    summary = claims.summary
    return {"steps": budget.claim_steps, "sampling_steps": budget.claim_sampling_steps,
            "wall_seconds": summary["wall_seconds"], "crop": summary["crop"],
            "flicker": {key: summary["frames"][key] for key in ("clip_change", "spacetime_change",
                                                                "frames_apart_change")}}


# --- bench's figures, on the device asked for ------------------------------------------------------------

def bench_figures(device: torch.device, budget: CheckBudget) -> dict:
    """bench's figures on `device`: the forward against torch's matmul at its GEMM shapes, against
    diffusers' DiT, a DDIM trajectory, and the eight visitors one at a time, batched and packed."""
    cfg = get_config(budget.config)
    grid = bench.default_grid(cfg.patch)
    model = build_dit(cfg, device=device).eval()
    clip = torch.randn(1, grid.frames, grid.height, grid.width, grid.channels, device=device)
    t = torch.full((1,), 500, device=device)
    with torch.inference_mode():
        forward_s, gemm_s = bench.alternate([lambda: model(clip, t), bench.gemm_pass(cfg, grid.tokens, device)],
                                            device, budget.reps)
    flops = forward_flops(cfg, grid.tokens)
    ddim_s = bench.ddim_seconds(model, grid, device, budget.ddim_steps)
    return {"config": budget.config, "tokens": grid.tokens, "params": count_params(model),
            "dit_forward_ms": forward_s * 1e3, "dit_gflops_per_s": flops / forward_s / 1e9,
            "gemm_ratio": gemm_s / forward_s, **bench.vs_diffusers(cfg, device, budget.reps),
            "ddim50_seconds": ddim_s * 50 / budget.ddim_steps,
            **bench.visitor_figures(cfg, device, steps=budget.visitor_steps)}


# --- the whole check -------------------------------------------------------------------------------------

def check(device: torch.device, budget: CheckBudget = FULL) -> dict:
    """Every part of the check on `device` (the page's parts on the page's own device, which they report),
    as one dict: "cuda" says whether it ran on a GPU."""
    from .page.show_run import prior_model

    started = time.perf_counter()
    result = {"cuda": device.type == "cuda", **machine(device), "budget": asdict(budget),
              "bf16": bf16_error(prior_model(), device),
              "page_run": page_run(budget.page_steps),
              "fit": page_fit(budget.fit_seconds),
              "claims": claims_run(budget),
              "pack": bench.pack_figures(get_config(budget.config), device, reps=max(1, budget.reps // 4)),
              "bench": bench_figures(device, budget)}
    result["wall_s"] = time.perf_counter() - started
    return result


NO_CUDA = "no CUDA device here: nothing to check (bench measures the CPU)"


def run_gpu_check(budget: CheckBudget = FULL) -> dict:
    """The check on CUDA where there is one; without, {"cuda": false} and why."""
    if not torch.cuda.is_available():
        return {"cuda": False, "note": NO_CUDA}
    return check(torch.device("cuda"), budget)


def summary(result: dict) -> str:
    """The check in a few lines (one without CUDA)."""
    if not result["cuda"]:
        return result["note"]
    run, fit, visitors = result["page_run"], result["fit"], result["bench"]
    return "\n".join([
        f"{result['name']} ({result['device']}, {result['dtype']}, torch {result['torch']}, CUDA "
        f"{result['torch_cuda']})",
        f"bf16 against float32: relative error {result['bf16']['relative_error']:.2e}",
        f"page's run: first step {run['first_step_s']:.2f} s, {run['model_calls']} DiT calls in {run['run_s']:.2f} s, "
        f"{run['pictures']} pictures",
        f"fit: {fit['steps']} steps in {fit['seconds']:.0f} s; prior {fit['prior_psnr_db']:.1f} dB, fitted "
        f"{fit['fitted_psnr_db']:.1f} dB",
        f"packed forward: {result['pack']['pack_speedup']:.2f}x the four apart, largest difference "
        f"{result['pack']['pack_max_abs_error']:.1e}",
        f"eight visitors, all done: one at a time {visitors['visitors_one_at_a_time_s'][0]:.2f} s, batched "
        f"{visitors['visitors_batched_s'][0]:.2f} s",
        f"took {result['wall_s']:.0f} s"])
