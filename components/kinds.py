"""What each kind of container is: image, ports inside the container, data path,
health check, secrets it needs, how Prometheus scrapes it.

Pure data, no Pulumi: the topology model, the Ansible inventory generator and the
Pulumi components all read it.
"""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Scrape:
    """How Prometheus reads a service's metrics.

    ``via`` names another kind that scrapes on the service's behalf (multi-target
    exporters): Prometheus then asks that exporter with ``?target=<scheme>://host:port``.
    """
    port: str
    path: str = "/metrics"
    via: str | None = None
    scheme: str | None = None


@dataclass(frozen=True)
class Kind:
    name: str
    image: str                      # key of an image under images/ (or a remote image for grafana)
    role: str                       # novaops.role label: database | monitoring | exporter | division | backup
    ports: dict[str, int]           # port name -> port inside the container
    data_path: str | None
    healthcheck: tuple[str, ...]
    scrape: Scrape
    secrets: tuple[str, ...] = ()
    min_members: int = 1
    odd_members: bool = False
    min_memory_mb: int = 64
    extensions: tuple[str, ...] = ()   # extensions a tier of this kind may ask for
    dcs_engine: str | None = None      # engine of the tier this kind needs as its DCS
    why_members: str = ""


def _sh(script: str) -> tuple[str, ...]:
    return ("CMD-SHELL", script)


DATABASE_ENGINES: dict[str, Kind] = {
    k.name: k
    for k in (
        Kind(
            name="valkey", image="valkey", role="database",
            ports={"valkey": 6379, "sentinel": 26379}, data_path="/data",
            # Reads the password from the uploaded file so it never sits in the container's config.
            healthcheck=_sh('REDISCLI_AUTH="$(cat /etc/novaops/valkey-password)" valkey-cli -p 6379 ping | grep -q PONG'),
            scrape=Scrape(port="valkey", via="valkey-exporter", scheme="redis"),
            secrets=("password",), min_members=3, min_memory_mb=64,
            why_members="Sentinel needs 3 voters so that quorum 2 survives the loss of one",
        ),
        Kind(
            name="patroni", image="postgres", role="database",
                        # The volume holds PGDATA's parent: Patroni renames PGDATA after a failed bootstrap,
            # which a mount point cannot survive.
            ports={"postgres": 5432, "patroni": 8008}, data_path="/var/lib/postgresql",
            healthcheck=("CMD", "pg_isready", "-q", "-h", "127.0.0.1", "-p", "5432"),
            scrape=Scrape(port="patroni"),
            secrets=("superuser", "replication", "rewind"), min_memory_mb=128,
            extensions=("vector", "age", "timescaledb"), dcs_engine="etcd",
        ),
        Kind(
            name="nats", image="nats", role="database",
            ports={"client": 4222, "cluster": 6222, "monitor": 8222, "metrics": 7777}, data_path="/data",
            healthcheck=("CMD", "curl", "-fsS", "-o", "/dev/null", "http://127.0.0.1:8222/healthz"),
            scrape=Scrape(port="metrics"),
            secrets=("password",), odd_members=True, min_memory_mb=64,
            why_members="JetStream's meta group needs an odd number of servers for a clear majority",
        ),
        Kind(
            name="etcd", image="etcd", role="database",
            ports={"client": 2379, "peer": 2380}, data_path="/var/lib/etcd",
            healthcheck=("CMD", "etcdctl", "--endpoints=http://127.0.0.1:2379", "endpoint", "health"),
            scrape=Scrape(port="client"),
            odd_members=True, min_memory_mb=64,
            why_members="an even etcd membership tolerates no more failures than one member fewer",
        ),
    )
}

MONITORING: dict[str, Kind] = {
    k.name: k
    for k in (
        Kind(
            name="prometheus", image="prometheus", role="monitoring",
            ports={"web": 9090}, data_path="/prometheus",
            healthcheck=("CMD", "curl", "-fsS", "-o", "/dev/null", "http://127.0.0.1:9090/-/ready"),
            scrape=Scrape(port="web"), min_memory_mb=128,
        ),
        Kind(
            name="alertmanager", image="alertmanager", role="monitoring",
            ports={"web": 9093}, data_path="/alertmanager",
            healthcheck=("CMD", "curl", "-fsS", "-o", "/dev/null", "http://127.0.0.1:9093/-/ready"),
            scrape=Scrape(port="web"), min_memory_mb=32,
        ),
        Kind(
            name="valkey-exporter", image="exporters", role="exporter",
            ports={"metrics": 9121}, data_path=None,
            healthcheck=("CMD", "curl", "-fsS", "-o", "/dev/null", "http://127.0.0.1:9121/metrics"),
            scrape=Scrape(port="metrics"), min_memory_mb=32,
        ),
        Kind(
            # Grafana is not packaged by Debian: the official image is pulled where a registry is reachable.
            name="grafana", image="grafana", role="monitoring",
            ports={"web": 3000}, data_path="/var/lib/grafana",
            healthcheck=("CMD", "wget", "-q", "-O", "/dev/null", "http://127.0.0.1:3000/api/health"),
            scrape=Scrape(port="web"), secrets=("admin",), min_memory_mb=128,
        ),
    )
}

_HOST_HEALTH = _sh("pgrep -x sshd >/dev/null && curl -fsS -o /dev/null http://127.0.0.1:9100/metrics")

DIVISION_HOST = Kind(
    name="division-host", image="host", role="division",
    ports={"ssh": 22, "node": 9100}, data_path="/srv/nova",
    healthcheck=_HOST_HEALTH, scrape=Scrape(port="node"), min_memory_mb=64,
)

BACKUP_HOST = Kind(
    name="backup-host", image="backup", role="backup",
    ports={"ssh": 22, "node": 9100}, data_path="/srv/backup",
    healthcheck=_HOST_HEALTH, scrape=Scrape(port="node"), min_memory_mb=64,
)

ALL_KINDS: dict[str, Kind] = {
    **DATABASE_ENGINES, **MONITORING, DIVISION_HOST.name: DIVISION_HOST, BACKUP_HOST.name: BACKUP_HOST,
}
