"""Prometheus and Alertmanager are not open to tenants (issue 12): from a division host, without
credentials, a query, a silence and Prometheus' lifecycle endpoints are refused; the operator,
with the login from the stack outputs, queries and creates then expires a silence.

Written for the e2e stack; run with the rest of tests/e2e (it needs the docker engine)."""

from __future__ import annotations

import datetime
import json

import docker
import pytest

from tests.e2e.test_stack import http_json

pytestmark = [pytest.mark.docker, pytest.mark.e2e]
REFUSED = {"000", "401", "403"}  # unreachable (segmented away), unauthenticated, lifecycle off


def division_hosts(stack) -> list:
    client = docker.from_env()
    found = client.containers.list(filters={"label": [f"novaops.stack={stack.name}", "novaops.role=division"]})
    assert found, "no division host runs"
    return found


def status_from(container, method: str, url: str, body: str | None = None) -> str:
    """The HTTP status a tenant's plain curl gets (000: no connection), run inside ``container``."""
    cmd = ["curl", "-s", "-o", "/dev/null", "-m", "5", "-w", "%{http_code}", "-X", method, url]
    if body is not None:
        cmd += ["-H", "Content-Type: application/json", "--data", body]
    return container.exec_run(cmd).output.decode().strip()


def silence(minutes: int = 5) -> dict:
    now = datetime.datetime.now(datetime.UTC)
    return {
        "matchers": [{"name": "alertname", "value": "NovaopsAuthE2E", "isRegex": False}],
        "startsAt": now.isoformat(),
        "endsAt": (now + datetime.timedelta(minutes=minutes)).isoformat(),
        "createdBy": "e2e",
        "comment": "test_monitoring_auth",
    }


def test_a_division_host_cannot_query_silence_or_stop_monitoring(stack):
    prometheus = f"http://novaops-{stack.name}-prometheus:9090"
    alertmanager = f"http://novaops-{stack.name}-alertmanager:9093"
    attempts = {
        "prometheus query": ("GET", f"{prometheus}/api/v1/query?query=up", None),
        "prometheus /-/quit": ("POST", f"{prometheus}/-/quit", None),
        "prometheus /-/reload": ("POST", f"{prometheus}/-/reload", None),
        "alertmanager silence": ("POST", f"{alertmanager}/api/v2/silences", json.dumps(silence())),
    }
    for host in division_hosts(stack):
        got = {what: status_from(host, *how) for what, how in attempts.items()}
        assert set(got.values()) <= REFUSED, f"{host.name}: {got}"
    login = stack.monitoring_login
    port = int(stack.outputs["monitoring"]["prometheus"].rsplit(":", 1)[1])
    assert http_json(port, "/api/v1/query?query=up", auth=login)["status"] == "success", "Prometheus still up"


def test_the_operator_queries_and_creates_then_expires_a_silence(stack):
    login = stack.monitoring_login
    assert login, "the stack outputs carry the operator's login"
    prometheus = int(stack.outputs["monitoring"]["prometheus"].rsplit(":", 1)[1])
    assert http_json(prometheus, "/api/v1/query?query=up", auth=login)["data"]["result"]
    am = int(stack.outputs["monitoring"]["alertmanager"].rsplit(":", 1)[1])
    created = http_json(am, "/api/v2/silences", silence(), auth=login)["silenceID"]
    try:
        listed = http_json(am, "/api/v2/silences", auth=login)
        assert any(s["id"] == created and s["status"]["state"] == "active" for s in listed)
    finally:
        from tools.http_json import http_json as raw

        raw(f"http://127.0.0.1:{am}/api/v2/silence/{created}", method="DELETE", auth=login)
    state = {s["id"]: s["status"]["state"] for s in http_json(am, "/api/v2/silences", auth=login)}
    assert state[created] == "expired"
