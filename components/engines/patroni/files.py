"""What a Patroni member, its tier's HAProxy router and the postgres exporter run and receive."""

from __future__ import annotations

from collections.abc import Mapping

import yaml

from components.engines.patroni import config
from components.member_files import MemberFiles, config_path
from components.model import Service, Tier, Topology

# Extensions that must be loaded at server start; the rest only need CREATE EXTENSION.
PRELOAD = {"age": "age", "timescaledb": "timescaledb"}


def patroni_scope(topology: Topology, tier: Tier) -> str:
    return f"{topology.stack}-{tier.key}"


# The engine interface's name for it: the prefix a DCS client's keys live under in its DCS tier.
dcs_scope = patroni_scope
# The key under which member_files receive the tier's DCS user password: a secret of its DCS
# tier (model.dcs_client_secret), which creates the user before the tier first starts.
DCS_SECRET = "dcs"


def dcs_user(topology: Topology, tier: Tier) -> str:
    """The tier's own user in its DCS tier (patroni.yml's etcd3.username)."""
    return config.dcs_user(patroni_scope(topology, tier))


def dcs_prefix(topology: Topology, tier: Tier) -> str:
    """Every key Patroni keeps for the tier: /<namespace>/<scope>/ (its DCS user's whole grant)."""
    return config.dcs_login(patroni_scope(topology, tier), "")["prefix"]


def member_files(topology: Topology, tier: Tier, member: Service, secrets: Mapping[str, str]) -> MemberFiles:
    dcs = topology.dcs_of(tier)
    dcs_hosts = ["%s:%d" % topology.endpoint(member, m, "client") for m in dcs.members]
    preload = sorted(PRELOAD[e] for e in tier.extensions if e in PRELOAD)
    return MemberFiles(
        # patroni-with-pgbackrest: pgBackRest's TLS server beside Patroni (the repository host reaches it)
        command=("novaops-run", "postgres", "patroni-with-pgbackrest", config_path("patroni.yml")),
        files={
            config_path("patroni.yml"): config.patroni_yml(
                scope=patroni_scope(topology, tier),
                namespace=config.PATRONI_NAMESPACE,
                member=member.container,
                etcd_hosts=dcs_hosts,
                postgres_port=member.port("postgres").container,
                api_port=member.port("patroni").container,
                superuser_password=secrets["superuser"],
                replication_password=secrets["replication"],
                rewind_password=secrets["rewind"],
                restapi_password=secrets["restapi"],
                dcs_password=secrets[DCS_SECRET],
                shared_preload_libraries=preload,
            ),
            config_path("bootstrap.sql"): config.bootstrap_sql(
                database=config.APP_DATABASE, extensions=list(tier.extensions), monitor_password=secrets["monitor"]
            ),
        },
        secret_paths=frozenset({config_path("patroni.yml"), config_path("bootstrap.sql")}),
    )


def router_files(topology: Topology, router: Service) -> MemberFiles:
    """A bootable HAProxy: metrics only. The pg_router Ansible role writes the tier's frontends."""
    stats = router.port("stats").container
    haproxy_cfg = "\n".join(
        [
            "# Bootstrap config from the Pulumi program; ansible/roles/pg_router replaces it.",
            "global",
            "defaults",
            "    mode http",
            "    timeout connect 5s",
            "    timeout client 30s",
            "    timeout server 30s",
            "frontend stats",
            f"    bind :{stats}",
            "    http-request use-service prometheus-exporter if { path /metrics }",
            "    stats enable",
            "    stats uri /stats",
            "",
        ]
    )
    return MemberFiles(
        command=("novaops-run", "haproxy", "haproxy", "-W", "-db", "-f", config_path("haproxy.cfg")),
        files={config_path("haproxy.cfg"): haproxy_cfg},
    )


def service_files(topology: Topology, exporter: Service, secrets: Mapping[str, str]) -> MemberFiles:
    """The postgres exporter; ``secrets``: Patroni tier key -> its ``monitor`` role's password
    (one auth module per tier)."""
    modules = {
        tier: {
            "type": "userpass",
            "userpass": {"username": config.PG_MONITOR_USER, "password": password},
            "options": {"sslmode": "disable", "dbname": config.MONITOR_DATABASE},
        }
        for tier, password in sorted(secrets.items())
    }
    return MemberFiles(
        command=(
            "novaops-run",
            "prometheus",
            "prometheus-postgres-exporter",
            f"--config.file={config_path('postgres_exporter.yml')}",
            # PostgreSQL 17 moved the checkpoint counters from pg_stat_bgwriter to pg_stat_checkpointer.
            "--collector.stat_checkpointer",
            f"--web.listen-address=:{exporter.port('metrics').container}",
        ),
        files={config_path("postgres_exporter.yml"): yaml.safe_dump({"auth_modules": modules}, sort_keys=False)},
        secret_paths=frozenset({config_path("postgres_exporter.yml")}),
    )
