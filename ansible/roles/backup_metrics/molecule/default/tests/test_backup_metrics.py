"""Verify: the wrapper records success, keeps the last success across a failure, and never overlaps."""

import re

testinfra_hosts = ["ansible://novaops-molecule-backup-metrics"]

JOB = "/usr/local/sbin/novaops-backup-job"
PROM = "/var/lib/node-exporter/textfile/novaops_backup_{}.prom"


def metric(text: str, name: str) -> float:
    match = re.search(rf"^{name}\{{[^}}]*\}} (\S+)$", text, re.M)
    assert match, f"{name} missing in:\n{text}"
    return float(match.group(1))


def test_wrapper_installed(host):
    f = host.file(JOB)
    assert f.user == "root" and f.mode == 0o755
    for d in ("/var/lib/novaops-backup", "/var/log/novaops-backup"):
        assert host.file(d).mode == 0o750


def test_success_then_failure_keeps_last_success(host):
    job = "molecule-snapshot"
    ok = host.run(f"{JOB} --job {job} --tool restic --target working --type snapshot --user backup -- true")
    assert ok.rc == 0, ok.stderr
    first = host.file(PROM.format(job)).content_string
    assert metric(first, "novaops_backup_last_status") == 1
    success = metric(first, "novaops_backup_last_success_timestamp_seconds")
    assert success > 0
    assert 'tool="restic"' in first and 'target="working"' in first and 'type="snapshot"' in first

    failed = host.run(f"{JOB} --job {job} --tool restic --target working --type snapshot --user backup -- false")
    assert failed.rc != 0
    second = host.file(PROM.format(job)).content_string
    assert metric(second, "novaops_backup_last_status") == 0
    assert metric(second, "novaops_backup_last_success_timestamp_seconds") == success
    assert metric(second, "novaops_backup_last_run_timestamp_seconds") >= success


def test_check_job_metrics(host):
    job = "molecule-check"
    run = host.run(f"{JOB} --job {job} --tool restic --target repository --check check -- true")
    assert run.rc == 0, run.stderr
    text = host.file(PROM.format(job)).content_string
    assert metric(text, "novaops_backup_check_last_status") == 1


def test_overlapping_run_exits_75_and_leaves_metrics(host):
    job = "molecule-lock"
    lock = f"/run/lock/novaops-backup/{job}.lock"
    assert host.run(f"{JOB} --job {job} --tool restic --target working --type snapshot -- true").rc == 0
    before = host.file(PROM.format(job)).content_string
    # A first run holds the lock for 20 s; wait (bounded) until it does, then a second run
    # (no --wait) must give up at once with 75 and leave the metrics as they were.
    host.run(f"sh -c '{JOB} --job {job} --tool restic --target working --type snapshot -- sleep 20 >/dev/null 2>&1 &'")
    held = host.run(f"for i in $(seq 60); do flock -n {lock} true || exit 0; sleep 0.5; done; exit 1")
    assert held.rc == 0, "the first run never took the lock"
    second = host.run(f"{JOB} --job {job} --tool restic --target working --type snapshot -- true")
    assert second.rc == 75, second.stdout + second.stderr
    assert host.file(PROM.format(job)).content_string == before


def test_pgbackrest_verify_errors_fail_despite_exit_0(host):
    # pgbackrest verify exits 0 when it finds damage; the wrapper reads its text output.
    job = "molecule-verify"
    damaged = host.run(
        f"{JOB} --job {job} --tool pgbackrest --target episodic --check verify -- "
        "printf 'stanza: dev-episodic\\n    status: error\\n'"
    )
    assert damaged.rc == 1, damaged.stdout + damaged.stderr
    assert "verify reported status error" in damaged.stderr
    assert metric(host.file(PROM.format(job)).content_string, "novaops_backup_check_last_status") == 0
    clean = host.run(
        f"{JOB} --job {job} --tool pgbackrest --target episodic --check verify -- "
        "printf 'stanza: dev-episodic\\n    status: ok\\n'"
    )
    assert clean.rc == 0, clean.stdout + clean.stderr
    assert metric(host.file(PROM.format(job)).content_string, "novaops_backup_check_last_status") == 1
    silent = host.run(f"{JOB} --job {job} --tool pgbackrest --target episodic --check verify -- true")
    assert silent.rc == 1 and "no 'status:' line" in silent.stderr
