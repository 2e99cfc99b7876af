"""etcd: the consensus tier, Patroni's DCS."""

from __future__ import annotations

from components.kinds import Kind, Probe, Scrape

KIND = Kind(
    name="etcd",
    image="etcd",
    role="database",
    ports={"client": 2379, "peer": 2380},
    data_path="/var/lib/etcd",
    # /health (leader, alarms, a quorum read; open without a user, like /metrics) and auth on:
    # the tiers that log in here start only once the bootstrap turned it on (images/etcd/etcd-ready)
    healthcheck=("CMD", "etcd-ready", "2379"),
    scrapes=(Scrape(port="client"),),
    # root: etcd's root user (operators, backups, the bootstrap and the etcd_cluster role). The
    # tier also holds one secret per client tier, its DCS user's password (model.dcs_client_secret).
    secrets=("root",),
    odd_members=True,
    min_memory_mb=64,
    probe=Probe(port="client", protocol="etcd"),
    why_members="an even etcd membership tolerates no more failures than one member fewer",
)

KINDS = (KIND,)
