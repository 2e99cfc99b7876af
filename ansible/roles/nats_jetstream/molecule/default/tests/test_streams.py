"""Every NATS member holds a replica of each Nova stream: 3 replicas, file storage, current peers."""

import json
import os
import time

import testinfra.utils.ansible_runner

testinfra_hosts = testinfra.utils.ansible_runner.AnsibleRunner(os.environ["MOLECULE_INVENTORY_FILE"]).get_hosts(
    "streams"
)

EXPECTED = {
    "NOVA_EVENTS": ["nova.events.>"],
    "NOVA_SESSIONS": ["nova.sessions.>"],
    "NOVA_AUDIT": ["nova.audit.>"],
}


def _streams(host):
    out = host.check_output("curl -fsS 'http://127.0.0.1:8222/jsz?streams=true&config=true'")
    jsz = json.loads(out)
    details = [s for acc in jsz.get("account_details", []) for s in acc.get("stream_detail", [])]
    return {s["name"]: s for s in details}


def test_every_stream_is_replicated_three_times(host):
    streams = _streams(host)
    assert set(streams) == set(EXPECTED)
    for name, subjects in EXPECTED.items():
        stream = streams[name]
        config = stream["config"]
        assert config["subjects"] == subjects
        assert config["num_replicas"] == 3
        assert config["storage"] == "file"
        assert config["discard"] == "old"
        assert config["retention"] == "limits"
        assert config["duplicate_window"] == 120 * 10**9
        cluster = stream["cluster"]
        assert cluster["leader"], f"{name} has no leader"
        # A member lists the leader and the other replicas (not itself).
        me = host.backend.get_hostname()
        peers = {me, cluster["leader"], *(r["name"] for r in cluster.get("replicas", []))}
        assert peers == set(testinfra_hosts), cluster


def test_stream_leaders_see_current_replicas(host):
    """Only a stream's leader tracks its followers; they catch up within seconds (bounded wait)."""
    me = host.backend.get_hostname()
    for _ in range(15):
        led = {n: s["cluster"] for n, s in _streams(host).items() if s["cluster"].get("leader") == me}
        if all(r["current"] for c in led.values() for r in c["replicas"]):
            return
        time.sleep(1)
    raise AssertionError(f"replicas not current on streams led by {me}: {led}")


def test_stream_limits(host):
    streams = _streams(host)
    assert streams["NOVA_EVENTS"]["config"]["max_age"] == 7 * 86400 * 10**9
    assert streams["NOVA_SESSIONS"]["config"]["max_age"] == 86400 * 10**9
    assert streams["NOVA_AUDIT"]["config"]["max_bytes"] == 512 * 1024**2


def test_password_not_in_the_container_environment(host):
    assert "nova" not in host.check_output("cat /proc/1/environ | tr '\\0' '\\n' | grep -i pass || true")


def test_the_streams_belong_to_the_operations_account(host):
    jsz = json.loads(host.check_output("curl -fsS 'http://127.0.0.1:8222/jsz?streams=true'"))
    owners = {s["name"]: acc["name"] for acc in jsz.get("account_details", []) for s in acc.get("stream_detail", [])}
    assert owners == dict.fromkeys(EXPECTED, "OPS")
