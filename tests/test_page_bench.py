"""`python -m explainer bench-page`, as a smoke run with no browser: every figure comes back, sane (not
fast: timings are reported by the benchmark, not asserted)."""
import json

from explainer.cli import main
from explainer.page_bench import percentile, run_page_bench


def test_percentile_is_the_nearest_rank():
    values = [float(v) for v in range(1, 21)]
    assert percentile(values, 0.95) == 19.0 and percentile(values, 0.5) == 10.0 and percentile([3.0], 0.95) == 3.0


def test_a_smoke_run_of_the_page_bench_reports_every_figure():
    result = run_page_bench(visitors=2, rounds=1, opens=0, browser=False)
    assert result["visitors"] == 2 and result["rounds"] == 1
    assert 0 < result["open_p50_s"] <= result["open_p95_s"] <= result["open_max_s"]
    assert result["first_round_p95_s"] > 0 and result["server_up_s"] > 0
    assert "browser_first_figure_s" not in result
    json.dumps(result)


def test_the_command_passes_its_settings(monkeypatch, capsys):
    import explainer.page_bench

    calls = []
    monkeypatch.setattr(explainer.page_bench, "run_page_bench", lambda **kw: calls.append(kw) or {"visitors": 3})
    assert main(["bench-page", "--visitors", "3", "--rounds", "2", "--no-browser", "--json"]) == 0
    assert calls == [{"visitors": 3, "rounds": 2, "opens": 3, "browser": False}]
    assert json.loads(capsys.readouterr().out) == {"visitors": 3}
