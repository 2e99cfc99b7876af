"""pgbackrest scenario, repository host: stanza, check, a full backup, encryption, metrics, cron."""

from __future__ import annotations

import json

testinfra_hosts = ["mol-pgbr-backup"]

STANZA = "mol-episodic"
TEXTFILE = "/var/lib/node-exporter/textfile"


def _pgbackrest(host, *args):
    return host.run("runuser -u pgbackrest -- pgbackrest --stanza=%s " + " ".join(["%s"] * len(args)), STANZA, *args)


def test_stanza_has_an_encrypted_full_backup(host):
    out = _pgbackrest(host, "info", "--output=json")
    assert out.rc == 0, out.stderr
    info = json.loads(out.stdout)[0]
    assert info["status"]["code"] == 0, info["status"]
    assert info["cipher"] == "aes-256-cbc"
    assert any(b["type"] == "full" for b in info["backup"])
    assert info["archive"] and info["archive"][0]["max"], "no WAL archived"


def test_check_passes(host):
    out = _pgbackrest(host, "check")
    assert out.rc == 0, out.stdout + out.stderr


def test_repository_files_are_private(host):
    conf = host.file("/etc/pgbackrest/pgbackrest.conf")
    assert conf.user == "pgbackrest" and conf.mode == 0o600
    assert host.file("/etc/pgbackrest/tls/host.key").mode == 0o600
    assert host.file("/srv/backup/pgbackrest").user == "pgbackrest"


def test_backup_metrics(host):
    prom = host.file(f"{TEXTFILE}/novaops_backup_pgbackrest-episodic-full.prom").content_string
    assert 'novaops_backup_last_status{tool="pgbackrest",target="episodic",type="full"} 1' in prom
    size = [line for line in prom.splitlines() if line.startswith("novaops_backup_last_size_bytes{")]
    assert size and float(size[0].rsplit(" ", 1)[1]) > 0
    check = host.file(f"{TEXTFILE}/novaops_backup_pgbackrest-episodic-check.prom").content_string
    assert 'novaops_backup_check_last_status{tool="pgbackrest",target="episodic",check="check"} 1' in check


def test_node_exporter_serves_the_textfile_metrics(host):
    out = host.check_output("curl -fsS http://127.0.0.1:9100/metrics")
    assert 'novaops_backup_last_status{target="episodic",tool="pgbackrest",type="full"} 1' in out


def test_cron_schedules_the_jobs(host):
    cron = host.file("/etc/cron.d/novaops-pgbackrest")
    assert cron.user == "root" and cron.mode == 0o644
    for job in ("full", "diff", "check", "verify"):
        assert f"--job pgbackrest-episodic-{job} " in cron.content_string
    assert host.process.filter(comm="cron")
