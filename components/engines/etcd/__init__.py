"""etcd: the consensus tier, Patroni's DCS."""

from __future__ import annotations

from components.kinds import Kind, Probe, Scrape

KIND = Kind(
    name="etcd",
    image="etcd",
    role="database",
    ports={"client": 2379, "peer": 2380},
    data_path="/var/lib/etcd",
    healthcheck=("CMD", "etcdctl", "--endpoints=http://127.0.0.1:2379", "endpoint", "health"),
    scrapes=(Scrape(port="client"),),
    odd_members=True,
    min_memory_mb=64,
    probe=Probe(port="client", protocol="etcd"),
    why_members="an even etcd membership tolerates no more failures than one member fewer",
)

KINDS = (KIND,)
