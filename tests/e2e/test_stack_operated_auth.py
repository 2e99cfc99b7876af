"""Authenticated control planes, tried from a division host on the converged stack: etcd refuses an
unauthenticated range read of `/` and a write, Patroni refuses PATCH /config, POST /switchover and
POST /restart without credentials (401), and an operator holding the stack's secrets is let in.
Runs after test_stack_operated.py (etcd's auth is enabled by the etcd_cluster role)."""

from __future__ import annotations

import base64
import json
import shlex

import pytest

from tests.e2e.conftest import STACK, needs_converge, patroni_tiers
from tests.e2e.test_stack_operated import host

pytestmark = [pytest.mark.docker, pytest.mark.e2e, needs_converge]

ETCD_TIER = "coordination"
EVERYTHING = {"key": base64.b64encode(b"/").decode(), "range_end": base64.b64encode(b"\0").decode()}


def _division_using(stack, tier: str) -> str:
    """A division host whose catalog `uses` names ``tier`` (the one that may reach it)."""
    from components.model import build_topology
    from components.stack_files import load_stack_file

    topology = build_topology(stack.name, load_stack_file(stack.name))
    return next(d.service.container for d in topology.divisions.values() if tier in d.uses)


def _curl(division, method: str, url: str, body: dict | None = None, *, auth: str | None = None, headers=()) -> tuple:
    """(HTTP status, body) of a request sent from the division host. Test-only credentials reach
    curl through its stdin config (-K -), not its argv."""
    config = f'user = "{auth}"\n' if auth else ""
    args = ["curl", "-sS", "-K", "-", "-X", method, "-o", "/dev/stdout", "-w", "\\n%{http_code}", url]
    for h in headers:
        args += ["-H", h]
    if body is not None:
        args += ["-H", "Content-Type: application/json", "-d", json.dumps(body)]
    out = division.check_output(f"printf %s {shlex.quote(config)} | {shlex.join(args)}")
    text, _, code = out.rpartition("\n")
    return int(code), text


def _etcd(stack) -> str:
    first = next(iter(stack.members(ETCD_TIER).values()))
    return f"http://{first['container']}:2379"


ETCD_AUTH_HELD_BACK = pytest.mark.skip(
    reason="etcd auth held back: Patroni 4.0.7 cannot start with a login while etcd's auth is off "
    "(patroni/patroni#3525); on once the etcd tier enables auth at bootstrap"
)


@ETCD_AUTH_HELD_BACK
def test_etcd_refuses_unauthenticated_reads_and_writes(stack, converged):
    division = host(stack, _division_using(stack, ETCD_TIER))
    code, text = _curl(division, "POST", f"{_etcd(stack)}/v3/kv/range", EVERYTHING)
    assert "user name is empty" in text and '"kvs"' not in text, (code, text)
    put = {"key": base64.b64encode(b"/novaops/intruder").decode(), "value": base64.b64encode(b"x").decode()}
    code, text = _curl(division, "POST", f"{_etcd(stack)}/v3/kv/put", put)
    assert "user name is empty" in text and '"header"' not in text, (code, text)


@ETCD_AUTH_HELD_BACK
def test_etcd_lets_the_operator_in(stack, converged):
    division = host(stack, _division_using(stack, ETCD_TIER))
    login = {"name": "root", "password": stack.secret(ETCD_TIER, "root")}
    code, text = _curl(division, "POST", f"{_etcd(stack)}/v3/auth/authenticate", login)
    assert code == 200, text
    token = json.loads(text)["token"]
    code, text = _curl(division, "POST", f"{_etcd(stack)}/v3/kv/range", EVERYTHING, headers=[f"Authorization: {token}"])
    keys = [base64.b64decode(kv["key"]).decode() for kv in json.loads(text).get("kvs", [])]
    assert code == 200 and any(k.startswith(f"/novaops/{STACK}-") for k in keys), text


@pytest.mark.parametrize("tier", patroni_tiers())
def test_patroni_refuses_unsafe_calls_without_credentials(stack, converged, tier):
    division = host(stack, _division_using(stack, tier))
    api = f"http://{next(iter(stack.members(tier).values()))['container']}:8008"
    for method, path, body in (
        ("PATCH", "/config", {"ttl": 30}),
        ("POST", "/switchover", {"leader": "nobody"}),
        ("POST", "/restart", {"role": "nobody"}),
    ):
        code, text = _curl(division, method, api + path, body)
        assert code == 401, (tier, method, path, code, text)


@pytest.mark.parametrize("tier", patroni_tiers())
def test_patroni_lets_the_operator_in(stack, converged, tier):
    division = host(stack, _division_using(stack, tier))
    api = f"http://{next(iter(stack.members(tier).values()))['container']}:8008"
    auth = f"novaops:{stack.secret(tier, 'restapi')}"
    code, text = _curl(division, "GET", api + "/config")
    ttl = json.loads(text)["ttl"]
    # The same ttl: allowed and changes nothing.
    code, text = _curl(division, "PATCH", api + "/config", {"ttl": ttl}, auth=auth)
    assert code == 200, (code, text)
    # Past authentication, refused on their merits (no such leader, no member of that role): not 401.
    for path, body in (("/switchover", {"leader": "nobody"}), ("/restart", {"role": "nobody"})):
        code, text = _curl(division, "POST", api + path, body, auth=auth)
        assert code not in (401, 403) and code >= 400, (path, code, text)
