"""min-replicas-* on every member (live and in the rewritten config), Sentinel timing on every
sentinel, CKQUORUM OK, and the password nowhere on a command line."""

import os

import testinfra.utils.ansible_runner

testinfra_hosts = testinfra.utils.ansible_runner.AnsibleRunner(os.environ["MOLECULE_INVENTORY_FILE"]).get_hosts(
    "working"
)

CLI = 'REDISCLI_AUTH="$(cat /etc/novaops/valkey-password)" valkey-cli -p 6379'
SENTINEL = 'REDISCLI_AUTH="$(cat /etc/novaops/valkey-password)" valkey-cli -p 26379'
MASTER = "molecule-working"


def _pairs(text):
    lines = text.splitlines()
    return dict(zip(lines[0::2], lines[1::2], strict=True))


def test_min_replicas_live(host):
    config = _pairs(host.check_output(f"{CLI} CONFIG GET 'min-replicas-*'"))
    assert config == {"min-replicas-to-write": "1", "min-replicas-max-lag": "3"}


def test_min_replicas_persisted(host):
    conf = host.file("/data/valkey.conf").content_string
    assert "min-replicas-to-write 1" in conf.splitlines()
    assert "min-replicas-max-lag 3" in conf.splitlines()


def test_sentinel_settings(host):
    master = _pairs(host.check_output(f"{SENTINEL} SENTINEL MASTER {MASTER}"))
    assert master["down-after-milliseconds"] == "3000"
    assert master["failover-timeout"] == "6000"
    assert master["parallel-syncs"] == "1"
    assert master["quorum"] == "2"
    assert master["num-other-sentinels"] == "2"
    conf = host.file("/data/sentinel.conf").content_string
    assert f"sentinel down-after-milliseconds {MASTER} 3000" in conf


def test_ckquorum_ok(host):
    assert host.check_output(f"{SENTINEL} SENTINEL CKQUORUM {MASTER}").startswith("OK 3 usable Sentinels")


def test_primary_accepts_writes_with_replicas(host):
    role = host.check_output(f"{CLI} ROLE").splitlines()[0]
    if role == "master":
        assert host.check_output(f"{CLI} SET molecule:probe ok") == "OK"


def test_password_not_on_any_command_line(host):
    password = host.file("/etc/novaops/valkey-password").content_string.strip()
    cmdlines = host.check_output("cat /proc/[0-9]*/cmdline 2>/dev/null | tr '\\0' ' '")
    assert password and password not in cmdlines


def test_sentinel_refuses_anonymous_clients(host):
    for command in ("SENTINEL MASTERS", f"SENTINEL FAILOVER {MASTER}", f"SENTINEL SET {MASTER} quorum 1"):
        assert "NOAUTH" in host.run(f"valkey-cli -p 26379 {command}").stdout, command
