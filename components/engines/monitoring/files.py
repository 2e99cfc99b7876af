"""What Prometheus, Alertmanager, the alert receiver, the prober and Grafana run and receive.

Prometheus' scrape jobs and the prober's targets are derived from every kind's Scrape and
Probe declarations: nothing here knows an engine.
"""

from __future__ import annotations

import json
from collections.abc import Mapping

import yaml

from components.engines.monitoring import WEB_NETRC  # the same login for curl (health check)
from components.member_files import MemberFiles, config_path
from components.model import Service, Topology

SCRAPE_INTERVAL = "15s"
PROBE_INTERVAL_S = 5
PROBE_TIMEOUT_S = 2
GRAFANA_PROVISIONING = "/etc/grafana/provisioning"

# Basic auth of Prometheus' and Alertmanager's web servers (exporter-toolkit's --web.config.file).
# Any user of a server may do all that server offers, so each client container has a user of its
# own: a password lives only in the container that uses it, the operator's only in the stack
# outputs and the operator's secrets file. Users other than the operator are named after the kind
# that holds them.
OPERATOR = "operator"
WEB_USERS = {
    "prometheus": (OPERATOR, "prometheus", "grafana"),  # prometheus: its self-scrape and health check
    "alertmanager": (OPERATOR, "prometheus", "alertmanager"),  # prometheus: alerts and scrape; own health check
}
WEB_CONFIG = config_path("web.yml")  # bcrypt hashes only
WEB_PASSWORD = config_path("web-password")  # the container's own login, for Prometheus' password_file


def web_users(topology: Topology, server: str) -> tuple[str, ...]:
    """Who may log in to ``server``'s web server: the operator and the clients this stack runs."""
    return tuple(u for u in WEB_USERS[server] if u == OPERATOR or u in topology.monitoring)


def all_web_users(topology: Topology) -> list[str]:
    """Every web user of the servers this stack runs: one generated login each."""
    return sorted({u for server in WEB_USERS if server in topology.monitoring for u in web_users(topology, server)})


def web_secrets(topology: Topology, service: Service) -> dict[str, str]:
    """label -> web user whose bcrypt hash (``hash:<user>``) or password (``password:<user>``)
    ``service``'s files hold: its server's users, and the login it holds itself."""
    needed = {f"hash:{u}": u for u in web_users(topology, service.kind.name)} if service.kind.name in WEB_USERS else {}
    if any(service.kind.name in users for users in WEB_USERS.values()):
        needed[f"password:{service.kind.name}"] = service.kind.name
    return needed


def _web_login() -> dict:
    """Prometheus' login to a web server that asks for one (its own, Alertmanager's)."""
    return {"username": "prometheus", "password_file": WEB_PASSWORD}


def _web_files(topology: Topology, service: Service, secrets: Mapping[str, str]) -> dict[str, str]:
    """web.yml with the server's users' hashes, and the container's own login (raw and as netrc)."""
    user = service.kind.name
    users = {u: secrets[f"hash:{u}"] for u in web_users(topology, user)}
    password = secrets[f"password:{user}"]
    return {
        WEB_CONFIG: yaml.safe_dump({"basic_auth_users": users}, sort_keys=True),
        WEB_PASSWORD: password,
        WEB_NETRC: f"machine 127.0.0.1 login {user} password {password}\n",
    }


def _job(jobs: dict, name: str, path: str, **extra) -> dict:
    return jobs.setdefault(name, {"job_name": name, "metrics_path": path, "static_configs": [], **extra})


def _scrape_via(topology: Topology, prometheus: Service, svc: Service, scrape, jobs: dict) -> tuple[dict, str]:
    """A multi-target exporter scrapes ``svc`` on Prometheus' behalf."""
    exporter = topology.monitoring[scrape.via]
    host, port = topology.endpoint(exporter, svc, scrape.port)
    xhost, xport = topology.endpoint(prometheus, exporter, exporter.kind.scrapes[0].port)
    relabel = [
        {"source_labels": ["__address__"], "target_label": "__param_target"},
        {"target_label": "__address__", "replacement": f"{xhost}:{xport}"},
    ]
    if scrape.auth_per_tier:  # the exporter holds one login per tier
        relabel.append({"source_labels": ["tier"], "target_label": "__param_auth_module"})
    job = _job(jobs, scrape.job or svc.kind.name, scrape.path, relabel_configs=relabel)
    return job, f"{scrape.scheme}://{host}:{port}" if scrape.scheme else f"{host}:{port}"


def _scrape_direct(topology: Topology, prometheus: Service, svc: Service, scrape, jobs: dict) -> tuple[dict, str]:
    host, port = topology.endpoint(prometheus, svc, scrape.port)
    job = _job(jobs, scrape.job or svc.kind.name, scrape.path)
    if svc.kind.name in WEB_USERS:  # its metrics sit behind its basic auth too
        job["basic_auth"] = _web_login()
    if scrape.honor_labels:
        # The exposed series describe other services (the prober labels each probe with
        # the probed member's tier/service); the target's own group/role would mislabel them.
        job["honor_labels"] = True
        job["metric_relabel_configs"] = [{"action": "labeldrop", "regex": "group|role"}]
    return job, f"{host}:{port}"


def prometheus_config(topology: Topology, prometheus: Service, alertmanager: Service | None) -> dict:
    """prometheus.yml derived from the topology: one job per scrape kind, one target per container."""
    jobs: dict[str, dict] = {}
    for svc in topology.services():
        labels = {"service": svc.key, "group": svc.group, "role": svc.role, "instance": svc.container}
        if svc.tier:
            labels["tier"] = svc.tier
        for scrape in svc.kind.scrapes:
            add = _scrape_via if scrape.via else _scrape_direct
            job, target = add(topology, prometheus, svc, scrape, jobs)
            job["static_configs"].append({"targets": [target], "labels": dict(labels)})
    config: dict = {
        "global": {
            "scrape_interval": SCRAPE_INTERVAL,
            "evaluation_interval": SCRAPE_INTERVAL,
            "external_labels": {"stack": topology.stack, "environment": topology.environment},
        },
        "scrape_configs": list(jobs.values()),
    }
    if alertmanager is not None:
        host, port = topology.endpoint(prometheus, alertmanager, "web")
        config["alerting"] = {
            "alertmanagers": [{"basic_auth": _web_login(), "static_configs": [{"targets": [f"{host}:{port}"]}]}]
        }
        config["rule_files"] = [config_path("rules/*.yml")]
    return config


def scrape_targets(config: dict) -> list[tuple[str, str]]:
    """(job, container) pairs Prometheus scrapes, read back from a rendered config."""
    return [
        (job["job_name"], sc["labels"]["instance"]) for job in config["scrape_configs"] for sc in job["static_configs"]
    ]


def secrets_needed(topology: Topology, service: Service) -> dict[str, tuple[str, str]]:
    """label -> (tier key, tier secret name) a monitoring service logs in with: each tier it scrapes
    through (Scrape.via + Scrape.secret) and, for the prober, each tier's probe secret."""
    needed = {}
    for tier in topology.tiers.values():
        for scrape in tier.engine.scrapes:
            if scrape.via == service.key and scrape.secret:
                needed[tier.key] = (tier.key, scrape.secret)
        probe = tier.engine.probe
        if service.key == "prober" and probe is not None and probe.secret:
            needed[tier.key] = (tier.key, probe.secret)
    return needed


def service_files(topology: Topology, service: Service, secrets: Mapping[str, str]) -> MemberFiles:
    """``secrets``: what secrets_needed asked for (Grafana: {"admin": password})."""
    return _RENDERERS[service.kind.name](topology, service, secrets)


def _prometheus(topology: Topology, prometheus: Service, secrets: Mapping[str, str]) -> MemberFiles:
    config = prometheus_config(topology, prometheus, topology.monitoring.get("alertmanager"))
    web = _web_files(topology, prometheus, secrets)
    return MemberFiles(
        command=(
            "novaops-run",
            "prometheus",
            "prometheus",
            f"--config.file={config_path('prometheus.yml')}",
            "--storage.tsdb.path=/prometheus",
            # No --web.enable-lifecycle (/-/quit, /-/reload) nor --web.enable-admin-api: Ansible
            # reloads with SIGHUP inside the container.
            f"--web.config.file={WEB_CONFIG}",
        ),
        files={config_path("prometheus.yml"): yaml.safe_dump(config, sort_keys=False), **web},
        secret_paths=frozenset(web),
    )


def _alertmanager(topology: Topology, service: Service, secrets: Mapping[str, str]) -> MemberFiles:
    # Routing and receivers are applied by Ansible (alerting playbook); this is the bootable minimum.
    config = {"route": {"receiver": "null", "group_by": ["alertname", "tier"]}, "receivers": [{"name": "null"}]}
    web = _web_files(topology, service, secrets)
    return MemberFiles(
        command=(
            "novaops-run",
            "prometheus",
            "prometheus-alertmanager",
            f"--config.file={config_path('alertmanager.yml')}",
            "--storage.path=/alertmanager",
            "--cluster.listen-address=",
            f"--web.config.file={WEB_CONFIG}",
        ),
        files={config_path("alertmanager.yml"): yaml.safe_dump(config, sort_keys=False), **web},
        secret_paths=frozenset(web),
    )


def _alert_receiver(topology: Topology, receiver: Service, secrets: Mapping[str, str]) -> MemberFiles:
    return MemberFiles(
        command=(
            "novaops-run",
            "prometheus",
            "alert-receiver",
            "--listen",
            f":{receiver.port('web').container}",
            "--store",
            f"{receiver.kind.data_path}/alerts.jsonl",
        ),
        files={},
    )


def prober_targets(topology: Topology, secrets: Mapping[str, str]) -> list[dict]:
    """One probe per database member, from the kinds' Probe; ``secrets``: tier key -> probe secret."""
    prober = topology.monitoring["prober"]
    targets = []
    for tier in topology.tiers.values():
        probe = tier.engine.probe
        if probe is None:
            continue
        for member in tier.members:
            host, port = topology.endpoint(prober, member, probe.port)
            target = {
                "tier": tier.key,
                "service": member.key,
                "kind": tier.engine.name,
                "protocol": probe.protocol,
                "host": host,
                "port": port,
            }
            if probe.user:
                target["user"] = probe.user
            if probe.secret:
                target["password"] = secrets[tier.key]
            if probe.database:
                target["database"] = probe.database
            targets.append(target)
    return targets


def _prober(topology: Topology, prober: Service, secrets: Mapping[str, str]) -> MemberFiles:
    """novaops-prober's config; it holds the probe passwords, so it is uploaded 0600."""
    config = {
        "interval_seconds": PROBE_INTERVAL_S,
        "timeout_seconds": PROBE_TIMEOUT_S,
        "targets": prober_targets(topology, secrets),
    }
    return MemberFiles(
        command=(
            "novaops-run",
            "prometheus",
            "novaops-prober",
            "--config",
            config_path("prober.json"),
            "--listen",
            f":{prober.port('metrics').container}",
        ),
        files={config_path("prober.json"): json.dumps(config, indent=2, sort_keys=True) + "\n"},
        secret_paths=frozenset({config_path("prober.json")}),
    )


def _grafana(topology: Topology, grafana: Service, secrets: Mapping[str, str]) -> MemberFiles:
    """Admin password, the Prometheus datasource, and the dashboards generated from the topology
    (components/dashboards) with the provider that loads them."""
    from components import dashboards  # imported here: the dashboards read this module's names

    host, port = topology.endpoint(grafana, topology.monitoring["prometheus"], "web")
    # The datasource file carries Grafana's Prometheus password (provisioning reads no secret
    # file, only env vars, which would show in `docker inspect`): it is a secret file.
    datasource = f"{GRAFANA_PROVISIONING}/datasources/novaops.yml"
    return MemberFiles(
        command=(),  # the official image's own entrypoint
        files={
            config_path("grafana-admin-password"): secrets["admin"],
            datasource: dashboards.datasource_provisioning(
                f"http://{host}:{port}", SCRAPE_INTERVAL, ("grafana", secrets["password:grafana"])
            ),
            f"{GRAFANA_PROVISIONING}/dashboards/novaops.yml": dashboards.dashboard_provisioning(),
            **dashboards.dashboard_files(topology),
        },
        secret_paths=frozenset({config_path("grafana-admin-password"), datasource}),
        envs=(f"GF_SECURITY_ADMIN_PASSWORD__FILE={config_path('grafana-admin-password')}",),
        file_owner="472",  # the grafana user of the official image
    )


_RENDERERS = {
    "prometheus": _prometheus,
    "alertmanager": _alertmanager,
    "alert-receiver": _alert_receiver,
    "prober": _prober,
    "grafana": _grafana,
}
