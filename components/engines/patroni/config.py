"""Patroni and PostgreSQL config: patroni.yml and the bootstrap SQL (the images/postgres contract)."""

from __future__ import annotations

from components.engines.render import sql_ident, sql_literal, yaml_text

# Config headers still read "Rendered by components/engine_configs.py" (the module this came from):
# a changed byte would replace every running member on the next `pulumi up`.

PATRONI_NAMESPACE = "/novaops/"
APP_DATABASE = "nova"
# The postgres exporter and the prober log in here: it exists from initdb on (before
# bootstrap.sql creates the app database), unlike a database named after the monitor role.
MONITOR_DATABASE = "postgres"
PG_DATA_DIR = "/var/lib/postgresql/data"
PG_BIN_DIR = "/usr/lib/postgresql/17/bin"
PG_PGPASS = "/var/lib/postgresql/.pgpass_patroni"
POST_BOOTSTRAP = "/usr/local/bin/novaops-post-bootstrap"
BOOTSTRAP_SQL = "/etc/novaops/bootstrap.sql"

PG_SUPERUSER = "postgres"
PG_REPLICATION_USER = "replicator"
PG_REWIND_USER = "rewind"
PG_MONITOR_USER = "monitor"
# Basic-auth user of Patroni's unsafe REST endpoints (PATCH /config, POST /switchover, /restart, ...):
# Ansible, the drills and patronictl log in as it; GET health checks (HAProxy, status) stay open.
RESTAPI_USER = "novaops"


# pgaudit on every tier: DDL and role/grant changes (CREATE/ALTER/DROP ROLE, GRANT, REVOKE) are
# logged as AUDIT records with class, command and object, never the statement text, which for
# CREATE/ALTER ROLE carries a password.
AUDIT_LIBRARY = "pgaudit"
AUDIT_PARAMETERS = {"pgaudit.log": "ddl, role", "pgaudit.log_statement": "off", "pgaudit.log_parameter": "off"}
# PostgreSQL's log (audit records, authentication failures) in files on the member's data volume,
# outside PGDATA (a reinit or restore leaves it): one per weekday, truncated when its day comes
# round again, so a week is kept. mtail in the member (images/postgres) counts what matters in it.
# Patroni's own log stays on the container's output.
PG_LOG_DIR = "/var/lib/postgresql/log"
LOG_PARAMETERS = {
    "logging_collector": "on",
    "log_directory": PG_LOG_DIR,
    "log_filename": "postgresql-%a.log",
    "log_rotation_age": "1d",
    "log_rotation_size": 0,
    "log_truncate_on_rotation": "on",
    "log_file_mode": "0600",
    # who, from where: %r is the client's address, what a runbook looks for after a failed login
    "log_line_prefix": "%m [%p] %q%u@%d %r ",
}


def _etcd_login(scope: str, password: str) -> dict[str, str]:
    # The etcd tier creates this user and turns auth on at its bootstrap, before any member of
    # this tier first starts: given a login, Patroni 4.0.7 waits forever on an etcd whose auth is
    # still off (that etcd answers without the "error" field Patroni matches, patroni/patroni#3525).
    return {"username": dcs_user(scope), "password": password}


def dcs_login(scope: str, password: str) -> dict[str, str]:
    """The tier's user in its etcd as the etcd tier creates it: {user, prefix (its whole grant), password}."""
    return {"user": dcs_user(scope), "prefix": f"/{PATRONI_NAMESPACE.strip('/')}/{scope}/", "password": password}


def dcs_user(scope: str) -> str:
    """The tier's user in its etcd: one per Patroni tier, named after its scope (the etcd
    role grants it its own key prefix only, ansible/roles/etcd_cluster)."""
    return f"patroni-{scope}"


# Internal docker bridges only; host ports are published on 127.0.0.1 alone.
PG_HBA = [
    "local   all          postgres                  peer",
    "local   all          all                       scram-sha-256",
    "host    replication  replicator  0.0.0.0/0     scram-sha-256",
    "host    replication  replicator  ::/0          scram-sha-256",
    "host    all          all         0.0.0.0/0     scram-sha-256",
    "host    all          all         ::/0          scram-sha-256",
]


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
    restapi_password: str,
    dcs_password: str,
    shared_preload_libraries: list[str],
    parameters: dict[str, str | int] | None = None,
) -> str:
    """patroni.yml for one member; ``etcd_hosts`` are ``host:port`` client endpoints (etcd3 DCS),
    logged into as the tier's own etcd user (``dcs_password``)."""
    pg_parameters: dict[str, str | int] = {
        "wal_level": "replica",
        "hot_standby": "on",
        "max_connections": 200,
        "max_wal_senders": 10,
        "max_replication_slots": 10,
        "wal_keep_size": "256MB",
        "wal_log_hints": "on",
        "password_encryption": "scram-sha-256",
        "shared_preload_libraries": ",".join([AUDIT_LIBRARY, *shared_preload_libraries]),
        **AUDIT_PARAMETERS,
        **LOG_PARAMETERS,
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
            "authentication": {"username": RESTAPI_USER, "password": restapi_password},
        },
        # patronictl inside the member (recover-patroni-member.yml's reinit, operators) sends these.
        "ctl": {"authentication": {"username": RESTAPI_USER, "password": restapi_password}},
        "etcd3": {"hosts": list(etcd_hosts), **_etcd_login(scope, dcs_password)},
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
        "watchdog": {"mode": "off"},  # no /dev/watchdog in containers
        "tags": {"nofailover": False, "noloadbalance": False, "clonefrom": False, "nosync": False},
    }
    return yaml_text(config)


def bootstrap_sql(*, database: str, extensions: list[str], monitor_password: str | None = None) -> str:
    """psql script run once by Patroni's post_bootstrap: create ``database`` and its extensions,
    and (with ``monitor_password``) the ``monitor`` login role the postgres exporter uses."""
    lines = [
        "-- Rendered by components/engine_configs.py; run by novaops-post-bootstrap (psql -v ON_ERROR_STOP=1).",
        "\\set ON_ERROR_STOP on",
    ]
    if monitor_password is not None:
        lines.append(
            f"CREATE ROLE {PG_MONITOR_USER} LOGIN PASSWORD {sql_literal(monitor_password)} IN ROLE pg_monitor;"
        )
    if database != "postgres":
        lines.append(
            f"SELECT 'CREATE DATABASE {sql_ident(database).replace(chr(39), chr(39) * 2)}'"
            f" WHERE NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = {sql_literal(database)})\\gexec"
        )
    lines.append(f"\\connect {sql_ident(database)}")
    # pgaudit's event triggers: without them its DDL records leave the object's type and name empty.
    for ext in dict.fromkeys([AUDIT_LIBRARY, *extensions]):
        lines.append(f"CREATE EXTENSION IF NOT EXISTS {sql_ident(ext)} CASCADE;")
    return "\n".join(lines) + "\n"
