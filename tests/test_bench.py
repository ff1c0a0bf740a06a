"""`python -m explainer bench`: a quick smoke run returns every figure, with sane values (not speed)."""
import json
import math

from explainer.bench import run_bench
from explainer.cli import main

KEYS = {"device", "config", "tokens", "params", "dit_forward_ms", "dit_gflops_per_s", "gemm_gflops_per_s",
        "gemm_ratio", "vs_diffusers_ratio", "ddim50_seconds", "ddim_steps", "quick", "page_first_step_s",
        "page_run_over_model", "pack_max_abs_error", "pack_speedup", "pack_attention_ms",
        "visitors_one_at_a_time_s", "visitors_batched_s", "visitors_mixed_one_at_a_time_s", "visitors_mixed_packed_s",
        "given_over_plain", "given_ms", "compress_over_denoise", "compress_ms"}


def test_quick_bench_reports_every_figure():
    result = run_bench(config="tiny", quick=True)
    assert KEYS <= result.keys()
    assert result["tokens"] == 8 * 9 * 16 == 1152 and result["clip"] == [16, 72, 128]
    assert result["quick"] and result["ddim_steps"] < 50 and result["ddim50_scaled_from_fewer_steps"]
    for key in ("dit_forward_ms", "dit_gflops_per_s", "gemm_gflops_per_s", "gemm_ratio", "ddim50_seconds"):
        assert math.isfinite(result[key]) and result[key] > 0, key
    assert result["compress_over_denoise"] > 0 and result["compress_steps"] >= 2
    assert result["given_over_plain"] > 0 and all(ms > 0 for ms in result["given_ms"]) and result["given_steps"] >= 2
    assert result["vs_diffusers_ratio"] is None or result["vs_diffusers_ratio"] > 0
    # the ratio is a timing (a smoke run times each way once, so a busy machine can put it either side of 1)
    assert 0 < result["page_first_step_s"] < result["page_run_seconds"] and math.isfinite(result["page_run_over_model"])
    assert result["page_run_over_model"] > 0
    assert result["pack_max_abs_error"] <= 1e-4 and result["pack_speedup"] > 0
    assert result["pack_tokens"] == [1152, 1152, 2048, 144] and result["pack_attention_used"] == "per_clip"
    assert {"dense_mask", "per_clip"} <= result["pack_attention_ms"].keys()
    assert result["page_run_steps"] == 4 and result["page_run_bytes"] > 0  # 10 steps from the clip at 0.4
    for key in ("visitors_one_at_a_time_s", "visitors_batched_s", "visitors_mixed_one_at_a_time_s",
                "visitors_mixed_packed_s"):
        done, median, p95 = result[key]
        assert 0 < median <= p95 <= done, key
    json.dumps(result)  # the CLI prints it as JSON


def test_bench_command_prints_one_json_object(capsys, monkeypatch):
    import explainer.bench

    calls = []
    monkeypatch.setattr(explainer.bench, "run_bench", lambda **kw: calls.append(kw) or {"device": "cpu"})
    assert main(["bench", "--config", "tiny", "--quick", "--json"]) == 0
    assert calls == [{"config": "tiny", "quick": True}]
    assert json.loads(capsys.readouterr().out) == {"device": "cpu"}


def test_unknown_config_is_one_error_line(capsys):
    assert main(["bench", "--config", "huge", "--quick"]) == 2
    error = capsys.readouterr().err
    assert error.startswith("error: argument --config: invalid choice: 'huge'") and len(error.splitlines()) == 1
    assert all(name in error for name in ("tiny", "default", "large"))


def test_unknown_config_is_refused_by_run_bench_too():
    import pytest

    from explainer.errors import ExplainerError

    with pytest.raises(ExplainerError, match="unknown config 'huge'"):
        run_bench(config="huge", quick=True)
