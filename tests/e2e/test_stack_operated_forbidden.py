"""What a division host can do with the credentials present on it (its connection files), on the
converged stack: every control plane and every other tenant's data is refused, its own tiers and
channels work. From each of the five division hosts: etcd reads and writes outside its prefix,
Patroni's unsafe endpoints on every tier, Sentinel FAILOVER/SET/MASTERS without auth, Valkey
CONFIG/FLUSHALL/another division's keys, PostgreSQL on a tier it does not use, NATS on another
division's subjects and on a channel it is not in, an Alertmanager silence, a Prometheus query
without credentials, TCP to the other division hosts and the backup host. Prints the division x
target matrix and "0 of N forbidden attempts succeeded". Runs after test_stack_operated.py."""

from __future__ import annotations

import base64
import json
import os
import re
from pathlib import Path

import pytest

from tests.e2e.conftest import needs_converge, tenant

pytestmark = [pytest.mark.docker, pytest.mark.e2e, needs_converge]


PROBE = Path(__file__).with_name("access_probe.py")
REMOTE = f"/tmp/novaops-access-probe-{os.getpid()}.py"  # this test session's own copy
# What a server says when it refuses (the probe reports the answer, the test judges it).
REFUSAL = re.compile(
    r"^40[13] |user name is empty|permission denied|NOAUTH|NOPERM|WRONGPASS|refused:|login refused|"
    r"Permissions Violation|authentication failed",
    re.I,
)
MIN_FORBIDDEN_PER_HOST = 12


def _first(topology, engine: str):
    return next(t for t in topology.tiers.values() if t.engine.name == engine)


def _port(svc, name: str) -> int:
    return svc.port(name).container


def forbidden(topology, division) -> list[dict]:
    """The attempts that must all be refused, as probe actions."""
    out: list[dict] = []
    etcd = _first(topology, "etcd")
    e1 = etcd.members[0]
    for verb, key in (("range", "/novaops/"), ("put", "/novaops/intruder")):
        out.append(
            {
                "target": f"etcd {verb} {key}",
                "op": "etcd",
                "tier": etcd.key,
                "verb": verb,
                "key": key,
                "host": e1.container,
                "port": _port(e1, "client"),
            }
        )
    others = [d for d in topology.divisions if d != division.key]
    out.append(
        {
            "target": f"etcd put /divisions/{others[0]}/",
            "op": "etcd",
            "tier": etcd.key,
            "verb": "put",
            "key": f"/divisions/{others[0]}/x",
            "host": e1.container,
            "port": _port(e1, "client"),
        }
    )
    for tier in (t for t in topology.tiers.values() if t.engine.name == "patroni"):
        api = f"http://{tier.members[0].container}:{_port(tier.members[0], 'patroni')}"
        for method, path, body in (
            ("PATCH", "/config", {"ttl": 30}),
            ("POST", "/switchover", {"leader": "x"}),
            ("POST", "/restart", {"role": "x"}),
        ):
            out.append(
                {
                    "target": f"patroni {tier.key} {method} {path}",
                    "op": "http",
                    "method": method,
                    "url": api + path,
                    "body": body,
                }
            )
    kv = _first(topology, "valkey")
    v1 = kv.members[0]
    for command in (
        ["SENTINEL", "FAILOVER", f"{topology.stack}-{kv.key}"],
        ["SENTINEL", "SET", f"{topology.stack}-{kv.key}", "quorum", "1"],
        ["SENTINEL", "MASTERS"],
    ):
        out.append(
            {
                "target": f"sentinel {' '.join(command[:2])} (no auth)",
                "op": "resp",
                "tier": kv.key,
                "host": v1.container,
                "port": _port(v1, "sentinel"),
                "command": command,
            }
        )
    for name, command in (
        ("CONFIG GET", ["CONFIG", "GET", "requirepass"]),
        ("FLUSHALL", ["FLUSHALL"]),
        (f"SET div:{others[0]}:x", ["SET", f"div:{others[0]}:x", "1"]),
    ):
        out.append(
            {
                "target": f"valkey {name}",
                "op": "resp",
                "tier": kv.key,
                "as_division": True,
                "host": v1.container,
                "port": _port(v1, "valkey"),
                "command": command,
            }
        )
    for tier in (t for t in topology.tiers.values() if t.router and t.key not in division.uses):
        out.append(
            {
                "target": f"postgres {tier.key} (not used)",
                "op": "psql",
                "tier": tier.key,
                "host": tier.router.container,
                "port": _port(tier.router, "primary"),
            }
        )
    bus = topology.channels.tier
    foreign = next(c for c in topology.channels.pairs if division.key not in c.divisions)
    for verb, subject in (
        ("pub", f"div.{others[0]}.x"),
        ("sub", f"div.{others[0]}.>"),
        ("pub", f"chan.{foreign.key}.{foreign.divisions[0]}.x"),
        ("sub", f"chan.{foreign.key}.{foreign.divisions[0]}.>"),
    ):
        out.append({"target": f"nats {verb} {subject}", "op": "nats", "tier": bus, "verb": verb, "subject": subject})
    am, prom = topology.monitoring["alertmanager"], topology.monitoring["prometheus"]
    silence = {
        "matchers": [{"name": "alertname", "value": ".*", "isRegex": True}],
        "startsAt": "2026-01-01T00:00:00Z",
        "endsAt": "2099-01-01T00:00:00Z",
        "createdBy": "intruder",
        "comment": "e2e",
    }
    out.append(
        {
            "target": "alertmanager silence",
            "op": "http",
            "method": "POST",
            "body": silence,
            "url": f"http://{am.container}:{_port(am, 'web')}/api/v2/silences",
        }
    )
    out.append(
        {
            "target": "prometheus query (no login)",
            "op": "http",
            "url": f"http://{prom.container}:{_port(prom, 'web')}/api/v1/query?query=up",
        }
    )
    for other in others:
        svc = topology.divisions[other].service
        out.append({"target": f"tcp {other} sshd", "op": "tcp", "host": svc.container, "port": _port(svc, "ssh")})
    out.append(
        {
            "target": "tcp backup sshd",
            "op": "tcp",
            "host": topology.backup.container,
            "port": _port(topology.backup, "ssh"),
        }
    )
    return out


def allowed(topology, division) -> list[dict]:
    """Its own tiers and channels, with its own logins: each must work."""
    out: list[dict] = []
    for key in division.uses:
        tier = topology.tiers[key]
        if tier.engine.name == "patroni":
            out.append({"target": f"postgres {key} select 1", "op": "psql", "tier": key})
        elif tier.engine.name == "valkey":
            v1 = tier.members[0]
            out.append(
                {
                    "target": f"sentinel {key} get-master",
                    "op": "resp",
                    "tier": key,
                    "as_division": True,
                    "host": v1.container,
                    "port": _port(v1, "sentinel"),
                    "command": ["SENTINEL", "GET-MASTER-ADDR-BY-NAME", f"{topology.stack}-{key}"],
                }
            )
        elif tier.engine.name == "etcd":
            e1 = tier.members[0]
            out.append(
                {
                    "target": f"etcd put /divisions/{division.key}/",
                    "op": "etcd",
                    "tier": key,
                    "verb": "put",
                    "key": f"/divisions/{division.key}/probe",
                    "host": e1.container,
                    "port": _port(e1, "client"),
                }
            )
        elif tier.engine.name == "nats":
            out.append(
                {
                    "target": f"nats pub div.{division.key}",
                    "op": "nats",
                    "tier": key,
                    "verb": "pub",
                    "subject": f"div.{division.key}.probe",
                }
            )
            for channel in topology.channels.of(division.key):
                out.append(
                    {
                        "target": f"nats sub {channel.key}",
                        "op": "nats",
                        "tier": key,
                        "verb": "sub",
                        "subject": f"chan.{channel.key}.{channel.other(division.key)}.>",
                    }
                )
    return out


def probe(stack, division, attempts: list[dict]) -> dict[str, dict]:
    h = tenant(division.service.container)
    h.check_output(f"echo {base64.b64encode(PROBE.read_bytes()).decode()} | base64 -d > {REMOTE}")
    actions = [{**a, "id": i} for i, a in enumerate(attempts)]
    out = h.check_output(f"python3 {REMOTE} {base64.b64encode(json.dumps(actions).encode()).decode()}")
    results = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    assert len(results) == len(attempts), out
    return {attempts[r["id"]]["target"]: r for r in results}


def is_refused(result: dict) -> bool:
    return not result["reached"] or bool(REFUSAL.search(result["answer"]))


def is_success(result: dict) -> bool:
    """An answer without an error: "ok" (psql, NATS), HTTP 200 (etcd), RESP replies none of which is an error."""
    answer = result["answer"]
    if not result["reached"] or REFUSAL.search(answer):
        return False
    resp_ok = answer.startswith(("+", "*", "$", ":")) and not any(r.startswith("-") for r in answer.split(" | "))
    return answer == "ok" or answer.startswith("200 ") or resp_ok


def test_divisions_are_refused_everything_but_their_own(stack, topology, converged):
    matrix: dict[str, dict[str, str]] = {}
    forbidden_total = breaches = 0
    failures = []
    for division in topology.divisions.values():
        bad, good = forbidden(topology, division), allowed(topology, division)
        assert len(bad) >= MIN_FORBIDDEN_PER_HOST, (division.key, len(bad))
        results = probe(stack, division, bad + good)
        row = matrix.setdefault(division.key, {})
        for a in bad:
            r = results[a["target"]]
            forbidden_total += 1
            row[a["target"]] = "refused" if is_refused(r) else "ALLOWED"
            if not is_refused(r):
                breaches += 1
                failures.append(f"{division.key}: forbidden {a['target']} succeeded: {r['answer']}")
        for a in good:
            r = results[a["target"]]
            row[a["target"]] = "allowed" if is_success(r) else "REFUSED"
            if not is_success(r):
                failures.append(f"{division.key}: own {a['target']} failed: {r['answer']}")
    print_matrix(matrix)
    print(f"\n{breaches} of {forbidden_total} forbidden attempts succeeded")
    assert not failures, "\n".join(failures)


def print_matrix(matrix: dict[str, dict[str, str]]) -> None:
    for division, row in matrix.items():
        print(f"\n{division}:")
        for target, verdict in row.items():
            print(f"  {verdict:<8} {target}")
