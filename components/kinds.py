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
    exporters): Prometheus asks that exporter at ``path`` with ``?target=[<scheme>://]host:port``,
    plus ``auth_module=<tier>`` when ``auth_per_tier`` (the exporter holds one login per tier).
    """
    port: str
    path: str = "/metrics"
    via: str | None = None
    scheme: str | None = None
    job: str | None = None            # default: the kind's name
    auth_per_tier: bool = False
    # Keep the labels the target exposes (the prober labels each probe with the probed
    # service's tier/service/kind, which must not be renamed to exported_*).
    honor_labels: bool = False


@dataclass(frozen=True)
class Probe:
    """How novaops-prober checks a database member with the service's own protocol.

    ``secret``: the tier secret the probe authenticates with (None: the service needs none).
    """
    port: str
    protocol: str                     # postgres | valkey | nats | etcd (images/exporters/novaops-prober)
    secret: str | None = None


@dataclass(frozen=True)
class Kind:
    name: str
    image: str                      # key of an image under images/ (or a remote image for grafana)
    role: str                       # novaops.role label: database | monitoring | exporter | division | backup
    ports: dict[str, int]           # port name -> port inside the container
    data_path: str | None
    healthcheck: tuple[str, ...]
    scrapes: tuple[Scrape, ...]
    secrets: tuple[str, ...] = ()
    min_members: int = 1
    odd_members: bool = False
    min_memory_mb: int = 64
    extensions: tuple[str, ...] = ()   # extensions a tier of this kind may ask for
    dcs_engine: str | None = None      # engine of the tier this kind needs as its DCS
    router: str | None = None          # kind of the per-tier router giving stable endpoints
    probe: Probe | None = None         # protocol-level health probe (database engines)
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
            scrapes=(Scrape(port="valkey", via="valkey-exporter", scheme="redis", path="/scrape"),),
            secrets=("password",), min_members=3, min_memory_mb=64,
            probe=Probe(port="valkey", protocol="valkey", secret="password"),
            why_members="Sentinel needs 3 voters so that quorum 2 survives the loss of one",
        ),
        Kind(
            name="patroni", image="postgres", role="database",
                        # The volume holds PGDATA's parent: Patroni renames PGDATA after a failed bootstrap,
            # which a mount point cannot survive.
            ports={"postgres": 5432, "patroni": 8008, "node": 9100}, data_path="/var/lib/postgresql",
            healthcheck=("CMD", "pg_isready", "-q", "-h", "127.0.0.1", "-p", "5432"),
            scrapes=(Scrape(port="patroni"),
                     Scrape(port="postgres", via="postgres-exporter", path="/probe", job="postgres", auth_per_tier=True),
                     # node exporter inside the member (images/postgres): its data volume's free space.
                     Scrape(port="node", job="member-disk")),
            secrets=("superuser", "replication", "rewind", "monitor"), min_memory_mb=128,
            extensions=("vector", "age", "timescaledb"), dcs_engine="etcd", router="pg-router",
            # The monitor login role, as the postgres exporter (engine_configs.bootstrap_sql).
            probe=Probe(port="postgres", protocol="postgres", secret="monitor"),
        ),
        Kind(
            name="nats", image="nats", role="database",
            ports={"client": 4222, "cluster": 6222, "monitor": 8222, "metrics": 7777}, data_path="/data",
            healthcheck=("CMD", "curl", "-fsS", "-o", "/dev/null", "http://127.0.0.1:8222/healthz"),
            scrapes=(Scrape(port="metrics"),),
            secrets=("password",), odd_members=True, min_memory_mb=64,
            probe=Probe(port="client", protocol="nats", secret="password"),
            why_members="JetStream's meta group needs an odd number of servers for a clear majority",
        ),
        Kind(
            name="etcd", image="etcd", role="database",
            ports={"client": 2379, "peer": 2380}, data_path="/var/lib/etcd",
            healthcheck=("CMD", "etcdctl", "--endpoints=http://127.0.0.1:2379", "endpoint", "health"),
            scrapes=(Scrape(port="client"),),
            odd_members=True, min_memory_mb=64,
            probe=Probe(port="client", protocol="etcd"),
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
            scrapes=(Scrape(port="web"),), min_memory_mb=128,
        ),
        Kind(
            name="alertmanager", image="alertmanager", role="monitoring",
            ports={"web": 9093}, data_path="/alertmanager",
            healthcheck=("CMD", "curl", "-fsS", "-o", "/dev/null", "http://127.0.0.1:9093/-/ready"),
            scrapes=(Scrape(port="web"),), min_memory_mb=32,
        ),
        Kind(
            name="valkey-exporter", image="exporters", role="exporter",
            ports={"metrics": 9121}, data_path=None,
            healthcheck=("CMD", "curl", "-fsS", "-o", "/dev/null", "http://127.0.0.1:9121/metrics"),
            scrapes=(Scrape(port="metrics"),), min_memory_mb=32,
        ),
        Kind(
            # Dev webhook receiver: keeps what Alertmanager delivers, for drills and tests.
            name="alert-receiver", image="exporters", role="monitoring",
            ports={"web": 9095}, data_path="/data",
            healthcheck=("CMD", "curl", "-fsS", "-o", "/dev/null", "http://127.0.0.1:9095/-/healthy"),
            scrapes=(Scrape(port="web"),), min_memory_mb=32,
        ),
        Kind(
            # Multi-target: Prometheus asks it to probe each PostgreSQL member.
            name="postgres-exporter", image="exporters", role="exporter",
            ports={"metrics": 9187}, data_path=None,
            healthcheck=("CMD", "curl", "-fsS", "-o", "/dev/null", "http://127.0.0.1:9187/metrics"),
            scrapes=(Scrape(port="metrics"),), min_memory_mb=32,
        ),
        Kind(
            # Protocol-level probes of every database member (images/exporters/novaops-prober).
            name="prober", image="exporters", role="exporter",
            ports={"metrics": 9199}, data_path=None,
            healthcheck=("CMD", "curl", "-fsS", "-o", "/dev/null", "http://127.0.0.1:9199/metrics"),
            scrapes=(Scrape(port="metrics", honor_labels=True),), min_memory_mb=32,
        ),
        Kind(
            # Grafana is not packaged by Debian: the official image is pulled where a registry is reachable.
            name="grafana", image="grafana", role="monitoring",
            ports={"web": 3000}, data_path="/var/lib/grafana",
            healthcheck=("CMD", "wget", "-q", "-O", "/dev/null", "http://127.0.0.1:3000/api/health"),
            scrapes=(Scrape(port="web"),), secrets=("admin",), min_memory_mb=128,
        ),
    )
}

_HOST_HEALTH = _sh("pgrep -x sshd >/dev/null && curl -fsS -o /dev/null http://127.0.0.1:9100/metrics")

DIVISION_HOST = Kind(
    name="division-host", image="host", role="division",
    ports={"ssh": 22, "node": 9100}, data_path="/srv/nova",
    healthcheck=_HOST_HEALTH, scrapes=(Scrape(port="node"),), min_memory_mb=64,
)

BACKUP_HOST = Kind(
    name="backup-host", image="backup", role="backup",
    ports={"ssh": 22, "node": 9100}, data_path="/srv/backup",
    healthcheck=_HOST_HEALTH, scrapes=(Scrape(port="node"),), min_memory_mb=64,
)

PG_ROUTER = Kind(
    # HAProxy in front of a Patroni tier: 5000 reaches the primary, 5001 the replicas
    # (health-checked through Patroni's REST API; the pg_router Ansible role owns the config).
    name="pg-router", image="haproxy", role="router",
    ports={"primary": 5000, "replicas": 5001, "stats": 8404}, data_path=None,
    healthcheck=("CMD", "curl", "-fsS", "-o", "/dev/null", "http://127.0.0.1:8404/metrics"),
    scrapes=(Scrape(port="stats"),),
    min_memory_mb=96,   # HAProxy needs little, but Ansible's modules run inside it too
)

ROUTERS: dict[str, Kind] = {PG_ROUTER.name: PG_ROUTER}

ALL_KINDS: dict[str, Kind] = {
    **DATABASE_ENGINES, **MONITORING, **ROUTERS, DIVISION_HOST.name: DIVISION_HOST, BACKUP_HOST.name: BACKUP_HOST,
}
