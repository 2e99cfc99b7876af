"""Through the router: :5000 reaches the primary, :5001 a replica; metrics on :8404."""

from __future__ import annotations

import json
import time

import pytest
import testinfra

testinfra_hosts = ["ansible://patroni", "ansible://routers"]

ROUTER = "novaops-molrouter-episodic-router"
# The superuser's password is read inside the member (the molecule run's throwaway secret).
PSQL = (
    "PGPASSWORD=\"$(python3 -c 'import yaml; c = yaml.safe_load(open(\"/etc/novaops/patroni.yml\"));"
    " print(c[\"postgresql\"][\"authentication\"][\"superuser\"][\"password\"])')\""
    " timeout 15 psql -h {router} -p {port} -U postgres -d 'dbname=nova connect_timeout=5'"
    " -XtAc 'select pg_is_in_recovery(), host(inet_server_addr())'"
)


def is_router(host) -> bool:
    return host.backend.get_hostname() == ROUTER


def through_router(host, port: int, want: str | None = None, attempts: int = 20) -> str:
    """pg_is_in_recovery() through the router; retried (bounded) until it answers (``want``)."""
    return through_router_at(host, port, want, attempts)[0]


def through_router_at(host, port: int, want: str | None = None, attempts: int = 20) -> tuple[str, str]:
    """(pg_is_in_recovery(), server address) through the router; retried (bounded) until it answers."""
    cmd = None
    for _ in range(attempts):
        cmd = host.run(PSQL.format(router=ROUTER, port=port))
        if cmd.rc == 0:
            recovery, addr = cmd.stdout.strip().split("|")
            if want is None or recovery == want:
                return recovery, addr
        time.sleep(1)
    raise AssertionError(f"psql through {ROUTER}:{port}: rc={cmd.rc} out={cmd.stdout!r} err={cmd.stderr!r}")


def test_primary_port_reaches_the_primary(host):
    if is_router(host):
        pytest.skip("psql runs in the Patroni members")
    assert through_router(host, 5000) == "f"


def test_replicas_port_reaches_a_replica(host):
    if is_router(host):
        pytest.skip("psql runs in the Patroni members")
    assert through_router(host, 5001) == "t"


def test_metrics_and_backends(host):
    if not is_router(host):
        pytest.skip("router only")
    metrics = host.check_output("curl -fsS http://127.0.0.1:8404/metrics")
    assert 'haproxy_backend_active_servers{proxy="primary"} 1' in metrics
    assert 'haproxy_backend_active_servers{proxy="replicas"} 1' in metrics
    assert 'haproxy_frontend_status{proxy="primary"} 1' in metrics or "haproxy_frontend_" in metrics


def test_config_owned_by_haproxy_and_reloaded(host):
    if not is_router(host):
        pytest.skip("router only")
    cfg = host.file("/etc/novaops/haproxy.cfg")
    assert cfg.user == "haproxy" and cfg.mode == 0o600
    assert "frontend primary" in cfg.content_string
    # The master (child of tini, PID 1) stayed; its current worker came from a reload (-sf).
    master = host.check_output("pgrep -o -P 1 -x haproxy")
    workers = host.check_output(f"ps -o args= --ppid {master}")
    assert "-sf" in workers
    host.run_expect([0], "haproxy -c -q -f /etc/novaops/haproxy.cfg")


def test_zz_graceful_failover_through_router(host, request):
    """Stop the primary's Patroni (SIGTERM, what `docker stop` delivers through tini):
    :5000 reaches the new primary within the 10 s RTO; :5001 falls back to the primary
    while no replica is left; the old primary rejoins as a replica."""
    if not is_router(host):
        pytest.skip("runs once, from the router's test")
    inventory = request.config.option.ansible_inventory
    members = {
        n: testinfra.get_host(f"ansible://{n}", ansible_inventory=inventory)
        for n in ("novaops-molrouter-episodic-1", "novaops-molrouter-episodic-2")
    }
    role = {n: json.loads(h.check_output("curl -s http://127.0.0.1:8008/patroni"))["role"] for n, h in members.items()}
    old = next(n for n, r in role.items() if r == "primary")
    new = next(n for n in members if n != old)
    new_addr = members[new].check_output("hostname -i").split()[0]
    started = time.monotonic()
    members[old].run_expect([0], "kill -TERM $(pgrep -f '^/usr/bin/python3 /usr/bin/patroni ')")
    elapsed = None
    for _ in range(60):  # bounded: 30 s
        cmd = members[new].run(PSQL.format(router=ROUTER, port=5000))
        if cmd.rc == 0 and cmd.stdout.strip() == f"f|{new_addr}":
            elapsed = time.monotonic() - started
            break
        time.sleep(0.5)
    assert elapsed is not None and elapsed <= 10, f"new primary not behind :5000 after {elapsed}"
    # No replica left (the old primary is stopped, the new one fails /replica): reads go to the primary.
    router = host
    for _ in range(20):  # bounded: fall 2 x fastinter
        if 'haproxy_backend_active_servers{proxy="replicas"} 0' in router.check_output(
            "curl -fsS http://127.0.0.1:8404/metrics"
        ):
            break
        time.sleep(0.5)
    assert through_router_at(members[new], 5001) == ("f", new_addr)
    members[old].run_expect(
        [0], "nohup novaops-run postgres patroni /etc/novaops/patroni.yml >>/var/log/patroni.log 2>&1 &"
    )
    assert through_router(members[new], 5001, want="t", attempts=60) == "t"
    print(f"graceful failover {old} -> {new}: primary reachable through the router after {elapsed:.1f} s")
