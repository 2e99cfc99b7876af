"""What each container runs and which files it receives, per kind.

Pure functions of the topology and plain secret strings; the Pulumi components
call them inside ``Output.apply`` so that secret-derived files stay secret.
Files land under /etc/novaops; ``novaops-run`` in the images hands them to the
service user. Secrets reach containers only as these files, never as env vars.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Callable, Mapping

import yaml

from components import engine_configs
from components.model import Service, Tier, Topology

CONFIG_DIR = "/etc/novaops"
PATRONI_NAMESPACE = "/novaops/"
APP_DATABASE = "nova"
# The postgres exporter and the prober log in here: it exists from initdb on (before
# bootstrap.sql creates the app database), unlike a database named after the monitor role.
MONITOR_DATABASE = "postgres"
NATS_USER = "nova"
# Extensions that must be loaded at server start; the rest only need CREATE EXTENSION.
PRELOAD = {"age": "age", "timescaledb": "timescaledb"}


@dataclass(frozen=True)
class MemberFiles:
    command: tuple[str, ...]
    files: dict[str, str]
    secret_paths: frozenset[str] = field(default_factory=frozenset)
    envs: tuple[str, ...] = ()
    file_owner: str | None = None   # numeric uid for images that run their own entrypoint (no novaops-run)


def _path(name: str) -> str:
    return f"{CONFIG_DIR}/{name}"


def patroni_scope(topology: Topology, tier: Tier) -> str:
    return f"{topology.stack}-{tier.key}"


def dcs_tier(topology: Topology, tier: Tier) -> Tier:
    """The etcd tier a Patroni tier keeps its leader key in."""
    for dep in tier.depends_on:
        if topology.tiers[dep].engine.name == tier.engine.dcs_engine:
            return topology.tiers[dep]
    raise KeyError(f"tier {tier.key} has no {tier.engine.dcs_engine} dependency")


def _patroni(topology: Topology, tier: Tier, member: Service, secrets: Mapping[str, str]) -> MemberFiles:
    etcd = dcs_tier(topology, tier)
    etcd_hosts = ["%s:%d" % topology.endpoint(member, m, "client") for m in etcd.members]
    preload = sorted(PRELOAD[e] for e in tier.extensions if e in PRELOAD)
    return MemberFiles(
        # patroni-with-pgbackrest: pgBackRest's TLS server beside Patroni (the repository host reaches it)
        command=("novaops-run", "postgres", "patroni-with-pgbackrest", _path("patroni.yml")),
        files={
            _path("patroni.yml"): engine_configs.patroni_yml(
                scope=patroni_scope(topology, tier), namespace=PATRONI_NAMESPACE, member=member.container,
                etcd_hosts=etcd_hosts, postgres_port=member.port("postgres").container,
                api_port=member.port("patroni").container,
                superuser_password=secrets["superuser"], replication_password=secrets["replication"],
                rewind_password=secrets["rewind"], shared_preload_libraries=preload,
            ),
            _path("bootstrap.sql"): engine_configs.bootstrap_sql(
                database=APP_DATABASE, extensions=list(tier.extensions), monitor_password=secrets["monitor"]),
        },
        secret_paths=frozenset({_path("patroni.yml"), _path("bootstrap.sql")}),
    )


def _valkey(topology: Topology, tier: Tier, member: Service, secrets: Mapping[str, str]) -> MemberFiles:
    seed = tier.members[0]   # the first member starts as primary; Sentinel owns the role afterwards
    port = member.port("valkey").container
    return MemberFiles(
        command=("novaops-run", "valkey", "valkey-with-sentinel", _path("valkey.conf"), _path("sentinel.conf")),
        files={
            _path("valkey.conf"): engine_configs.valkey_conf(
                member=member.container, port=port, password=secrets["password"],
                primary=None if member is seed else seed.container),
            _path("sentinel.conf"): engine_configs.sentinel_conf(
                member=member.container, master_name=valkey_master_name(topology, tier), primary=seed.container,
                valkey_port=port, sentinel_port=member.port("sentinel").container,
                quorum=len(tier.members) // 2 + 1, password=secrets["password"]),
            _path("valkey-password"): secrets["password"],
        },
        secret_paths=frozenset({_path("valkey.conf"), _path("sentinel.conf"), _path("valkey-password")}),
    )


def valkey_master_name(topology: Topology, tier: Tier) -> str:
    return f"{topology.stack}-{tier.key}"


def _nats(topology: Topology, tier: Tier, member: Service, secrets: Mapping[str, str]) -> MemberFiles:
    return MemberFiles(
        command=("novaops-run", "nats", "nats-with-exporter", _path("nats.conf")),
        files={
            _path("nats.conf"): engine_configs.nats_conf(
                member=member.container, members=[m.container for m in tier.members],
                cluster_name=f"{topology.stack}-{tier.key}", client_port=member.port("client").container,
                cluster_port=member.port("cluster").container, monitor_port=member.port("monitor").container,
                user=NATS_USER, password=secrets["password"]),
        },
        secret_paths=frozenset({_path("nats.conf")}),
    )


def _etcd(topology: Topology, tier: Tier, member: Service, secrets: Mapping[str, str]) -> MemberFiles:
    return MemberFiles(
        command=("novaops-run", "etcd", "etcd", "--config-file", _path("etcd.yml")),
        files={
            _path("etcd.yml"): engine_configs.etcd_yml(
                member=member.container, members=[m.container for m in tier.members],
                client_port=member.port("client").container, peer_port=member.port("peer").container,
                cluster_token=f"novaops-{topology.stack}-{tier.key}"),
        },
    )


DATABASE_MEMBER_FILES: dict[str, Callable[[Topology, Tier, Service, Mapping[str, str]], MemberFiles]] = {
    "patroni": _patroni, "valkey": _valkey, "nats": _nats, "etcd": _etcd,
}


def database_member_files(topology: Topology, tier: Tier, member: Service, secrets: Mapping[str, str]) -> MemberFiles:
    return DATABASE_MEMBER_FILES[tier.engine.name](topology, tier, member, secrets)


# --------------------------------------------------------------------------- monitoring


SCRAPE_INTERVAL = "15s"


def prometheus_config(topology: Topology, prometheus: Service, alertmanager: Service | None) -> dict:
    """prometheus.yml derived from the topology: one job per scrape kind, one target per container."""
    jobs: dict[str, dict] = {}
    for svc in topology.services():
        labels = {"service": svc.key, "group": svc.group, "role": svc.role, "instance": svc.container}
        if svc.tier:
            labels["tier"] = svc.tier
        for scrape in svc.kind.scrapes:
            name = scrape.job or svc.kind.name
            if scrape.via:
                exporter = topology.monitoring[scrape.via]
                host, port = topology.endpoint(exporter, svc, scrape.port)
                xhost, xport = topology.endpoint(prometheus, exporter, exporter.kind.scrapes[0].port)
                relabel = [
                    {"source_labels": ["__address__"], "target_label": "__param_target"},
                    {"target_label": "__address__", "replacement": f"{xhost}:{xport}"},
                ]
                if scrape.auth_per_tier:   # the exporter holds one login per tier
                    relabel.append({"source_labels": ["tier"], "target_label": "__param_auth_module"})
                job = jobs.setdefault(name, {"job_name": name, "metrics_path": scrape.path,
                                             "static_configs": [], "relabel_configs": relabel})
                target = f"{scrape.scheme}://{host}:{port}" if scrape.scheme else f"{host}:{port}"
            else:
                host, port = topology.endpoint(prometheus, svc, scrape.port)
                job = jobs.setdefault(name, {"job_name": name, "metrics_path": scrape.path, "static_configs": []})
                if scrape.honor_labels:
                    # The exposed series describe other services (the prober labels each probe with
                    # the probed member's tier/service); the target's own group/role would mislabel them.
                    job["honor_labels"] = True
                    job["metric_relabel_configs"] = [{"action": "labeldrop", "regex": "group|role"}]
                target = f"{host}:{port}"
            job["static_configs"].append({"targets": [target], "labels": dict(labels)})
    config: dict = {
        "global": {"scrape_interval": SCRAPE_INTERVAL, "evaluation_interval": SCRAPE_INTERVAL,
                   "external_labels": {"stack": topology.stack, "environment": topology.environment}},
        "scrape_configs": list(jobs.values()),
    }
    if alertmanager is not None:
        host, port = topology.endpoint(prometheus, alertmanager, "web")
        config["alerting"] = {"alertmanagers": [{"static_configs": [{"targets": [f"{host}:{port}"]}]}]}
        config["rule_files"] = [_path("rules/*.yml")]
    return config


def scrape_targets(config: dict) -> list[tuple[str, str]]:
    """(job, container) pairs Prometheus scrapes, read back from a rendered config."""
    return [(job["job_name"], sc["labels"]["instance"]) for job in config["scrape_configs"] for sc in job["static_configs"]]


def prometheus_files(topology: Topology) -> MemberFiles:
    prometheus = topology.monitoring["prometheus"]
    config = prometheus_config(topology, prometheus, topology.monitoring.get("alertmanager"))
    return MemberFiles(
        command=("novaops-run", "prometheus", "prometheus", f"--config.file={_path('prometheus.yml')}",
                 "--storage.tsdb.path=/prometheus", "--web.enable-lifecycle"),
        files={_path("prometheus.yml"): yaml.safe_dump(config, sort_keys=False)},
    )


def alertmanager_files(topology: Topology) -> MemberFiles:
    # Routing and receivers are applied by Ansible (alerting playbook); this is the bootable minimum.
    config = {"route": {"receiver": "null", "group_by": ["alertname", "tier"]}, "receivers": [{"name": "null"}]}
    return MemberFiles(
        command=("novaops-run", "prometheus", "prometheus-alertmanager", f"--config.file={_path('alertmanager.yml')}",
                 "--storage.path=/alertmanager", "--cluster.listen-address="),
        files={_path("alertmanager.yml"): yaml.safe_dump(config, sort_keys=False)},
    )


def valkey_exporter_files(topology: Topology, valkey_passwords: Mapping[str, str]) -> MemberFiles:
    """``valkey_passwords``: tier key -> that tier's password."""
    exporter = topology.monitoring["valkey-exporter"]
    by_target = {}
    for tier in topology.tiers.values():
        if tier.engine.name != "valkey":
            continue
        for m in tier.members:
            host, port = topology.endpoint(exporter, m, "valkey")
            by_target[f"redis://{host}:{port}"] = valkey_passwords[tier.key]
    return MemberFiles(
        command=("novaops-run", "prometheus", "prometheus-redis-exporter",
                 f"--redis.password-file={_path('valkey-passwords.json')}",
                 f"--web.listen-address=:{exporter.port('metrics').container}"),
        files={_path("valkey-passwords.json"): engine_configs.valkey_exporter_passwords(targets=by_target)},
        secret_paths=frozenset({_path("valkey-passwords.json")}),
    )


def postgres_exporter_files(topology: Topology, monitor_passwords: Mapping[str, str]) -> MemberFiles:
    """``monitor_passwords``: Patroni tier key -> its ``monitor`` role's password (one auth module per tier)."""
    exporter = topology.monitoring["postgres-exporter"]
    modules = {
        tier: {"type": "userpass", "userpass": {"username": engine_configs.PG_MONITOR_USER, "password": password},
               "options": {"sslmode": "disable", "dbname": MONITOR_DATABASE}}
        for tier, password in sorted(monitor_passwords.items())
    }
    return MemberFiles(
        command=("novaops-run", "prometheus", "prometheus-postgres-exporter",
                 f"--config.file={_path('postgres_exporter.yml')}",
                 # PostgreSQL 17 moved the checkpoint counters from pg_stat_bgwriter to pg_stat_checkpointer.
                 "--collector.stat_checkpointer",
                 f"--web.listen-address=:{exporter.port('metrics').container}"),
        files={_path("postgres_exporter.yml"): yaml.safe_dump({"auth_modules": modules}, sort_keys=False)},
        secret_paths=frozenset({_path("postgres_exporter.yml")}),
    )


PROBE_INTERVAL_S = 5
PROBE_TIMEOUT_S = 2
# Who each probe logs in as (None: the protocol has no login).
PROBE_USERS = {"postgres": engine_configs.PG_MONITOR_USER, "nats": NATS_USER}


def probe_secret_names(topology: Topology) -> dict[str, str]:
    """tier key -> the tier secret its probes authenticate with (tiers whose probe needs one)."""
    return {t.key: t.engine.probe.secret for t in topology.tiers.values() if t.engine.probe and t.engine.probe.secret}


def prober_targets(topology: Topology, secrets: Mapping[str, str]) -> list[dict]:
    """One probe per database member, from the topology; ``secrets``: tier key -> probe secret."""
    prober = topology.monitoring["prober"]
    targets = []
    for tier in topology.tiers.values():
        probe = tier.engine.probe
        if probe is None:
            continue
        for member in tier.members:
            host, port = topology.endpoint(prober, member, probe.port)
            target = {"tier": tier.key, "service": member.key, "kind": tier.engine.name,
                      "protocol": probe.protocol, "host": host, "port": port}
            if PROBE_USERS.get(probe.protocol):
                target["user"] = PROBE_USERS[probe.protocol]
            if probe.secret:
                target["password"] = secrets[tier.key]
            if probe.protocol == "postgres":
                target["database"] = MONITOR_DATABASE
            targets.append(target)
    return targets


def prober_files(topology: Topology, secrets: Mapping[str, str]) -> MemberFiles:
    """novaops-prober's config; it holds the probe passwords, so it is uploaded 0600."""
    prober = topology.monitoring["prober"]
    config = {"interval_seconds": PROBE_INTERVAL_S, "timeout_seconds": PROBE_TIMEOUT_S,
              "targets": prober_targets(topology, secrets)}
    return MemberFiles(
        command=("novaops-run", "prometheus", "novaops-prober", "--config", _path("prober.json"),
                 "--listen", f":{prober.port('metrics').container}"),
        files={_path("prober.json"): json.dumps(config, indent=2, sort_keys=True) + "\n"},
        secret_paths=frozenset({_path("prober.json")}),
    )


def alert_receiver_files(topology: Topology) -> MemberFiles:
    receiver = topology.monitoring["alert-receiver"]
    return MemberFiles(command=("novaops-run", "prometheus", "alert-receiver",
                                "--listen", f":{receiver.port('web').container}",
                                "--store", f"{receiver.kind.data_path}/alerts.jsonl"), files={})


def router_files(topology: Topology, router: Service) -> MemberFiles:
    """A bootable HAProxy: metrics only. The pg_router Ansible role writes the tier's frontends."""
    stats = router.port("stats").container
    config = "\n".join([
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
    ])
    return MemberFiles(command=("novaops-run", "haproxy", "haproxy", "-W", "-db", "-f", _path("haproxy.cfg")),
                       files={_path("haproxy.cfg"): config})


GRAFANA_PROVISIONING = "/etc/grafana/provisioning"


def grafana_files(topology: Topology, admin_password: str) -> MemberFiles:
    """Admin password, the Prometheus datasource, and the dashboards generated from the topology
    (components/dashboards) with the provider that loads them."""
    from components import dashboards   # imported here: the dashboards read this module's names

    grafana = topology.monitoring["grafana"]
    host, port = topology.endpoint(grafana, topology.monitoring["prometheus"], "web")
    return MemberFiles(
        command=(),   # the official image's own entrypoint
        files={
            _path("grafana-admin-password"): admin_password,
            f"{GRAFANA_PROVISIONING}/datasources/novaops.yml":
                dashboards.datasource_provisioning(f"http://{host}:{port}", SCRAPE_INTERVAL),
            f"{GRAFANA_PROVISIONING}/dashboards/novaops.yml": dashboards.dashboard_provisioning(),
            **dashboards.dashboard_files(topology),
        },
        secret_paths=frozenset({_path("grafana-admin-password")}),
        envs=(f"GF_SECURITY_ADMIN_PASSWORD__FILE={_path('grafana-admin-password')}",),
        file_owner="472",   # the grafana user of the official image
    )


def host_files(authorized_key: str) -> MemberFiles:
    """Division hosts and the backup host: sshd with the stack's key for user novaops."""
    return MemberFiles(command=("novaops-host",), files={_path("authorized_keys"): authorized_key})
