"""The patroni role's outcome on a real 2-member tier (etcd3 DCS)."""

from __future__ import annotations

import json

testinfra_hosts = ["ansible://patroni"]

EXPECTED = {
    "ttl": 20,
    "loop_wait": 2,
    "retry_timeout": 9,
    "primary_start_timeout": 10,
    "primary_stop_timeout": 5,
    "maximum_lag_on_failover": 1048576,
    "synchronous_mode": True,
    "synchronous_mode_strict": False,
    "synchronous_node_count": 1,
}
PARAMETERS = {
    "hot_standby_feedback": "on",
    "wal_keep_size": "256MB",
    "wal_sender_timeout": "5s",
    "wal_receiver_timeout": "5s",
    "wal_receiver_status_interval": "1s",
}


def api(host, path: str) -> dict:
    return json.loads(host.check_output(f"curl -fsS http://127.0.0.1:8008{path}"))


def psql(host, sql: str) -> str:
    return host.check_output(f"runuser -u postgres -- psql -XtAc \"{sql}\"").strip()


def test_dynamic_config(host):
    config = api(host, "/config")
    for key, value in EXPECTED.items():
        assert config[key] == value, key
    assert config["postgresql"]["use_pg_rewind"] is True
    for key, value in PARAMETERS.items():
        assert config["postgresql"]["parameters"][key] == value, key


def test_cluster_has_leader_and_sync_standby(host):
    members = api(host, "/cluster")["members"]
    roles = sorted(m["role"] for m in members)
    assert roles == ["leader", "sync_standby"]
    sync = next(m for m in members if m["role"] == "sync_standby")
    assert sync["state"] == "streaming"


def test_parameters_applied_without_restart(host):
    member = api(host, "/patroni")
    assert not member.get("pending_restart", False)
    assert psql(host, "SHOW hot_standby_feedback") == "on"
    assert psql(host, "SHOW wal_sender_timeout") == "5s"


def test_leader_replicates_synchronously(host):
    if api(host, "/patroni")["role"] != "primary":
        return
    standbys = api(host, "/cluster")["members"]
    sync = next(m["name"] for m in standbys if m["role"] == "sync_standby")
    assert sync in psql(host, "SHOW synchronous_standby_names")
    assert psql(host, "SELECT sync_state FROM pg_stat_replication") == "sync"


def test_static_config_validates(host):
    host.run_expect([0], "cd /tmp && patroni --validate-config --ignore-listen-port /etc/novaops/patroni.yml")
