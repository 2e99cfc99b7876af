"""PostgreSQL 17 under Patroni: the relational, vector, graph and time-series tiers, their
HAProxy router and the multi-target postgres exporter."""

from __future__ import annotations

from components.engines.patroni import config
from components.kinds import Kind, Probe, Scrape, http_ready

KIND = Kind(
    name="patroni",
    image="postgres",
    role="database",
    # The volume holds PGDATA's parent: Patroni renames PGDATA after a failed bootstrap,
    # which a mount point cannot survive.
    ports={"postgres": 5432, "patroni": 8008, "node": 9100, "logs": 3903},
    data_path="/var/lib/postgresql",
    healthcheck=("CMD", "pg_isready", "-q", "-h", "127.0.0.1", "-p", "5432"),
    scrapes=(
        Scrape(port="patroni"),
        Scrape(
            port="postgres",
            via="postgres-exporter",
            path="/probe",
            job="postgres",
            auth_per_tier=True,
            secret="monitor",
        ),
        # node exporter inside the member (images/postgres): its data volume's free space.
        Scrape(port="node", job="member-disk"),
        # mtail inside the member (images/postgres): failed logins and audit records from its log.
        Scrape(port="logs", job="postgres-log"),
    ),
    # restapi: Patroni's REST API basic auth (unsafe endpoints). The tier's own etcd user password
    # is a secret of its etcd tier (model.dcs_client_secret), handed to member_files as DCS_SECRET.
    secrets=("superuser", "replication", "rewind", "monitor", "restapi"),
    min_memory_mb=128,
    extensions=("vector", "age", "timescaledb"),
    dcs_engine="etcd",
    router="pg-router",
    # The monitor login role, as the postgres exporter (config.bootstrap_sql).
    probe=Probe(
        port="postgres",
        protocol="postgres",
        secret="monitor",
        user=config.PG_MONITOR_USER,
        database=config.MONITOR_DATABASE,
    ),
)

ROUTER = Kind(
    # HAProxy in front of a Patroni tier: 5000 reaches the primary, 5001 the replicas
    # (health-checked through Patroni's REST API; the pg_router Ansible role owns the config).
    name="pg-router",
    image="haproxy",
    role="router",
    ports={"primary": 5000, "replicas": 5001, "stats": 8404},
    data_path=None,
    healthcheck=http_ready(8404, "/metrics"),
    scrapes=(Scrape(port="stats"),),
    min_memory_mb=96,  # HAProxy needs little, but Ansible's modules run inside it too
)

EXPORTER = Kind(
    # Multi-target: Prometheus asks it to probe each PostgreSQL member.
    name="postgres-exporter",
    image="exporters",
    role="exporter",
    ports={"metrics": 9187},
    data_path=None,
    healthcheck=http_ready(9187, "/metrics"),
    scrapes=(Scrape(port="metrics"),),
    min_memory_mb=32,
)

KINDS = (KIND, ROUTER, EXPORTER)
