"""Authenticated control planes on the converged stack: Patroni's REST API is out of every division's
reach (segmented networks) and, from the operator's machine, refuses PATCH /config, POST /switchover
and POST /restart without credentials or with wrong ones (401) and lets the operator in; etcd refuses
a division host's unauthenticated reads and writes. Runs after test_stack_operated.py."""

from __future__ import annotations

import base64
import json
import shlex

import pytest
import yaml

from tests.e2e.conftest import ROOT, STACK, needs_converge, patroni_tiers, stack_topology
from tests.e2e.test_stack_operated import group_hosts, host

pytestmark = [pytest.mark.docker, pytest.mark.e2e, needs_converge]

ETCD_TIER = "coordination"
EVERYTHING = {"key": base64.b64encode(b"/").decode(), "range_end": base64.b64encode(b"\0").decode()}


def _division_using(stack, tier: str) -> str:
    """A division host whose catalog `uses` names ``tier`` (the one that may reach it)."""
    return next(d.service.container for d in stack_topology(stack.name).divisions.values() if tier in d.uses)


def _curl(division, method: str, url: str, body: dict | None = None, *, auth: str | None = None, headers=()) -> tuple:
    """(HTTP status, body) of a request sent from the division host. Test-only credentials reach
    curl through its stdin config (-K -), not its argv."""
    config = f'user = "{auth}"\n' if auth else ""
    args = ["curl", "-sS", "-K", "-", "-X", method, "-o", "/dev/stdout", "-w", "\\n%{http_code}", url]
    for h in headers:
        args += ["-H", h]
    if body is not None:
        args += ["-H", "Content-Type: application/json", "-d", json.dumps(body)]
    out = division.check_output(f"printf %s {shlex.quote(config)} | {shlex.join(args)}")
    text, _, code = out.rpartition("\n")
    return int(code), text


def _etcd(stack) -> str:
    first = next(iter(stack.members(ETCD_TIER).values()))
    return f"http://{first['container']}:2379"


def test_etcd_refuses_unauthenticated_reads_and_writes(stack, converged):
    division = host(stack, _division_using(stack, ETCD_TIER))
    code, text = _curl(division, "POST", f"{_etcd(stack)}/v3/kv/range", EVERYTHING)
    assert "user name is empty" in text and '"kvs"' not in text, (code, text)
    put = {"key": base64.b64encode(b"/novaops/intruder").decode(), "value": base64.b64encode(b"x").decode()}
    code, text = _curl(division, "POST", f"{_etcd(stack)}/v3/kv/put", put)
    assert "user name is empty" in text and '"header"' not in text, (code, text)


def test_etcd_lets_the_operator_in(stack, converged):
    division = host(stack, _division_using(stack, ETCD_TIER))
    login = {"name": "root", "password": stack.secret(ETCD_TIER, "root")}
    code, text = _curl(division, "POST", f"{_etcd(stack)}/v3/auth/authenticate", login)
    assert code == 200, text
    token = json.loads(text)["token"]
    code, text = _curl(division, "POST", f"{_etcd(stack)}/v3/kv/range", EVERYTHING, headers=[f"Authorization: {token}"])
    keys = [base64.b64decode(kv["key"]).decode() for kv in json.loads(text).get("kvs", [])]
    assert code == 200 and any(k.startswith(f"/novaops/{STACK}-") for k in keys), text


def _operator_http(port: int, method: str, path: str, body: dict | None = None, auth: str | None = None) -> tuple:
    """(HTTP status, body) of a request from the operator's machine to a published port on loopback."""
    import urllib.error
    import urllib.request

    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", method=method)
    if body is not None:
        request.data = json.dumps(body).encode()
        request.add_header("Content-Type", "application/json")
    if auth:
        request.add_header("Authorization", "Basic " + base64.b64encode(auth.encode()).decode())
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


UNSAFE = (
    ("PATCH", "/config", {"ttl": 30}),
    ("POST", "/switchover", {"leader": "nobody"}),
    ("POST", "/restart", {"role": "nobody"}),
)


def _patroni_port(stack, tier: str) -> int:
    return stack.port(tier, next(iter(stack.members(tier))), "patroni")


@pytest.mark.parametrize("tier", patroni_tiers())
def test_patroni_members_are_out_of_every_divisions_reach(stack, converged, tier):
    """Divisions reach a Patroni tier only through its router: the REST API does not even resolve."""
    api = f"http://{next(iter(stack.members(tier).values()))['container']}:8008"
    for division in sorted(_divisions(stack)):
        run = host(stack, division).run(f"curl -sS -m 5 -o /dev/null -X PATCH {api}/config")
        assert run.rc in (6, 7, 28), (division, tier, run.rc, run.stderr)  # resolve, connect, timeout


@pytest.mark.parametrize("tier", patroni_tiers())
def test_patroni_refuses_unsafe_calls_without_credentials(stack, converged, tier):
    port = _patroni_port(stack, tier)
    for method, path, body in UNSAFE:
        code, text = _operator_http(port, method, path, body)
        assert code == 401, (tier, method, path, code, text)
    code, text = _operator_http(port, "PATCH", "/config", {"ttl": 30}, auth="novaops:wrong")
    assert code == 401, ("a wrong password", code, text)


@pytest.mark.parametrize("tier", patroni_tiers())
def test_patroni_lets_the_operator_in(stack, converged, tier):
    port = _patroni_port(stack, tier)
    auth = f"novaops:{stack.secret(tier, 'restapi')}"
    code, text = _operator_http(port, "GET", "/config")
    ttl = json.loads(text)["ttl"]
    # The same ttl: allowed and changes nothing.
    code, text = _operator_http(port, "PATCH", "/config", {"ttl": ttl}, auth=auth)
    assert code == 200, (code, text)
    # Past authentication, refused on their merits (no such leader, no member of that role): not 401.
    for path, body in (("/switchover", {"leader": "nobody"}), ("/restart", {"role": "nobody"})):
        code, text = _operator_http(port, "POST", path, body, auth=auth)
        assert code not in (401, 403) and code >= 400, (path, code, text)


def _divisions(stack) -> list[str]:
    return [d.service.container for d in stack_topology(stack.name).divisions.values()]


@pytest.mark.parametrize("tier", patroni_tiers())
def test_pgaudit_records_role_and_grant_changes_without_their_text(stack, converged, tier):
    """The converge created the divisions' roles and grants: the tier's members logged them as AUDIT
    records (class ROLE) in their log files (on the data volume, 0600, a file per weekday), statement
    text withheld, and no division password is in any member's log."""
    import docker

    from components.engines.patroni.config import LOG_PARAMETERS
    from tools.stackctl import STATE_DIR

    client = docker.from_env()
    log_dir = LOG_PARAMETERS["log_directory"]
    logs, modes = {}, {}
    for m in stack.members(tier).values():
        container = client.containers.get(m["container"])
        listing = container.exec_run(["sh", "-c", f"stat -c '%a %n' {log_dir}/*.log"], user="postgres")
        assert listing.exit_code == 0, f"{m['container']}: no log file in {log_dir}: {listing.output!r}"
        modes[m["container"]] = [line.split()[0] for line in listing.output.decode().splitlines()]
        logs[m["container"]] = container.exec_run(["sh", "-c", f"cat {log_dir}/*.log"], user="postgres").output.decode(
            errors="replace"
        )
    assert all(mode == "600" for entry in modes.values() for mode in entry), modes
    audit = [line for text in logs.values() for line in text.splitlines() if "AUDIT: SESSION" in line]
    roles = [line for line in audit if ",ROLE," in line]
    assert roles, f"{tier}: no ROLE audit record in {sorted(logs)}"
    assert all("<not logged>" in line for line in audit), [x for x in audit if "<not logged>" not in x][:3]
    passwords = [p.read_text().split()[0] for p in (STATE_DIR / STACK / "credentials").glob(f"*/{tier}")]
    assert passwords, "the divisions' credential files for the tier"
    assert not any(p in text for p in passwords for text in logs.values()), f"{tier}: a division password in a log"


@pytest.mark.parametrize("tier", patroni_tiers())
def test_audit_records_are_kept_off_the_members_on_the_backup_host(stack, converged, tier):
    """The audit trail outlives a member: a table created and dropped now on the tier's primary and
    a failed login reach the backup host's store within 60 s (audit_log role: rsyslog over RELP with
    mutual TLS), in the day's file of a member of that tier, owned by the receiver and not readable
    by others; the converge's ROLE records are there too."""
    import uuid

    import docker
    import psycopg

    from tests.e2e.conftest import eventually

    marker = f"audit_probe_{uuid.uuid4().hex[:10]}"
    host_, port = stack.outputs["tiers"][tier]["router"]["primary"].rsplit(":", 1)
    login = {"host": host_, "port": int(port), "dbname": "nova", "connect_timeout": 5}
    with psycopg.connect(**login, user="postgres", password=stack.secret(tier, "superuser"), autocommit=True) as conn:
        conn.execute(f"create table public.{marker} (id int)")
        conn.execute(f"drop table public.{marker}")
    with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
        psycopg.connect(**login, user=marker, password="not-the-password").close()

    role = yaml.safe_load((ROOT / "ansible" / "roles" / "audit_log" / "defaults" / "main.yml").read_text())
    store, owner = role["audit_log_store_dir"], role["audit_log_receiver_user"]
    backup = docker.from_env().containers.get(group_hosts(stack, "backup")[0])
    members = sorted(m["container"] for m in stack.members(tier).values())

    def grep(pattern: str) -> list[str]:
        run = backup.exec_run(["sh", "-c", f"grep -r -- {shlex.quote(pattern)} {store} || true"], user=owner)
        return run.output.decode(errors="replace").splitlines()

    def stored() -> list[str] | None:
        lines = grep(marker)
        wanted = ("CREATE TABLE", "DROP TABLE", "password authentication failed")
        return lines if all(any(w in line for line in lines) for w in wanted) else None

    lines = eventually(stored, 60, interval=2, what=f"{tier}: {marker}'s records on the backup host")
    files = {line.split(":", 1)[0] for line in lines}
    assert all(f.split("/")[-2] in members and f.endswith(".log") for f in files), (members, files)
    roles = [line for line in grep(",ROLE,") if line.split(":", 1)[0].split("/")[-2] in members]
    assert roles, f"{tier}: the converge's ROLE records are not on the backup host"
    modes = backup.exec_run(["sh", "-c", f"stat -c '%a %U' {' '.join(sorted(files))}"]).output.decode().split("\n")
    assert all(m == f"640 {owner}" for m in filter(None, modes)), modes
