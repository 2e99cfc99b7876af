"""Valkey with Sentinel: the hot key-value tiers, and the exporter that scrapes them."""

from __future__ import annotations

from components.kinds import Kind, Probe, Scrape, http_ready, sh

KIND = Kind(
    name="valkey",
    image="valkey",
    role="database",
    ports={"valkey": 6379, "sentinel": 26379},
    data_path="/data",
    # Reads the password from the uploaded file so it never sits in the container's config.
    healthcheck=sh('REDISCLI_AUTH="$(cat /etc/novaops/valkey-password)" valkey-cli -p 6379 ping | grep -q PONG'),
    scrapes=(
        Scrape(port="valkey", via="valkey-exporter", scheme="redis", path="/scrape", secret="password"),
        # Sentinel beside each member, through the same exporter with the same password (its
        # requirepass): its INFO counts failed logins too (acl_access_denied_auth).
        Scrape(
            port="sentinel", via="valkey-exporter", scheme="redis", path="/scrape", secret="password", job="sentinel"
        ),
    ),
    secrets=("password",),
    min_members=3,
    min_memory_mb=64,
    probe=Probe(port="valkey", protocol="valkey", secret="password"),
    why_members="Sentinel needs 3 voters so that quorum 2 survives the loss of one",
)

EXPORTER = Kind(
    # Multi-target redis_exporter: Prometheus asks it to scrape each Valkey member.
    name="valkey-exporter",
    image="exporters",
    role="exporter",
    ports={"metrics": 9121},
    data_path=None,
    healthcheck=http_ready(9121, "/metrics"),
    scrapes=(Scrape(port="metrics"),),
    min_memory_mb=32,
)

KINDS = (KIND, EXPORTER)
