"""etcd: the consensus tier, Patroni's DCS."""

from __future__ import annotations

from components.kinds import Kind, Probe, Scrape, http_ready

KIND = Kind(
    name="etcd",
    image="etcd",
    role="database",
    ports={"client": 2379, "peer": 2380},
    data_path="/var/lib/etcd",
    # /health, not `etcdctl endpoint health`: once auth is on, the latter fails without a user
    # ("user name is empty"), while /health (leader, alarms, a quorum read) and /metrics stay open.
    healthcheck=http_ready(2379, "/health"),
    scrapes=(Scrape(port="client"),),
    # root: etcd's root user (operators, backups, the etcd_cluster role that enables auth).
    # Each DCS client tier's user password is that tier's own secret (its Kind's DCS_SECRET).
    secrets=("root",),
    odd_members=True,
    min_memory_mb=64,
    probe=Probe(port="client", protocol="etcd"),
    why_members="an even etcd membership tolerates no more failures than one member fewer",
)

KINDS = (KIND,)
