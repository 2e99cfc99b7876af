"""Tenants reach only what they use: from inside each division host, every other container of the
stack is tried on every port it declares, at every address it has on any network, and by its name.
A division may reach only the client endpoints of the tiers it uses (a routed tier's router, else
the tier's members) and Prometheus, which scrapes it over a network the two share alone and which
refuses a division without its login (test_monitoring_auth.py); everything else must be
unreachable. The expectation is derived here from the catalog (who uses what), independently of
how the model lays out networks.

Prints the matrix (division x target: allowed/refused) and "K of N forbidden targets reachable".
"""

from __future__ import annotations

import json
from collections import defaultdict

import docker
import pytest

from tests.e2e.conftest import needs_converge

pytestmark = [pytest.mark.docker, pytest.mark.e2e, needs_converge]

CONNECT_TIMEOUT_S = 1.0
# Run inside the division host (its own python3): every (address, port) once, in parallel threads,
# each connect bounded; prints {"address:port": true|false}.
PROBE = (
    """
import json, socket, sys
from concurrent.futures import ThreadPoolExecutor
targets = json.loads(sys.argv[1])
def attempt(t):
    try:
        with socket.create_connection((t[0], t[1]), timeout=%s):
            return True
    except OSError:
        return False
with ThreadPoolExecutor(64) as pool:
    ok = list(pool.map(attempt, targets))
print(json.dumps({f"{a}:{p}": r for (a, p), r in zip(targets, ok)}))
"""
    % CONNECT_TIMEOUT_S
)


def client_endpoints(topo, division) -> set[str]:
    """Containers a division may reach: for each tier it uses, the router if the tier has one,
    else its members."""
    out: set[str] = set()
    for key in division.uses:
        tier = topo.tiers[key]
        out |= {tier.router.container} if tier.router else {m.container for m in tier.members}
    return out


def scraped_by(topo) -> set[str]:
    """Prometheus: its scrape of the division host is the one path back (authenticated)."""
    prometheus = topo.monitoring.get("prometheus")
    return {prometheus.container} if prometheus else set()


def addresses(client: docker.DockerClient, container: str) -> list[str]:
    """The container's name and every IPv4 address it has on any network."""
    nets = client.containers.get(container).attrs["NetworkSettings"]["Networks"]
    return [container, *sorted(n["IPAddress"] for n in nets.values() if n.get("IPAddress"))]


def attempts_from(client: docker.DockerClient, division: str, targets: list[tuple[str, int]]) -> dict[str, bool]:
    run = client.containers.get(division).exec_run(["python3", "-c", PROBE, json.dumps(targets)])
    assert run.exit_code == 0, f"probe in {division} failed: {run.output.decode()[-500:]}"
    return json.loads(run.output.decode().strip().splitlines()[-1])


def reachability(client, topo, division) -> dict[str, tuple[bool, list[str]]]:
    """target container -> (allowed, the address:port pairs that connected)."""
    me = division.service.container
    plan: dict[str, list[tuple[str, int]]] = {}
    for svc in topo.services():
        if svc.container != me:
            plan[svc.container] = [(a, p.container) for a in addresses(client, svc.container) for p in svc.ports]
    results = attempts_from(client, me, [t for targets in plan.values() for t in targets])
    allowed = client_endpoints(topo, division) | scraped_by(topo)
    return {c: (c in allowed, [f"{a}:{p}" for a, p in targets if results[f"{a}:{p}"]]) for c, targets in plan.items()}


def test_divisions_reach_only_the_client_endpoints_of_their_tiers(stack, topology, converged):
    client, topo = docker.from_env(), topology
    forbidden_total, leaks, unreachable = 0, [], []
    matrix: dict[str, dict[str, str]] = defaultdict(dict)
    for division in topo.divisions.values():
        for target, (allowed, connected) in reachability(client, topo, division).items():
            if allowed:
                matrix[division.key][target] = "allowed" if connected else "ALLOWED-BUT-UNREACHABLE"
                if not connected:
                    unreachable.append((division.key, target))
            else:
                forbidden_total += 1
                matrix[division.key][target] = "LEAK " + ",".join(connected) if connected else "refused"
                if connected:
                    leaks.append((division.key, target, connected))
    print_matrix(matrix)
    print(f"\n{len(leaks)} of {forbidden_total} forbidden targets reachable from a division host")
    assert not leaks, f"divisions reach what they must not: {leaks}"
    assert not unreachable, f"divisions cannot reach the endpoints of tiers they use: {unreachable}"


def print_matrix(matrix: dict[str, dict[str, str]]) -> None:
    for division, row in matrix.items():
        allowed = sorted(t for t, v in row.items() if v == "allowed")
        other = {t: v for t, v in row.items() if v not in ("allowed", "refused")}
        refused = sum(v == "refused" for v in row.values())
        print(f"\n{division}: allowed {', '.join(allowed) or '-'}; refused {refused}; other {other or '-'}")
