"""pgbackrest scenario, Patroni member: WAL archiving through Patroni, TLS server running."""

from __future__ import annotations

testinfra_hosts = ["mol-pgbr-episodic-1"]


def _setting(host, name):
    return host.check_output("runuser -u postgres -- psql -XAtq -c %s", f"SHOW {name}")


def test_archiving_is_on(host):
    assert _setting(host, "archive_mode") == "on"
    assert _setting(host, "archive_command") == "pgbackrest --stanza=mol-episodic archive-push %p"
    failed = host.check_output(
        "runuser -u postgres -- psql -XAtq -c %s",
        "SELECT archived_count > 0 AND (last_failed_time IS NULL OR last_archived_time > last_failed_time)"
        " FROM pg_stat_archiver",
    )
    assert failed == "t"


def test_archive_settings_are_in_patroni_dynamic_config(host):
    out = host.check_output("curl -fsS http://127.0.0.1:8008/config")
    assert '"archive_mode": "on"' in out.replace('":"', '": "')


def test_tls_server_is_supervised(host):
    assert host.run("pgrep -f '[p]gbackrest-tls-server'").rc == 0
    assert host.run("pgrep -f '[p]gbackrest --config=/etc/pgbackrest/pgbackrest.conf server'").rc == 0
    assert host.file("/etc/pgbackrest/tls/host.key").mode == 0o600
