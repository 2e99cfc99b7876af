"""Benchmark: health-check latency per tier, from novaops-prober's histograms. Prints, asserts nothing.

    python -m tests.bench.health_bench [--stack dev] [--window 300]             (make bench-health)
    python -m tests.bench.health_bench --during "python -m tools.novaload ..." --window 300

Idle: the last --window seconds of probes (the stack must have been up that long).
--during CMD: runs CMD (a workload) and measures the --window seconds while it runs; CMD is
stopped at the end of the window (SIGTERM, then SIGKILL after 10 s) if it has not exited.

p50/p99 come from histogram_quantile over the summed bucket increases of the window, so they
are interpolated within the prober's buckets (1, 2.5, 5, 7.5, 10, 15, 20, 30, 50, 75, 100 ms ...).
A failed probe is observed as its full timeout.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import signal
import subprocess
import sys
import time
import urllib.parse

from tools.http_json import http_json

QUANTILE = "histogram_quantile({q}, sum by (tier, le) (increase(novaops_probe_duration_seconds_bucket[{w}s])))"
PROBES = "sum by (tier) (increase(novaops_probe_duration_seconds_count[{w}s]))"
SUCCESS = "avg by (tier) (avg_over_time(novaops_probe_success[{w}s]))"
MIN_WINDOW_S = 60  # four scrapes at the 15 s interval
MAX_WINDOW_S = 3600


def query(prometheus: str, expr: str, at: float, login: tuple[str, str] | None = None) -> dict[str, float]:
    url = f"{prometheus}/api/v1/query?" + urllib.parse.urlencode({"query": expr, "time": f"{at:.3f}"})
    answer = http_json(url, timeout=30, auth=login)
    if answer.get("status") != "success":
        raise RuntimeError(f"Prometheus refused {expr!r}: {answer.get('error')}")
    return {r["metric"].get("tier", "all"): float(r["value"][1]) for r in answer["data"]["result"]}


def measure(prometheus: str, window: int, end: float, login: tuple[str, str] | None = None) -> list[dict]:
    """One row per tier and one over every probe of the window ending at ``end``; ``login``: the
    operator's (user, password) for Prometheus' basic auth."""

    def ask(expr: str) -> dict[str, float]:
        return query(prometheus, expr, end, login)

    def quantile(q: float, by: str) -> dict[str, float]:
        return ask(QUANTILE.format(q=q, w=window).replace("by (tier, le)", f"by ({by})"))

    p50, p99 = quantile(0.5, "tier, le"), quantile(0.99, "tier, le")
    all50, all99 = quantile(0.5, "le"), quantile(0.99, "le")
    probes = ask(PROBES.format(w=window))
    success = ask(SUCCESS.format(w=window))
    nan = float("nan")
    rows = [
        {
            "tier": t,
            "probes": round(probes[t]),
            "success": success.get(t),
            "p50_ms": p50.get(t, nan) * 1000,
            "p99_ms": p99.get(t, nan) * 1000,
        }
        for t in sorted(probes)
    ]
    rows.append(
        {
            "tier": "all tiers",
            "probes": round(sum(probes.values())),
            "success": sum(success.values()) / len(success) if success else None,
            "p50_ms": all50.get("all", nan) * 1000,
            "p99_ms": all99.get("all", nan) * 1000,
        }
    )
    return rows


def run_during(command: str, window: int) -> tuple[float, float, int | None]:
    """Run ``command`` for at most ``window`` seconds; (start, end, its exit code or None if stopped)."""
    proc = subprocess.Popen(shlex.split(command), start_new_session=True)
    start = time.time()
    try:
        code = proc.wait(timeout=window)
    except subprocess.TimeoutExpired:
        code = None
    end = time.time()
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
    return start, end, code


def render(rows: list[dict], title: str) -> str:
    lines = [title, f"{'tier':<14} {'probes':>7} {'success':>8} {'p50':>9} {'p99':>9}"]
    for r in rows:
        success = f"{r['success'] * 100:.2f}%" if r["success"] is not None else "-"
        lines.append(f"{r['tier']:<14} {r['probes']:>7} {success:>8} {r['p50_ms']:>6.2f} ms {r['p99_ms']:>6.2f} ms")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--stack", default=os.environ.get("STACK", "dev"))
    parser.add_argument(
        "--window", type=int, default=300, help=f"seconds measured ({MIN_WINDOW_S}..{MAX_WINDOW_S}, default 300)"
    )
    parser.add_argument("--during", metavar="CMD", help="a workload command to measure under (stopped after --window)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    if not MIN_WINDOW_S <= args.window <= MAX_WINDOW_S:
        parser.error(f"--window must be from {MIN_WINDOW_S} to {MAX_WINDOW_S} seconds (got {args.window})")
    from tools.novaload.endpoints import monitoring_login
    from tools.status import stack_outputs

    outputs = stack_outputs(args.stack)
    prometheus = (outputs.get("monitoring") or {}).get("prometheus")
    if not prometheus:
        print(f"health_bench: stack {args.stack!r} publishes no Prometheus address", file=sys.stderr)
        return 2
    if args.during:
        start, end, code = run_during(args.during, args.window)
        window = int(end - start)
        if window < MIN_WINDOW_S:
            print(
                f"health_bench: {args.during!r} ran {window} s (exit {code}); at least {MIN_WINDOW_S} s are needed",
                file=sys.stderr,
            )
            return 1
        time.sleep(20)  # the last scrape of the window lands in Prometheus
        title = f"stack {args.stack}: probe latency over {window} s while running {args.during!r}" + (
            f" (exit {code})" if code is not None else " (stopped at the end of the window)"
        )
    else:
        end, window = time.time(), args.window
        title = f"stack {args.stack}: probe latency over the last {window} s (idle unless something else ran)"
    rows = measure(prometheus, window, end, monitoring_login(outputs))
    if args.json:
        print(json.dumps({"stack": args.stack, "window_s": window, "during": args.during, "tiers": rows}, indent=2))
    else:
        print(render(rows, title))
    return 0


if __name__ == "__main__":
    sys.exit(main())
