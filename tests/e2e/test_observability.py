"""Observability on the live stack: every database service is probed at the protocol level, and
`make status` reports the healthy stack, then names a stopped replica (restored afterwards).

Adds about 3 minutes to the e2e session (most of it waiting for the stopped replica to rejoin)."""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.parse

import docker
import pytest

from tests.e2e.conftest import ROOT, eventually, patroni_tiers
from tests.e2e.test_stack import http_json

pytestmark = [pytest.mark.docker, pytest.mark.e2e]


def prometheus_port(stack) -> int:
    return int(stack.outputs["monitoring"]["prometheus"].rsplit(":", 1)[1])


def instant(stack, expr: str) -> dict[str, float]:
    path = "/api/v1/query?" + urllib.parse.urlencode({"query": expr})
    result = http_json(prometheus_port(stack), path, auth=stack.monitoring_login)
    return {r["metric"]["service"]: float(r["value"][1]) for r in result["data"]["result"]}


def database_services(stack) -> set[str]:
    return {m for t in stack.outputs["tiers"].values() for m in t["members"]}


def test_every_database_service_answers_its_protocol_probe(stack):
    services = database_services(stack)
    assert len(services) == 19
    # Replicas clone from their primary after the stack is up: allow them time to answer.
    success = eventually(
        lambda: (
            (s := instant(stack, "novaops_probe_success"))
            and set(s) == services
            and all(v == 1 for v in s.values())
            and s
        ),
        240,
        5,
        what="novaops_probe_success == 1 for all 19 services",
    )
    assert set(success) == services
    # A histogram per service, with the 100 ms bucket the latency SLO reads.
    counts = instant(stack, "novaops_probe_duration_seconds_count")
    under_100ms = instant(stack, 'novaops_probe_duration_seconds_bucket{le="0.1"}')
    assert set(counts) == set(under_100ms) == services
    assert all(v > 0 for v in counts.values()), counts
    kinds = http_json(
        prometheus_port(stack),
        "/api/v1/query?" + urllib.parse.urlencode({"query": "count by (kind) (novaops_probe_success)"}),
        auth=stack.monitoring_login,
    )["data"]["result"]
    assert {r["metric"]["kind"]: int(r["value"][1]) for r in kinds} == {
        "patroni": 10,
        "valkey": 3,
        "nats": 3,
        "etcd": 3,
    }


def run_status(stack) -> tuple[int, dict]:
    run = subprocess.run(
        [sys.executable, "-m", "tools.status", "--stack", stack.name, "--json"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode in (0, 1), run.stderr
    return run.returncode, json.loads(run.stdout)


def test_status_reports_healthy_then_names_a_stopped_replica(stack):
    def healthy():
        code, report = run_status(stack)
        return code == 0 and report

    report = eventually(healthy, 240, 10, what="make status exits 0 on the healthy stack")
    listed = {s["service"] for t in report["tiers"] for s in t["services"]}
    assert database_services(stack) <= listed
    assert all(t["leader"] for t in report["tiers"]), report

    tier = patroni_tiers(stack.name)[0]
    replica = next(
        s
        for t in report["tiers"]
        if t["tier"] == tier
        for s in t["services"]
        if s["role"] in ("replica", "sync_standby")
    )
    container = docker.from_env().containers.get(replica["container"])
    container.stop(timeout=30)
    try:

        def degraded():
            code, report = run_status(stack)
            named = [p for p in report["problems"] if p.startswith(f"{replica['service']}:")]
            return code == 1 and named and report

        report = eventually(degraded, 90, 5, what=f"make status names the stopped {replica['service']}")
        assert not report["healthy"]
        stopped = next(s for t in report["tiers"] for s in t["services"] if s["service"] == replica["service"])
        assert stopped["healthy"] is False and stopped["problems"], stopped
    finally:
        container.start()
    eventually(healthy, 240, 10, what=f"make status exits 0 again once {replica['service']} is back")
