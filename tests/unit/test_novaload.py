"""novaload and the drills' arithmetic without a stack: endpoints from outputs, bounds, the ledger,
RTO from the ledger, and a bounded run against fake tiers (one of them failing for a while)."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

import pytest

from components.engines.patroni.workload import workload_of
from tests.unit.second_tiers import second_tiers_topology
from tools.novaload import endpoints as ep
from tools.novaload.load import LoadConfig, read_ledger, run_load, verify
from tools.novaload.tiers import clients, writable

OUTPUTS = {
    "stack": "t",
    "tiers": {
        "working": {
            "engine": "valkey",
            "members": {
                "working-1": {"container": "novaops-t-working-1", "valkey": "127.0.0.1:1", "sentinel": "127.0.0.1:2"}
            },
        },
        "episodic": {
            "engine": "patroni",
            "members": {},
            "router": {"container": "r", "primary": "127.0.0.1:5", "replicas": "127.0.0.1:6"},
        },
        "streams": {"engine": "nats", "members": {"streams-1": {"container": "s", "client": "127.0.0.1:7"}}},
    },
    "monitoring": {"alert-receiver": "http://127.0.0.1:9"},
    "tierSecrets": {"working": {"password": "w"}, "episodic": {"superuser": "p"}, "streams": {"password": "n"}},
}


def test_endpoints_come_from_the_outputs():
    e = ep.from_outputs(OUTPUTS)
    assert e.tiers["episodic"].primary == ("127.0.0.1", 5)
    assert e.tiers["working"].master_name == "t-working"
    assert e.tiers["working"].published == {"novaops-t-working-1": ("127.0.0.1", 1)}
    assert e.tiers["streams"].servers == ["nats://127.0.0.1:7"]
    assert e.alert_receiver == ("127.0.0.1", 9)


def test_bad_outputs_name_the_key():
    broken = json.loads(json.dumps(OUTPUTS))
    broken["tiers"]["episodic"]["router"]["primary"] = "nohost"
    with pytest.raises(ep.EndpointError, match=r"tiers\.episodic\.router\.primary"):
        ep.from_outputs(broken)
    hidden = dict(OUTPUTS, tierSecrets="[secret]")
    with pytest.raises(ep.EndpointError, match="tierSecrets"):
        ep.from_outputs(hidden)


def test_workload_follows_the_catalog_extension():
    assert workload_of(["vector"]) == "vector"
    assert workload_of(["age"]) == "age"
    assert workload_of([]) == "relational"


@pytest.mark.parametrize("field,value", [("sessions", 0), ("duration", 0), ("max_writes", -1), ("think", -1)])
def test_config_bounds_are_enforced(field, value):
    with pytest.raises(ValueError, match=field):
        LoadConfig(**{field: value})


class FakeTier:
    """Stores keys in memory; refuses writes while ``down`` is true; forgets ``lose`` keys."""

    def __init__(self, tier: str):
        self.tier = tier
        self.keys: set[str] = set()
        self.down = False

    async def prepare(self) -> None:
        return None

    async def write(self, run: str, session: int, key: str) -> str:
        if self.down:
            raise ConnectionError("primary gone")
        # A write admitted before the fault is still acknowledged just after it (in flight).
        self.keys.add(key)
        await asyncio.sleep(0.05)
        return key

    async def read(self, run: str, session: int) -> None:
        return None

    async def present(self, run: str, entries: list[dict]) -> set[str]:
        return {e["k"] for e in entries} & self.keys

    async def close(self) -> None:
        return None


def test_bounded_run_ledger_rto_and_losses(tmp_path: Path):
    from tools.drills.runner import Load

    fake = FakeTier("episodic")
    ledger = tmp_path / "ledger.jsonl"
    config = LoadConfig(sessions=20, duration=3.0, think=0.05, op_timeout=1.0)
    marks: dict[str, float] = {}

    async def scenario() -> dict:
        async def fault() -> None:
            await asyncio.sleep(1.0)
            marks["fault"] = time.time()
            fake.down = True
            await asyncio.sleep(0.5)
            fake.down = False

        task = asyncio.create_task(fault())
        started = time.monotonic()
        summary = await run_load({"episodic": fake}, config, ledger)
        await task
        marks["seconds"] = time.monotonic() - started
        return summary

    summary = asyncio.run(scenario())
    assert marks["seconds"] < config.duration + 3, "the run must stop by itself"
    header, acks, errors, stored = read_ledger(ledger)
    assert stored == summary and summary["failed"]["episodic"] == len(errors) > 0
    assert len(acks) == summary["acked"]["episodic"] > 0

    load = Load.__new__(Load)  # only the ledger arithmetic, no child process
    load.ledger = ledger
    rto = load.rto("episodic", marks["fault"], time.time())
    assert 0.45 <= rto <= 1.0, rto  # down for 0.5 s: the first write started after it succeeds ~0.5 s later

    result = asyncio.run(verify({"episodic": fake}, ledger))
    assert result["episodic"] == {"acked": len(acks), "lost": 0, "missing_sample": []}
    fake.keys.discard(acks[0]["k"])  # one acknowledged write lost: verify must say so
    assert asyncio.run(verify({"episodic": fake}, ledger))["episodic"]["lost"] == 1


def test_verify_rejects_a_file_that_is_no_ledger(tmp_path: Path):
    bad = tmp_path / "x.jsonl"
    bad.write_text('{"no": "header"}\n')
    with pytest.raises(ValueError, match="not a novaload ledger"):
        read_ledger(bad)


# --------------------------------------------------------------------------- tiers from the catalog alone


def _outputs_of(topology) -> dict:
    """The stack outputs components/stack.py publishes for ``topology`` (tiers, secrets), without Pulumi."""

    def published(svc) -> dict:
        address = topology.docker_hosts[svc.docker_host].address
        return {"container": svc.container, **{p.name: f"{address}:{p.host}" for p in svc.ports if p.host}}

    tiers = {
        t.key: {
            "number": t.number,
            "engine": t.engine.name,
            "members": {m.key: published(m) for m in t.members},
            **({"router": published(t.router)} if t.router else {}),
        }
        for t in topology.tiers.values()
    }
    secrets = {t.key: {name: f"{t.key}-{name}" for name in t.engine.secrets} for t in topology.tiers.values()}
    return {"stack": topology.stack, "tiers": tiers, "tierSecrets": secrets, "monitoring": {}}


def test_a_second_valkey_and_a_second_patroni_tier_from_the_catalog_alone_get_a_workload_client():
    topology = second_tiers_topology()
    endpoints = ep.from_outputs(_outputs_of(topology))
    extensions = {k: list(t.extensions) for k, t in topology.tiers.items()}
    made = clients(endpoints, writable(endpoints), pool_size=2, op_timeout=1.0, extensions=extensions)

    assert {"cache", "ledger"} <= set(made)
    for new, same_engine in (("cache", "working"), ("ledger", "episodic")):
        assert type(made[new]) is type(made[same_engine]) and made[new].tier == new
    cache, ledger = endpoints.tiers["cache"], endpoints.tiers["ledger"]
    assert cache.master_name == "dev-cache" and len(cache.sentinels) == 3 and cache.password == "cache-password"
    first = topology.tiers["cache"].members[0]
    assert cache.published[first.container][1] == first.port("valkey").host
    router = topology.tiers["ledger"].router
    assert (ledger.primary[1], ledger.replicas[1], ledger.password) == (
        router.port("primary").host,
        router.port("replicas").host,
        "ledger-superuser",
    )
    purposes = {k: c.purpose for k, c in made.items() if hasattr(c, "purpose")}
    assert purposes == {
        "episodic": "relational",
        "semantic": "vector",
        "graph": "age",
        "temporal": "timescaledb",
        "ledger": "age",
    }  # the test catalog's ledger loads AGE
    # A tier whose engine has no workload (etcd: Patroni's DCS) is skipped, and named when asked for.
    skipped = [k for k in topology.tiers if k not in made]
    assert skipped and all(k not in endpoints.tiers for k in skipped)
    with pytest.raises(ValueError, match=f"{skipped[0]!r}: its engine .* has no workload client"):
        clients(endpoints, [skipped[0]], pool_size=2, op_timeout=1.0, extensions=extensions)
    with pytest.raises(ValueError, match="'nope': not a tier of the stack"):
        clients(endpoints, ["nope"], pool_size=2, op_timeout=1.0, extensions=extensions)


def test_the_cli_names_a_tier_it_cannot_write_to(monkeypatch, capsys, tmp_path: Path):
    from tools.novaload import __main__ as cli

    outputs = json.loads(json.dumps(OUTPUTS))
    outputs["tiers"]["coordination"] = {"engine": "etcd", "members": {"coordination-1": {"container": "c"}}}
    monkeypatch.setattr(ep, "load_stack_outputs", lambda stack: outputs)
    monkeypatch.setattr(cli, "catalog_extensions", lambda stack: {})
    ledger = str(tmp_path / "l.jsonl")
    assert cli.main(["run", "--stack", "t", "--ledger", ledger, "--tiers", "coordination"]) == 2
    assert "'coordination': its engine etcd has no workload client" in capsys.readouterr().err
    assert cli.main(["run", "--stack", "t", "--ledger", ledger, "--tiers", "nope"]) == 2
    assert "tiers it writes to: working, episodic, streams" in capsys.readouterr().err
    monkeypatch.setattr(
        ep, "load_stack_outputs", lambda stack: dict(outputs, tiers={"coordination": outputs["tiers"]["coordination"]})
    )
    assert cli.main(["run", "--stack", "t", "--ledger", ledger]) == 2  # not a minute-long run of nothing
    assert "no tier to write to" in capsys.readouterr().err
