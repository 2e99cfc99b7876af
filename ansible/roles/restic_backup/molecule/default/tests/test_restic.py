"""restic_backup scenario, backup host: snapshots of Valkey, etcd and a JetStream stream, check, metrics."""

from __future__ import annotations

import json

testinfra_hosts = ["mol-restic-backup"]

TEXTFILE = "/var/lib/node-exporter/textfile"
ENV = (
    "RESTIC_REPOSITORY=/srv/backup/restic RESTIC_PASSWORD_FILE=/etc/novaops-restic/restic-password "
    "RESTIC_CACHE_DIR=/var/lib/restic/cache"
)


def _restic(host, args):
    return host.run(f"runuser -u backup -- env {ENV} restic {args}")


def test_snapshots_of_every_target(host):
    out = _restic(host, "snapshots --json")
    assert out.rc == 0, out.stderr
    tags = {t for snap in json.loads(out.stdout) for t in snap.get("tags") or []}
    assert {"working", "coordination", "streams", "streams:EVENTS"} <= tags, tags


def test_snapshot_contents(host):
    files = _restic(host, "ls latest --tag working").stdout + _restic(host, "ls latest --tag coordination").stdout
    assert "dump.rdb" in files and "etcd.db" in files
    stream = _restic(host, "ls latest --tag streams:EVENTS").stdout
    assert "EVENTS.snap" in stream and "EVENTS.snap.json" in stream


def test_valkey_dump_came_from_the_replica(host):
    out = _restic(host, "snapshots --json --tag working")
    tags = json.loads(out.stdout)[-1]["tags"]
    assert "source:mol-restic-working-2" in tags


def test_check_passes(host):
    out = _restic(host, "check")
    assert out.rc == 0, out.stdout + out.stderr


def test_repository_is_private(host):
    assert host.file("/srv/backup/restic").user == "backup"
    assert host.file("/srv/backup/restic").mode == 0o700
    for name in ("restic-password", "working-password", "streams-password"):
        f = host.file(f"/etc/novaops-restic/{name}")
        assert f.user == "backup" and f.mode == 0o600


def test_metrics(host):
    for job, target in (
        ("restic-working", "working"),
        ("restic-coordination", "coordination"),
        ("restic-streams-EVENTS", "streams:EVENTS"),
    ):
        prom = host.file(f"{TEXTFILE}/novaops_backup_{job}.prom").content_string
        assert f'novaops_backup_last_status{{tool="restic",target="{target}",type="snapshot"}} 1' in prom
        size = [line for line in prom.splitlines() if line.startswith("novaops_backup_last_size_bytes{")]
        assert size and float(size[0].rsplit(" ", 1)[1]) > 0, prom
    check = host.file(f"{TEXTFILE}/novaops_backup_restic-check.prom").content_string
    assert 'novaops_backup_check_last_status{tool="restic",target="repository",check="check"} 1' in check


def test_no_password_on_command_lines(host):
    script = host.file("/usr/local/lib/novaops-backup/restic-working").content_string
    assert "REDISCLI_AUTH=$(cat /etc/novaops-restic/working-password)" in script
    assert "-a " not in script


def test_cron_schedules_the_jobs(host):
    cron = host.file("/etc/cron.d/novaops-restic").content_string
    for needle in ("--job restic-working ", "--job restic-coordination ", "restic-streams", "--job restic-check "):
        assert needle in cron
    assert host.process.filter(comm="cron")


def test_stream_restores_from_restic(host):
    # The last test: it deletes the stream, then restores it from the restic snapshot
    # ($JS.API.STREAM.RESTORE) and reads every message back.
    nats = (
        "runuser -u backup -- nats-js-snapshot --server mol-restic-streams-1:4222 --user nova "
        "--password-file /etc/novaops-restic/streams-password"
    )
    spool = "/tmp/mol-stream-restore"
    host.run(f"rm -rf {spool}")
    restored = _restic(host, f"restore latest --tag streams:EVENTS --target {spool}")
    assert restored.rc == 0, restored.stderr
    snap = host.run(f"find {spool} -name EVENTS.snap").stdout.strip()
    assert snap, "EVENTS.snap not in the restored snapshot"
    deleted = host.run(f"{nats} request '$JS.API.STREAM.DELETE.EVENTS'")
    assert deleted.rc == 0 and '"success":true' in deleted.stdout.replace(" ", ""), deleted.stdout + deleted.stderr
    restore = host.run(f"{nats} restore EVENTS {snap} --replicas 1")
    assert restore.rc == 0, restore.stderr
    assert json.loads(restore.stdout)["state"]["messages"] == 20
    dump = host.run(f"{nats} dump EVENTS")
    assert dump.rc == 0, dump.stderr
    assert [line.split("\t") for line in dump.stdout.splitlines()] == [
        [str(i), "events.test", f"message {i}"] for i in range(1, 21)
    ]
