"""tests/bench/health_bench.py: the workload runner is bounded; rows come from the histogram queries."""

from __future__ import annotations

import math
import time

from tests.bench import health_bench


def test_a_workload_is_stopped_at_the_end_of_the_window():
    started = time.monotonic()
    start, end, code = health_bench.run_during("sleep 60", 1)
    assert code is None and 0.9 <= end - start < 3
    assert time.monotonic() - started < 15
    _, _, code = health_bench.run_during("sh -c 'exit 3'", 5)
    assert code == 3


def test_rows_per_tier_and_overall(monkeypatch):
    seen = []

    def fake_query(prometheus, expr, at, login=None):
        seen.append(expr)
        if "histogram_quantile" in expr:
            scale = 1 if "0.5," in expr else 10
            return (
                {"all": 0.002 * scale} if "by (le)" in expr else {"working": 0.001 * scale, "episodic": 0.004 * scale}
            )
        if "count" in expr:
            return {"working": 36.0, "episodic": 36.0}
        return {"working": 1.0, "episodic": 0.5}

    monkeypatch.setattr(health_bench, "query", fake_query)
    rows = health_bench.measure("http://p", 60, 1000.0)
    assert [r["tier"] for r in rows] == ["episodic", "working", "all tiers"]
    assert math.isclose(rows[1]["p50_ms"], 1) and math.isclose(rows[1]["p99_ms"], 10)
    assert rows[2]["probes"] == 72 and rows[2]["success"] == 0.75 and math.isclose(rows[2]["p99_ms"], 20)
    assert all("[60s]" in e for e in seen)
    table = health_bench.render(rows, "t")
    assert "episodic" in table and "50.00%" in table
