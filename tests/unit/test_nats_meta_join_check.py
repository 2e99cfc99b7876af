"""images/nats/nats-meta-join-check: a NATS server left outside the JetStream meta group at start
stops itself (so the container restarts and joins); a member, or a server with no leader yet, never."""

from __future__ import annotations

import importlib.machinery
import importlib.util
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "images" / "nats" / "nats-meta-join-check"


@pytest.fixture
def check(monkeypatch, tmp_path):
    loader = importlib.machinery.SourceFileLoader("nats_meta_join_check", str(SCRIPT))
    spec = importlib.util.spec_from_loader("nats_meta_join_check", loader)
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    clock = {"t": 0.0}
    monkeypatch.setattr(module.time, "monotonic", lambda: clock["t"])
    monkeypatch.setattr(module.time, "sleep", lambda s: clock.__setitem__("t", clock["t"] + s))
    monkeypatch.setattr(module, "COUNTER", str(tmp_path / "restarts"))
    kills: list[int] = []
    monkeypatch.setattr(module.os, "kill", lambda pid, sig: kills.append(pid))
    module.kills = kills
    return module


def cluster(check, monkeypatch, leader: str | None, replicas: list[str], me: str = "s2") -> None:
    def monitor(host, path):
        if path == "/varz":
            return {"server_name": me}
        if host == "127.0.0.1":
            return {"meta_cluster": {"leader": leader, "cluster_size": 2}}
        assert host == leader
        return {"meta_cluster": {"leader": leader, "replicas": [{"name": n} for n in replicas]}}

    monkeypatch.setattr(check, "monitor", monitor)


def test_a_server_outside_the_meta_group_stops_nats_server(check, monkeypatch):
    cluster(check, monkeypatch, leader="s3", replicas=["s1"])
    assert check.main() == 0
    assert len(check.kills) == 1
    assert Path(check.COUNTER).read_text() == "1"


def test_a_member_or_the_leader_is_left_alone(check, monkeypatch):
    cluster(check, monkeypatch, leader="s3", replicas=["s1", "s2"])
    assert check.main() == 0
    cluster(check, monkeypatch, leader="s2", replicas=[])
    assert check.main() == 0
    cluster(check, monkeypatch, leader=None, replicas=[])
    assert check.main() == 0
    assert check.kills == []


def test_restarts_are_bounded(check, monkeypatch):
    cluster(check, monkeypatch, leader="s3", replicas=["s1"])
    Path(check.COUNTER).write_text(str(check.MAX_RESTARTS))
    assert check.main() == 1
    assert check.kills == []
