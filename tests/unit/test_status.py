"""tools/status.py (make status) on fake API and Prometheus answers: roles, health, lag, backups,
alerts, the exit code and the JSON form. No Docker."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
import yaml

from tools import status

PROM = "http://127.0.0.1:19090"
RULES = Path(__file__).resolve().parents[2] / "ansible" / "roles" / "prometheus_alerts" / "files" / "rules"


def _members(tier: str, n: int, ports: dict[str, int]) -> dict:
    return {
        f"{tier}-{i}": {
            "container": f"novaops-t-{tier}-{i}",
            **{p: f"127.0.0.1:{base + i}" for p, base in ports.items()},
        }
        for i in range(1, n + 1)
    }


def _outputs() -> dict:
    members = _members
    return {
        "stack": "t",
        "monitoring": {"prometheus": PROM},
        "tiers": {
            # deliberately not in tier-number order: the table follows the numbers
            "coordination": {"number": 7, "engine": "etcd", "members": members("coordination", 3, {"client": 12378})},
            "working": {
                "number": 1,
                "engine": "valkey",
                "members": members("working", 3, {"valkey": 16378, "sentinel": 26378}),
            },
            "episodic": {
                "number": 2,
                "engine": "patroni",
                "members": members("episodic", 2, {"postgres": 15431, "patroni": 18007}),
                "router": {
                    "container": "novaops-t-episodic-router",
                    "primary": "127.0.0.1:15438",
                    "stats": "127.0.0.1:18408",
                },
            },
            "streams": {
                "number": 6,
                "engine": "nats",
                "members": members("streams", 3, {"client": 14221, "monitor": 18221}),
            },
        },
    }


SERVICES = [
    "working-1",
    "working-2",
    "working-3",
    "episodic-1",
    "episodic-2",
    "streams-1",
    "streams-2",
    "streams-3",
    "coordination-1",
    "coordination-2",
    "coordination-3",
]


class FakeSources(status.Sources):
    """Healthy answers for the stack above; tests break them one at a time."""

    def __init__(self) -> None:
        super().__init__(timeout=1, secrets={"working": {"password": "working-pw"}, "cache": {"password": "cache-pw"}})
        self.http = {
            "http://127.0.0.1:18008/patroni": {"state": "running", "role": "primary"},
            "http://127.0.0.1:18009/patroni": {"state": "running", "role": "replica"},
            "http://127.0.0.1:18008/cluster": {
                "members": [
                    {"name": "novaops-t-episodic-1", "role": "leader", "state": "running"},
                    {"name": "novaops-t-episodic-2", "role": "sync_standby", "state": "streaming", "lag": 0},
                ]
            },
            "http://127.0.0.1:18009/cluster": {"members": []},
        }
        for i in (1, 2, 3):
            monitor = f"http://127.0.0.1:{18221 + i}"
            self.http[f"{monitor}/varz"] = {"server_name": f"novaops-t-streams-{i}"}
            self.http[f"{monitor}/jsz"] = {"meta_cluster": {"leader": "novaops-t-streams-2", "cluster_size": 3}}
            self.http[f"{monitor}/healthz?js-enabled-only=true"] = {"status": "ok"}
            self.http[f"http://127.0.0.1:{12378 + i}/v3/maintenance/status"] = {
                "header": {"member_id": str(100 + i)},
                "leader": "103",
                "raftIndex": "500",
                "raftAppliedIndex": "499" if i == 1 else "500",
            }
        self.statuses = {"http://127.0.0.1:18408/metrics": 200}
        view = {
            "name": "t-working",
            "master": "novaops-t-working-1",
            "master_flags": ["master"],
            "replicas": [
                {"host": f"novaops-t-working-{i}", "flags": ["slave"], "link": "ok", "offset": 900} for i in (2, 3)
            ],
        }
        self.sentinels = {f"127.0.0.1:{26378 + i}": copy.deepcopy(view) for i in (1, 2, 3)}
        # Sentinel's default user holds its tier's password: each address expects that one.
        self.sentinel_passwords = dict.fromkeys(self.sentinels, "working-pw")
        self.queries = {
            "novaops_probe_success": [{"metric": {"service": s}, "value": [0, "1"]} for s in SERVICES],
            status.PROBE_LATENCY: [{"metric": {"service": s}, "value": [0, "0.0021"]} for s in SERVICES],
            # Replicas of every engine the rule covers; Patroni's own API tells its lag first.
            status.LAG: [
                {"metric": {"tier": "working", "service": "working-2"}, "value": [0, "0"]},
                {"metric": {"tier": "working", "service": "working-3"}, "value": [0, "1536"]},
                {"metric": {"tier": "episodic", "service": "episodic-2"}, "value": [0, "4096"]},
            ],
            status.BACKUP_AGE: [
                {"metric": {"tool": "pgbackrest", "target": "episodic"}, "value": [0, "7200"]},
                {"metric": {"tool": "restic", "target": "working"}, "value": [0, "600"]},
                {"metric": {"tool": "restic", "target": "working-1"}, "value": [0, "300"]},
                {"metric": {"tool": "restic", "target": "streams:NOVA_EVENTS"}, "value": [0, "900"]},
                {"metric": {"tool": "restic", "target": "streams:NOVA_AUDIT"}, "value": [0, "800"]},
            ],
        }
        self.firing: list[dict] = []
        self.prometheus_down = False

    def http_json(self, url, body=None):
        if url not in self.http:
            raise status.Unreachable(f"{url}: connection refused")
        return self.http[url]

    def http_status(self, url):
        if url not in self.statuses:
            raise status.Unreachable(f"{url}: connection refused")
        return self.statuses[url]

    def native(self, kind, address, password=None):
        assert kind == "valkey", "only Sentinel speaks no HTTP"
        assert password == self.sentinel_passwords.get(address), f"{address} is asked with its tier's password"
        if address not in self.sentinels:
            raise status.Unreachable(f"sentinel {address}: connection refused")
        return self.sentinels[address]

    def prometheus(self, base, query):
        assert base == PROM
        if self.prometheus_down:
            raise status.Unreachable(f"{base}: connection refused")
        return self.queries[query]

    def alerts(self, base):
        return [{"labels": labels, "state": state} for labels, state in self.firing]


def _by_service(report):
    return {s.service: s for t in report.tiers for s in t.services}


def test_a_healthy_stack():
    report = status.collect(_outputs(), FakeSources())
    assert report.healthy and report.all_problems() == []
    assert [t.tier for t in report.tiers] == ["working", "episodic", "streams", "coordination"]
    svc = _by_service(report)
    assert set(svc) == set(SERVICES) | {"episodic-router"}
    assert {k: s.role for k, s in svc.items()} == {
        "working-1": "master",
        "working-2": "replica",
        "working-3": "replica",
        "episodic-1": "leader",
        "episodic-2": "sync_standby",
        "episodic-router": "router",
        "streams-1": "follower",
        "streams-2": "leader",
        "streams-3": "follower",
        "coordination-1": "follower",
        "coordination-2": "follower",
        "coordination-3": "leader",
    }
    assert {t.tier: t.leader for t in report.tiers} == {
        "working": "working-1",
        "episodic": "episodic-1",
        "streams": "streams-2",
        "coordination": "coordination-3",
    }
    assert svc["episodic-2"].lag == "0 B" and svc["working-3"].lag == "1536 B"
    assert svc["coordination-1"].lag == "1 entries" and svc["coordination-3"].lag == "0 entries"
    assert svc["working-1"].probe == 1 and svc["working-1"].probe_latency_ms == pytest.approx(2.1)
    backups = {t.tier: t.backup_age_s for t in report.tiers}
    assert backups == {"working": 300, "episodic": 7200, "streams": 800, "coordination": None}
    table = status.render_table(report)
    assert "healthy: 4 tiers, 12 services" in table
    for name in svc:
        assert f"  {name} " in table
    assert "2h" in table and "5m" in table


def test_a_stopped_replica_is_named_and_degrades():
    src = FakeSources()
    del src.http["http://127.0.0.1:18009/patroni"]  # its Patroni API is gone with the container
    src.http["http://127.0.0.1:18008/cluster"]["members"].pop()
    src.queries["novaops_probe_success"] = [
        {"metric": {"service": s}, "value": [0, "0" if s == "episodic-2" else "1"]} for s in SERVICES
    ]
    report = status.collect(_outputs(), src)
    assert not report.healthy
    problems = report.all_problems()
    assert any(p.startswith("episodic-2: Patroni API unreachable") for p in problems), problems
    assert "episodic-2: protocol probe failing" in problems
    assert all(p.startswith("episodic-2:") for p in problems), problems
    table = status.render_table(report)
    assert "DEGRADED" in table and "episodic-2" in table.split("DEGRADED:")[1]


def test_valkey_replicas_flagged_down_or_unlinked_by_sentinel():
    src = FakeSources()
    for view in src.sentinels.values():
        view["replicas"][0]["link"] = "err"
        view["replicas"][1].update(link="err", flags=["s_down", "slave"])
    del src.sentinels["127.0.0.1:26381"]  # working-3's own Sentinel went with it
    problems = status.collect(_outputs(), src).all_problems()
    assert problems == ["working-2: replication link err", "working-3: Sentinel flags it s_down"], problems


def test_an_unreachable_sentinel_alone_is_named():
    src = FakeSources()
    del src.sentinels["127.0.0.1:26380"]
    assert status.collect(_outputs(), src).all_problems() == [
        "working-2: Sentinel unreachable (sentinel 127.0.0.1:26380: connection refused)"
    ]


def test_sentinels_that_disagree_and_a_missing_leader():
    src = FakeSources()
    src.sentinels["127.0.0.1:26380"]["master"] = "novaops-t-working-2"
    for i in (1, 2, 3):
        src.http[f"http://127.0.0.1:{12378 + i}/v3/maintenance/status"]["leader"] = "0"
    src.http["http://127.0.0.1:18008/cluster"]["members"][0]["role"] = "replica"
    problems = status.collect(_outputs(), src).all_problems()
    assert "working: Sentinels disagree on the master: novaops-t-working-1, novaops-t-working-2" in problems
    assert "coordination: no etcd leader" in problems
    assert "episodic: no Patroni leader" in problems


def test_nats_without_jetstream_health():
    src = FakeSources()
    src.http["http://127.0.0.1:18223/healthz?js-enabled-only=true"] = {
        "status": "unavailable",
        "error": "JetStream not current",
    }
    assert status.collect(_outputs(), src).all_problems() == ["streams-2: healthz: JetStream not current"]


def test_firing_alerts_and_missing_probes():
    src = FakeSources()
    src.firing = [
        ({"alertname": "PatroniReplicationLagHigh", "tier": "episodic", "service": "episodic-2"}, "firing"),
        ({"alertname": "TierErrorBudgetBurn", "tier": "streams", "service": "streams"}, "firing"),
        ({"alertname": "BackupStale", "tier": "working", "service": "working"}, "pending"),
        (
            {"alertname": "ServiceBaselineAnomaly", "tier": "working", "service": "working-2", "severity": "info"},
            "firing",
        ),
    ]
    src.queries["novaops_probe_success"] = [
        q for q in src.queries["novaops_probe_success"] if q["metric"]["service"] != "coordination-2"
    ]
    report = status.collect(_outputs(), src)
    assert sorted(report.all_problems()) == [
        "coordination-2: no probe result in Prometheus",
        "episodic-2: alert PatroniReplicationLagHigh firing",
        "streams: alert TierErrorBudgetBurn firing",
    ]
    table = status.render_table(report)
    assert "TierErrorBudgetBurn" in table and "ServiceBaselineAnomaly" in table, "info alerts are shown"
    assert "BackupStale" not in table, "pending alerts are not"


def test_prometheus_down_is_a_problem_but_apis_are_still_read():
    src = FakeSources()
    src.prometheus_down = True
    report = status.collect(_outputs(), src)
    assert report.all_problems() == [f"Prometheus unreachable: {PROM}: connection refused"]
    assert _by_service(report)["episodic-1"].role == "leader"


def test_main_exit_codes_and_json(monkeypatch, capsys):
    src = FakeSources()
    monkeypatch.setattr(status, "stack_outputs", lambda stack: _outputs())
    monkeypatch.setattr(status, "Sources", lambda timeout, login=None, secrets=None: src)
    assert status.main(["--stack", "t"]) == 0
    assert "healthy: 4 tiers" in capsys.readouterr().out
    assert status.main(["--stack", "t", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["healthy"] is True and data["stack"] == "t"
    assert [s["service"] for s in data["tiers"][0]["services"]] == ["working-1", "working-2", "working-3"]
    del src.statuses["http://127.0.0.1:18408/metrics"]
    assert status.main(["--stack", "t", "--json"]) == 1
    data = json.loads(capsys.readouterr().out)
    assert data["healthy"] is False
    assert data["problems"] == [
        "episodic-router: HAProxy stats unreachable (http://127.0.0.1:18408/metrics: connection refused)"
    ]


def test_main_without_outputs(monkeypatch, capsys):
    def missing(stack):
        raise RuntimeError("no state for stack 'nope'")

    monkeypatch.setattr(status, "stack_outputs", missing)
    assert status.main(["--stack", "nope"]) == 2
    assert "no outputs for stack 'nope'" in capsys.readouterr().err


# --------------------------------------------------------------------------- tiers from the outputs alone


def _second_tiers(src: FakeSources) -> dict:
    """The outputs with a second Valkey tier and a second Patroni tier (as a catalog adding them
    would publish), and healthy answers for them in ``src``: first member master / leader."""
    outputs = _outputs()
    outputs["tiers"]["cache"] = {
        "number": 8,
        "engine": "valkey",
        "members": _members("cache", 3, {"valkey": 16388, "sentinel": 26388}),
    }
    outputs["tiers"]["ledger"] = {
        "number": 9,
        "engine": "patroni",
        "members": _members("ledger", 3, {"postgres": 15441, "patroni": 18017}),
        "router": {"container": "novaops-t-ledger-router", "primary": "127.0.0.1:15448", "stats": "127.0.0.1:18418"},
    }
    cache, ledger = outputs["tiers"]["cache"]["members"], outputs["tiers"]["ledger"]["members"]
    containers = [m["container"] for m in cache.values()]
    for m in cache.values():
        src.sentinel_passwords[m["sentinel"]] = "cache-pw"
        src.sentinels[m["sentinel"]] = {
            "name": "t-cache",
            "master": containers[0],
            "master_flags": ["master"],
            "replicas": [{"host": c, "flags": ["slave"], "link": "ok", "offset": 10} for c in containers[1:]],
        }
    roles = ["leader", "sync_standby", "replica"]
    cluster = {
        "members": [
            {
                "name": m["container"],
                "role": role,
                **({"state": "running"} if role == "leader" else {"state": "streaming", "lag": 64}),
            }
            for m, role in zip(ledger.values(), roles, strict=True)
        ]
    }
    for m in ledger.values():
        src.http[f"http://{m['patroni']}/patroni"] = {"state": "running"}
        src.http[f"http://{m['patroni']}/cluster"] = cluster
    src.statuses["http://127.0.0.1:18418/metrics"] = 200
    added = [*cache, *ledger]
    src.queries["novaops_probe_success"] += [{"metric": {"service": s}, "value": [0, "1"]} for s in added]
    src.queries[status.PROBE_LATENCY] += [{"metric": {"service": s}, "value": [0, "0.003"]} for s in added]
    src.queries[status.LAG] += [
        {"metric": {"tier": "cache", "service": s}, "value": [0, "512"]} for s in list(cache)[1:]
    ]
    src.queries[status.BACKUP_AGE] += [{"metric": {"tool": "pgbackrest", "target": "ledger"}, "value": [0, "60"]}]
    return outputs


def test_a_second_valkey_and_a_second_patroni_tier_get_their_rows():
    src = FakeSources()
    outputs = _second_tiers(src)
    report = status.collect(outputs, src)
    assert [t.tier for t in report.tiers] == ["working", "episodic", "streams", "coordination", "cache", "ledger"]
    assert report.healthy, report.all_problems()
    svc = _by_service(report)
    assert {k: (s.role, s.lag) for k, s in svc.items() if s.tier in ("cache", "ledger")} == {
        "cache-1": ("master", "-"),
        "cache-2": ("replica", "512 B"),
        "cache-3": ("replica", "512 B"),
        "ledger-1": ("leader", "-"),
        "ledger-2": ("sync_standby", "64 B"),
        "ledger-3": ("replica", "64 B"),
        "ledger-router": ("router", "-"),
    }
    assert {t.tier: t.leader for t in report.tiers if t.tier in ("cache", "ledger")} == {
        "cache": "cache-1",
        "ledger": "ledger-1",
    }
    assert svc["cache-2"].probe == 1 and svc["ledger-3"].probe_latency_ms == pytest.approx(3)
    assert {t.tier: t.backup_age_s for t in report.tiers}["ledger"] == 60
    table = status.render_table(report)
    assert "cache (valkey)" in table and "ledger (patroni)" in table and "healthy: 6 tiers, 19 services" in table

    # Each new tier is read on its own: a fault in it is named there, the first tiers stay healthy.
    del src.sentinels["127.0.0.1:26390"]
    del src.statuses["http://127.0.0.1:18418/metrics"]
    assert status.collect(outputs, src).all_problems() == [
        "cache-2: Sentinel unreachable (sentinel 127.0.0.1:26390: connection refused)",
        "ledger-router: HAProxy stats unreachable (http://127.0.0.1:18418/metrics: connection refused)",
    ]


def test_the_prometheus_columns_read_recording_rules():
    """status restates no PromQL: each series it asks for is recorded by the prometheus_alerts role
    (renaming a rule there must fail here, not leave a column silently empty)."""
    recorded = {
        rule["record"]
        for path in RULES.glob("*.yml")
        for group in yaml.safe_load(path.read_text())["groups"]
        for rule in group["rules"]
        if "record" in rule
    }
    assert {status.PROBE_LATENCY, status.LAG, status.BACKUP_AGE} <= recorded
