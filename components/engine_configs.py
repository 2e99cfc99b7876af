"""Config files for the engine images (images/*), rendered as plain strings.

Pure functions, no Pulumi: the callers feed them container DNS names, ports and
plain secret strings. Paths used here are the image contract (images/README.md):
configs live in /etc/novaops, data in the image's data directory.
"""
from __future__ import annotations

import json
from urllib.parse import quote

import yaml

PG_DATA_DIR = "/var/lib/postgresql/data"
PG_BIN_DIR = "/usr/lib/postgresql/17/bin"
PG_PGPASS = "/var/lib/postgresql/.pgpass_patroni"
POST_BOOTSTRAP = "/usr/local/bin/novaops-post-bootstrap"
BOOTSTRAP_SQL = "/etc/novaops/bootstrap.sql"
VALKEY_DATA_DIR = "/data"
NATS_STORE_DIR = "/data/jetstream"
ETCD_DATA_DIR = "/var/lib/etcd"

PG_SUPERUSER = "postgres"
PG_REPLICATION_USER = "replicator"
PG_REWIND_USER = "rewind"
PG_MONITOR_USER = "monitor"

# Internal docker bridges only; host ports are published on 127.0.0.1 alone.
PG_HBA = [
    "local   all          postgres                  peer",
    "local   all          all                       scram-sha-256",
    "host    replication  replicator  0.0.0.0/0     scram-sha-256",
    "host    replication  replicator  ::/0          scram-sha-256",
    "host    all          all         0.0.0.0/0     scram-sha-256",
    "host    all          all         ::/0          scram-sha-256",
]


def _yaml(data: object) -> str:
    return yaml.safe_dump(data, sort_keys=False, default_flow_style=False, allow_unicode=True)


def _dq(value: str) -> str:
    """Double-quoted string for valkey/sentinel configs (sdssplitargs escapes)."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\r", "\\r") + '"'


def _json_str(value: str) -> str:
    """Double-quoted string for the NATS config format (JSON escapes are accepted)."""
    return json.dumps(value, ensure_ascii=False)


def _sql_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _sql_literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def patroni_yml(
    *,
    scope: str,
    namespace: str,
    member: str,
    etcd_hosts: list[str],
    postgres_port: int,
    api_port: int,
    superuser_password: str,
    replication_password: str,
    rewind_password: str,
    shared_preload_libraries: list[str],
    parameters: dict[str, str | int] | None = None,
) -> str:
    """patroni.yml for one member; ``etcd_hosts`` are ``host:port`` client endpoints (etcd3 DCS)."""
    pg_parameters: dict[str, str | int] = {
        "wal_level": "replica",
        "hot_standby": "on",
        "max_connections": 200,
        "max_wal_senders": 10,
        "max_replication_slots": 10,
        "wal_keep_size": "256MB",
        "wal_log_hints": "on",
        "password_encryption": "scram-sha-256",
        "shared_preload_libraries": ",".join(shared_preload_libraries),
    }
    if "timescaledb" in shared_preload_libraries:
        # No outbound internet from the data networks: don't let TimescaleDB try.
        pg_parameters["timescaledb.telemetry_level"] = "off"
        # TimescaleDB's scheduler + job workers need more than the default 8 background workers.
        pg_parameters["max_worker_processes"] = 16
    pg_parameters.update(parameters or {})
    config = {
        "scope": scope,
        "namespace": namespace,
        "name": member,
        "restapi": {
            "listen": f"0.0.0.0:{api_port}",
            "connect_address": f"{member}:{api_port}",
        },
        "etcd3": {"hosts": list(etcd_hosts)},
        "bootstrap": {
            "dcs": {
                "ttl": 30,
                "loop_wait": 10,
                "retry_timeout": 10,
                "maximum_lag_on_failover": 1048576,
                "postgresql": {
                    "use_pg_rewind": True,
                    "use_slots": True,
                    "parameters": pg_parameters,
                },
            },
            "initdb": [{"encoding": "UTF8"}, {"locale": "C.UTF-8"}, "data-checksums"],
            "post_bootstrap": POST_BOOTSTRAP,
        },
        "postgresql": {
            "listen": f"0.0.0.0:{postgres_port}",
            "connect_address": f"{member}:{postgres_port}",
            "data_dir": PG_DATA_DIR,
            "bin_dir": PG_BIN_DIR,
            "pgpass": PG_PGPASS,
            "authentication": {
                "superuser": {"username": PG_SUPERUSER, "password": superuser_password},
                "replication": {"username": PG_REPLICATION_USER, "password": replication_password},
                "rewind": {"username": PG_REWIND_USER, "password": rewind_password},
            },
            "pg_hba": list(PG_HBA),
            # Replicas clone right away instead of waiting for a spread checkpoint (minutes).
            "basebackup": [{"checkpoint": "fast"}],
        },
        "watchdog": {"mode": "off"},   # no /dev/watchdog in containers
        "tags": {"nofailover": False, "noloadbalance": False, "clonefrom": False, "nosync": False},
    }
    return _yaml(config)


def bootstrap_sql(*, database: str, extensions: list[str], monitor_password: str | None = None) -> str:
    """psql script run once by Patroni's post_bootstrap: create ``database`` and its extensions,
    and (with ``monitor_password``) the ``monitor`` login role the postgres exporter uses."""
    lines = [
        "-- Rendered by components/engine_configs.py; run by novaops-post-bootstrap (psql -v ON_ERROR_STOP=1).",
        "\\set ON_ERROR_STOP on",
    ]
    if monitor_password is not None:
        lines.append(f"CREATE ROLE {PG_MONITOR_USER} LOGIN PASSWORD {_sql_literal(monitor_password)} IN ROLE pg_monitor;")
    if database != "postgres":
        lines.append(
            f"SELECT 'CREATE DATABASE {_sql_ident(database).replace(chr(39), chr(39) * 2)}'"
            f" WHERE NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = {_sql_literal(database)})\\gexec"
        )
    lines.append(f"\\connect {_sql_ident(database)}")
    for ext in extensions:
        lines.append(f"CREATE EXTENSION IF NOT EXISTS {_sql_ident(ext)} CASCADE;")
    return "\n".join(lines) + "\n"


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
        f"requirepass {_dq(password)}",
        f"masterauth {_dq(password)}",
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
        f"sentinel monitor {master_name} {primary} {valkey_port} {quorum}",
        f"sentinel auth-pass {master_name} {_dq(password)}",
        f"sentinel down-after-milliseconds {master_name} {down_after_ms}",
        f"sentinel failover-timeout {master_name} {failover_timeout_ms}",
        f"sentinel parallel-syncs {master_name} 1",
    ]
    return "\n".join(lines) + "\n"


def nats_conf(
    *,
    member: str,
    members: list[str],
    cluster_name: str,
    client_port: int,
    cluster_port: int,
    monitor_port: int,
    user: str,
    password: str,
) -> str:
    """nats-server config: JetStream in /data/jetstream, clustered with the other ``members``.

    Clients and routes both authenticate with ``user``/``password`` (routes carry it in their URLs).
    """
    cred = f"{quote(user, safe='')}:{quote(password, safe='')}"
    routes = [f"nats-route://{cred}@{m}:{cluster_port}" for m in members if m != member]
    route_lines = "\n".join(f"    {_json_str(r)}" for r in routes)
    return (
        "# Rendered by components/engine_configs.py\n"
        f"server_name: {_json_str(member)}\n"
        f'listen: "0.0.0.0:{client_port}"\n'
        f'http: "0.0.0.0:{monitor_port}"\n'
        "\n"
        "jetstream {\n"
        f"  store_dir: {_json_str(NATS_STORE_DIR)}\n"
        "}\n"
        "\n"
        "authorization {\n"
        f"  user: {_json_str(user)}\n"
        f"  password: {_json_str(password)}\n"
        "}\n"
        "\n"
        "cluster {\n"
        f"  name: {_json_str(cluster_name)}\n"
        f'  listen: "0.0.0.0:{cluster_port}"\n'
        "  authorization {\n"
        f"    user: {_json_str(user)}\n"
        f"    password: {_json_str(password)}\n"
        "  }\n"
        "  routes: [\n"
        f"{route_lines}\n"
        "  ]\n"
        "}\n"
    )


def etcd_yml(*, member: str, members: list[str], client_port: int, peer_port: int, cluster_token: str) -> str:
    """etcd --config-file for one member of a new static cluster (plain HTTP, internal network)."""
    config = {
        "name": member,
        "data-dir": ETCD_DATA_DIR,
        "listen-client-urls": f"http://0.0.0.0:{client_port}",
        "advertise-client-urls": f"http://{member}:{client_port}",
        "listen-peer-urls": f"http://0.0.0.0:{peer_port}",
        "initial-advertise-peer-urls": f"http://{member}:{peer_port}",
        "initial-cluster": ",".join(f"{m}=http://{m}:{peer_port}" for m in members),
        "initial-cluster-state": "new",
        "initial-cluster-token": cluster_token,
        "logger": "zap",
        "log-outputs": ["stderr"],
    }
    return _yaml(config)


def valkey_exporter_passwords(*, targets: dict[str, str]) -> str:
    """--redis.password-file JSON for redis_exporter: ``redis://host:port`` -> password."""
    return json.dumps(dict(sorted(targets.items())), indent=2) + "\n"
