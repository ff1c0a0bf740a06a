"""`python -m explainer gpu-check`: without CUDA one line and "cuda": false, exit status 0; the CUDA branch's
code run on the CPU device with a tiny budget, so a mistake in its plumbing shows without a GPU."""
from __future__ import annotations

import dataclasses
import functools
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from explainer import gpu_check

ROOT = Path(__file__).resolve().parents[1]
no_cuda = pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA: the check would run")


def gpu_check_command(*flags: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "GRADIO_ANALYTICS_ENABLED": "False"}
    return subprocess.run([sys.executable, "-m", "explainer", "gpu-check", *flags], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)


@no_cuda
def test_without_cuda_the_command_says_so_in_one_json_object_and_exits_0():
    done = gpu_check_command("--json")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.strip().splitlines()
    assert len(lines) == 1
    answer = json.loads(lines[0])
    assert answer["cuda"] is False
    assert "CUDA" in answer["note"]


@no_cuda
def test_without_cuda_the_command_says_so_in_one_line():
    done = gpu_check_command()
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == gpu_check.NO_CUDA


def test_with_cuda_the_whole_check_runs_on_cuda_with_the_full_budget(monkeypatch):
    asked = []
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(gpu_check, "check", lambda device, budget: asked.append((device, budget)) or {"cuda": True})
    assert gpu_check.run_gpu_check() == {"cuda": True}
    assert asked == [(torch.device("cuda"), gpu_check.FULL)]
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert gpu_check.run_gpu_check() == {"cuda": False, "note": gpu_check.NO_CUDA}


def test_bf16_against_float32_is_close_but_not_exact():
    from explainer.bench import randomised
    from explainer.dit import build_dit

    model = randomised(build_dit("tiny")).eval()  # its gates open, so its output is not all zeros
    error = gpu_check.bf16_error(model, torch.device("cpu"))
    assert 0 < error["relative_error"] < 0.05  # bf16 ran (not float32 twice), and ran the same model
    assert error["max_abs_error"] > 0


@pytest.fixture(scope="module")
def cpu_check():
    """The CUDA branch's check on the CPU with the smoke budget; the fit's two regenerations take 2 steps
    instead of 50 (they are the page's, timed on a GPU)."""
    from explainer.page import show_fit

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(show_fit, "regenerate", functools.partial(show_fit.regenerate, steps=2))
        return gpu_check.check(torch.device("cpu"), gpu_check.SMOKE)


@pytest.mark.slow
def test_the_check_runs_every_part_on_the_device_asked_for(cpu_check):
    result = cpu_check
    assert result["cuda"] is False and result["device"] == "cpu" and result["dtype"] == "float32"
    assert result["budget"] == dataclasses.asdict(gpu_check.SMOKE)
    assert 0 < result["bf16"]["relative_error"] < 0.05
    run = result["page_run"]  # through the page's own code: a line and two strips per step, and the video
    assert run["device"] == "cpu"
    assert run["steps"] == gpu_check.SMOKE.page_steps
    assert run["step_lines"] == run["model_calls"] >= 1  # a line for each DiT call
    assert run["pictures"] == 2 * run["step_lines"]
    assert 0 < run["first_step_s"] <= run["run_s"] and run["video"] and run["player_bytes"] > 0
    fit = result["fit"]
    assert fit["device"] == "cpu" and fit["steps"] >= 1 and fit["live_updates"] >= 1
    assert all(key in fit for key in ("prior_psnr_db", "fitted_psnr_db", "final_loss"))
    claims = result["claims"]
    assert claims["crop"]["native"]["steps"] == gpu_check.SMOKE.claim_steps
    assert set(claims["flicker"]) == {"clip_change", "spacetime_change", "frames_apart_change"}


@pytest.mark.slow
def test_the_check_holds_bench_figures_and_the_eight_visitors(cpu_check):
    pack, figures = cpu_check["pack"], cpu_check["bench"]
    assert pack["pack_max_abs_error"] < 1e-4  # the packed forward matches one forward per clip
    assert pack["pack_speedup"] > 0
    assert figures["config"] == "tiny" and figures["dit_forward_ms"] > 0 and figures["ddim50_seconds"] > 0
    assert figures["visitors"] == 8 and figures["visitor_steps"] == gpu_check.SMOKE.visitor_steps
    for way in ("one_at_a_time", "batched", "mixed_one_at_a_time", "mixed_packed"):
        everyone, median, slowest = figures[f"visitors_{way}_s"]
        assert 0 < median <= everyone and slowest <= everyone
    json.dumps(cpu_check)  # one JSON object


@pytest.mark.slow
def test_the_summary_names_the_device_and_each_part(cpu_check):
    text = gpu_check.summary({**cpu_check, "cuda": True})
    assert text.splitlines()[0].startswith(cpu_check["name"])
    for words in ("bf16 against float32", "page's run", "fit:", "packed forward", "eight visitors"):
        assert words in text
    assert gpu_check.summary({"cuda": False, "note": gpu_check.NO_CUDA}) == gpu_check.NO_CUDA
