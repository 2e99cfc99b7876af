"""Failed logins are refused, counted and change nothing (issue: tenants isolated and authenticated).

From a division host, as its user, with the user of its connection file and a wrong password, 30
logins on one tier of each database engine it uses (PostgreSQL through the router, Valkey, NATS,
etcd): every one is refused with the engine's clear answer, the engine's own failed-login count in
Prometheus rises by at least 30 on that tier, AuthFailuresHigh goes pending (or fires) for that
tier and engine, and the same logins with the right password still work. Prints the table. Runs
after test_stack_operated.py (the converged stack)."""

from __future__ import annotations

import re
import urllib.parse

import pytest

from tests.e2e.conftest import eventually, needs_converge
from tests.e2e.test_observability import prometheus_port
from tests.e2e.test_stack import http_json
from tests.e2e.test_stack_operated_forbidden import _port, is_success, probe

pytestmark = [pytest.mark.docker, pytest.mark.e2e, needs_converge]

ATTEMPTS = 30
# What each engine answers a wrong password (psql's message, Valkey's reply, NATS's -ERR, etcd's 400).
WRONG_PASSWORD = re.compile(
    r"password authentication failed|WRONGPASS|Authorization Violation|login refused: 40[01] .*authentication failed"
)
# engine (kind) -> the recording rule's engine label (novaops-security.yml)
ENGINES = {"patroni": "postgresql", "valkey": "valkey", "nats": "nats", "etcd": "etcd"}


def login_actions(topology, division, tier) -> list[tuple[dict, str]]:
    """Logins of ``division`` on ``tier`` with its connection file (a command that needs each), and
    the failed-login counter in Prometheus that must count them."""
    base = {"tier": tier.key}
    first = tier.members[0]

    def resp(port: str, command: list[str]) -> dict:
        target = f"{division.key} -> {tier.key} {port}"
        where = {"host": first.container, "port": _port(first, port)}
        return {**base, **where, "target": target, "op": "resp", "as_division": True, "command": command}

    build = {
        "patroni": lambda: [
            ({**base, "target": f"{division.key} -> {tier.key}", "op": "psql"}, "postgresql_auth_failures_total{}")
        ],
        "valkey": lambda: [
            (resp("valkey", ["PING"]), 'redis_acl_access_denied_auth_total{job="valkey"}'),
            # the division's Sentinel user may only discover the master
            (
                resp("sentinel", ["SENTINEL", "GET-MASTER-ADDR-BY-NAME", f"{topology.stack}-{tier.key}"]),
                'redis_acl_access_denied_auth_total{job="sentinel"}',
            ),
        ],
        "nats": lambda: [
            (
                {
                    **base,
                    "target": f"{division.key} -> {tier.key}",
                    "op": "nats",
                    "verb": "pub",
                    "subject": f"div.{division.key}.probe",
                },
                "nats_auth_failures_total{}",
            )
        ],
        "etcd": lambda: [
            (
                {
                    **base,
                    "target": f"{division.key} -> {tier.key}",
                    "op": "etcd",
                    "verb": "put",
                    "key": f"/divisions/{division.key}/probe",
                    "host": first.container,
                    "port": _port(first, "client"),
                },
                'grpc_server_handled_total{grpc_method="Authenticate", grpc_code="InvalidArgument"}',
            )
        ],
    }
    return build[tier.engine.name]()


def one_tier_per_engine(topology) -> list[tuple]:
    """(division, tier) for the first tier of each database engine some division uses."""
    chosen: dict[str, tuple] = {}
    for division in topology.divisions.values():
        for key in division.uses:
            tier = topology.tiers[key]
            chosen.setdefault(tier.engine.name, (division, tier))
    assert set(chosen) == set(ENGINES), f"divisions use {sorted(chosen)}; the test counts {sorted(ENGINES)}"
    return list(chosen.values())


def failures(stack, tier, counter: str) -> float:
    inner = counter[counter.index("{") + 1 : -1]
    selector = counter[: counter.index("{")] + "{" + ", ".join(x for x in (inner, f'tier="{tier.key}"') if x) + "}"
    query = "/api/v1/query?" + urllib.parse.urlencode({"query": f"sum({selector})"})
    result = http_json(prometheus_port(stack), query, auth=stack.monitoring_login)["data"]["result"]
    return float(result[0]["value"][1]) if result else 0.0


def alert_state(stack, tier) -> str | None:
    engine = ENGINES[tier.engine.name]
    alerts = http_json(prometheus_port(stack), "/api/v1/alerts", auth=stack.monitoring_login)["data"]["alerts"]
    for a in alerts:
        labels = a["labels"]
        if labels["alertname"] == "AuthFailuresHigh" and labels.get("tier") == tier.key and labels["engine"] == engine:
            return a["state"]
    return None


def test_wrong_passwords_are_refused_counted_and_change_nothing(stack, topology, converged):
    rows, problems = [], []
    for division, tier in one_tier_per_engine(topology):
        for action, counter in login_actions(topology, division, tier):
            row = try_wrong_passwords(stack, division, tier, action, counter, problems)
            rows.append((action["target"], tier.engine.name, *row))
    print(f"\n{'login':<44} {'engine':<8} {'refused':>7} {'counted':>7} {'alert':<8} right password works")
    for target, engine, refused, counted, state, ok in rows:
        print(f"{target:<44} {engine:<8} {refused:>7} {counted:>7.0f} {state:<8} {ok}")
    assert not problems, "\n".join(problems)


def try_wrong_passwords(stack, division, tier, action: dict, counter: str, problems: list[str]) -> tuple:
    """ATTEMPTS wrong logins: (clearly refused, counted in Prometheus, the alert's state, right one works)."""
    before = failures(stack, tier, counter)
    result = probe(stack, division, [{**action, "wrong_password": True, "repeat": ATTEMPTS}])[action["target"]]
    unclear = [a for a in result["answers"] if not WRONG_PASSWORD.search(a)]
    if not result["reached"] or unclear or len(result["answers"]) != ATTEMPTS:
        problems.append(f"{action['target']}: not every wrong password was refused clearly: {unclear[:2]}")
    counted = eventually(
        lambda: (failures(stack, tier, counter) - before) >= ATTEMPTS and failures(stack, tier, counter) - before,
        timeout=90,
        interval=5,
        what=f"{action['target']}: {ATTEMPTS} more failed logins in {counter}",
    )
    state = eventually(
        lambda: alert_state(stack, tier) in ("pending", "firing") and alert_state(stack, tier),
        timeout=90,
        interval=5,
        what=f"AuthFailuresHigh pending for {tier.key}",
    )
    good = probe(stack, division, [action])[action["target"]]
    if not is_success(good):
        problems.append(f"{action['target']}: the right password no longer works: {good['answer']}")
    return ATTEMPTS - len(unclear), counted, state, is_success(good)
