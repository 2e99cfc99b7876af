"""Valkey and Sentinel config, and the exporter's password file (the images/valkey contract)."""

from __future__ import annotations

import json

from components.engines.render import dq

# Config headers still read "Rendered by components/engine_configs.py" (the module this came from):
# a changed byte would replace every running member on the next `pulumi up`.

VALKEY_DATA_DIR = "/data"


def master_name(stack: str, tier: str) -> str:
    """The name Sentinel monitors a tier's primary under (sentinel.conf, clients, drills)."""
    return f"{stack}-{tier}"


def valkey_conf(*, member: str, port: int, password: str, primary: str | None) -> str:
    """valkey.conf; ``primary`` None => this member starts as primary, else as its replica."""
    lines = [
        "# Rendered by components/engine_configs.py; valkey-with-sentinel runs a writable copy in /data.",
        "bind 0.0.0.0",
        f"port {port}",
        "protected-mode no",
        "daemonize no",
        'logfile ""',
        f"dir {VALKEY_DATA_DIR}",
        "appendonly yes",
        f"requirepass {dq(password)}",
        f"masterauth {dq(password)}",
        f"replica-announce-ip {member}",
        f"replica-announce-port {port}",
    ]
    if primary is not None:
        lines.append(f"replicaof {primary} {port}")
    return "\n".join(lines) + "\n"


def sentinel_conf(
    *,
    member: str,
    master_name: str,
    primary: str,
    valkey_port: int,
    sentinel_port: int,
    quorum: int,
    password: str,
    down_after_ms: int = 3000,
    failover_timeout_ms: int = 6000,
) -> str:
    """sentinel.conf monitoring ``master_name`` (initially ``primary``) by DNS name."""
    lines = [
        "# Rendered by components/engine_configs.py; valkey-with-sentinel runs a writable copy in /data.",
        "bind 0.0.0.0",
        f"port {sentinel_port}",
        "protected-mode no",
        "daemonize no",
        'logfile ""',
        f"dir {VALKEY_DATA_DIR}",
        "sentinel resolve-hostnames yes",
        "sentinel announce-hostnames yes",
        f"sentinel announce-ip {member}",
        f"sentinel announce-port {sentinel_port}",
        # Sentinel's default user (operators, drills, status, novaload) holds the tier password, which
        # Sentinels also log into each other with; divisions get discovery-only ACL users
        # (ansible/roles/division_db_access). Unauthenticated clients get NOAUTH.
        f"requirepass {dq(password)}",
        f"sentinel sentinel-pass {dq(password)}",
        f"sentinel monitor {master_name} {primary} {valkey_port} {quorum}",
        f"sentinel auth-pass {master_name} {dq(password)}",
        f"sentinel down-after-milliseconds {master_name} {down_after_ms}",
        f"sentinel failover-timeout {master_name} {failover_timeout_ms}",
        f"sentinel parallel-syncs {master_name} 1",
    ]
    return "\n".join(lines) + "\n"


def valkey_exporter_passwords(*, targets: dict[str, str]) -> str:
    """--redis.password-file JSON for redis_exporter: ``redis://host:port`` -> password."""
    return json.dumps(dict(sorted(targets.items())), indent=2) + "\n"
