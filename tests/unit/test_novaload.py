"""novaload and the drills' arithmetic without a stack: endpoints from outputs, bounds, the ledger,
RTO from the ledger, and a bounded run against fake tiers (one of them failing for a while)."""
from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

import pytest

from tools.novaload import endpoints as ep
from tools.novaload.load import LoadConfig, read_ledger, run_load, verify
from tools.novaload.tiers import workload_of

OUTPUTS = {
    "stack": "t",
    "tiers": {
        "working": {"engine": "valkey", "members": {
            "working-1": {"container": "novaops-t-working-1", "valkey": "127.0.0.1:1", "sentinel": "127.0.0.1:2"}}},
        "episodic": {"engine": "patroni", "members": {},
                     "router": {"container": "r", "primary": "127.0.0.1:5", "replicas": "127.0.0.1:6"}},
        "streams": {"engine": "nats", "members": {"streams-1": {"container": "s", "client": "127.0.0.1:7"}}},
    },
    "monitoring": {"alert-receiver": "http://127.0.0.1:9"},
    "tierSecrets": {"working": {"password": "w"}, "episodic": {"superuser": "p"}, "streams": {"password": "n"}},
}


def test_endpoints_come_from_the_outputs():
    e = ep.from_outputs(OUTPUTS)
    assert e.postgres["episodic"].primary == ("127.0.0.1", 5)
    assert e.valkey["working"].master_name == "t-working"
    assert e.valkey["working"].published == {"novaops-t-working-1": ("127.0.0.1", 1)}
    assert e.nats["streams"].servers == ["nats://127.0.0.1:7"]
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

    load = Load.__new__(Load)          # only the ledger arithmetic, no child process
    load.ledger = ledger
    rto = load.rto("episodic", marks["fault"], time.time())
    assert 0.45 <= rto <= 1.0, rto     # down for 0.5 s: the first write started after it succeeds ~0.5 s later

    result = asyncio.run(verify({"episodic": fake}, ledger))
    assert result["episodic"] == {"acked": len(acks), "lost": 0, "missing_sample": []}
    fake.keys.discard(acks[0]["k"])    # one acknowledged write lost: verify must say so
    assert asyncio.run(verify({"episodic": fake}, ledger))["episodic"]["lost"] == 1


def test_verify_rejects_a_file_that_is_no_ledger(tmp_path: Path):
    bad = tmp_path / "x.jsonl"
    bad.write_text('{"no": "header"}\n')
    with pytest.raises(ValueError, match="not a novaload ledger"):
        read_ledger(bad)
