"""NATS JetStream: the event-bus tiers."""

from __future__ import annotations

from components.engines.nats import config
from components.kinds import Kind, Probe, Scrape, http_ready

KIND = Kind(
    name="nats",
    image="nats",
    role="database",
    ports={"client": 4222, "cluster": 6222, "monitor": 8222, "metrics": 7777},
    data_path="/data",
    healthcheck=http_ready(8222, "/healthz"),
    scrapes=(Scrape(port="metrics"),),
    # password: operations' user (and routes); system: the system account's user (operators).
    # Each division using the tier has its own user, whose password the tier holds.
    secrets=("password", "system"),
    division_secrets=True,
    carries_channels=True,
    odd_members=True,
    min_memory_mb=64,
    probe=Probe(port="client", protocol="nats", secret="password", user=config.USER),
    why_members="JetStream's meta group needs an odd number of servers for a clear majority",
)

KINDS = (KIND,)
