"""Wires the whole NovaOps stack from a validated Topology."""

from __future__ import annotations

import json
from dataclasses import dataclass

import pulumi
import pulumi_docker as docker
import pulumi_tls as tls

from components.engines import part
from components.engines.monitoring.files import OPERATOR
from components.hosts import BackupHost, DivisionHost, HostArgs
from components.images import ImageSet, ImageSetArgs
from components.model import PROJECT, Topology, build_topology, dcs_client_secret
from components.monitoring import MonitoringStack, MonitoringStackArgs
from components.tiers import DatabaseTier, DatabaseTierArgs


def read_stack_config() -> tuple[dict, set[str]]:
    """The project's config (``novaops:*``) as parsed values, and the keys marked secret."""
    from pulumi.runtime import config as runtime_config

    merged = {**runtime_config.get_config_env(), **runtime_config.CONFIG.get()}
    values = {}
    for full, raw in merged.items():
        if not full.startswith(f"{PROJECT}:"):
            continue
        value = raw
        if isinstance(raw, str):
            try:
                value = json.loads(raw)
            except ValueError:
                value = raw
        values[full.split(":", 1)[1]] = value
    secret_keys = {k for k in merged if runtime_config.is_config_secret(k)}
    secret_keys |= set(runtime_config.get_config_secret_keys_env())
    return values, secret_keys


def load_topology() -> Topology:
    values, secret_keys = read_stack_config()
    # Secret values are not read here, only whether a key is marked secret.
    return build_topology(pulumi.get_stack(), values, lambda key: key in secret_keys)


class Networks(pulumi.ComponentResource):
    def __init__(self, name: str, topology: Topology, providers: dict, opts: pulumi.ResourceOptions | None = None):
        super().__init__("novaops:network:Networks", name, None, opts)
        self.networks = {}
        # Named <host>-<key> whatever the number of docker hosts, so declaring a second host renames
        # nothing; a stack made on one host before that (resources named <key>) keeps its networks.
        legacy = len(topology.docker_hosts) == 1
        for (host, key), net in topology.networks.items():
            self.networks[(host, key)] = docker.Network(
                f"{host}-{key}",
                name=net.name,
                driver="bridge",
                internal=net.internal,
                labels=[
                    docker.NetworkLabelArgs(label=k, value=v)
                    for k, v in sorted(
                        {
                            f"{PROJECT}.project": PROJECT,
                            f"{PROJECT}.stack": topology.stack,
                            f"{PROJECT}.network": key,
                        }.items()
                    )
                ],
                opts=pulumi.ResourceOptions(
                    parent=self, provider=providers[host], aliases=[pulumi.Alias(name=key)] if legacy else None
                ),
            )
        self.register_outputs({"names": [n.name for n in self.networks.values()]})


@dataclass
class StackResult:
    outputs: dict
    containers: list[docker.Container]  # every container; each resolves after all it depends on


def build_stack(topology: Topology) -> StackResult:
    """Declare every resource and export the stack outputs."""
    providers = {
        name: (docker.Provider(f"docker-{name}", host=h.url) if h.url else None)
        for name, h in topology.docker_hosts.items()
    }
    networks = Networks("networks", topology, providers)

    images: dict[str, ImageSet] = {}
    for host in topology.docker_hosts:
        wanted = {s.kind.image for s in topology.services() if s.docker_host == host and s.kind.name != "grafana"}
        if not wanted:
            continue
        remote = (
            {"grafana": topology.grafana_image}
            if topology.grafana_image and topology.monitoring["grafana"].docker_host == host
            else None
        )
        images[host] = ImageSet(
            f"images-{host}",
            ImageSetArgs(wanted, host, remote),
            opts=pulumi.ResourceOptions(providers=[p for p in [providers[host]] if p]),
        )

    tiers: dict[str, DatabaseTier] = {}
    for tier in topology.tiers.values():  # dependency order: a DCS tier before the tiers that use it
        deps = [networks] + [tiers[d] for d in tier.depends_on]
        dcs = topology.dcs_of(tier)
        borrowed = (
            {part(tier.engine.name, "files").DCS_SECRET: tiers[dcs.key].secrets[dcs_client_secret(tier.key)]}
            if dcs
            else {}
        )
        refs = images[tier.docker_host].refs
        tiers[tier.key] = DatabaseTier(
            tier.key,
            DatabaseTierArgs(
                topology,
                tier,
                refs[tier.engine.image],
                refs[tier.router.kind.image] if tier.router else None,
                provider=providers[tier.docker_host],
                depends_on=deps,
                borrowed_secrets=borrowed,
            ),
        )

    mon_host = next(iter(topology.monitoring.values())).docker_host
    monitoring = MonitoringStack(
        "monitoring",
        MonitoringStackArgs(
            topology,
            images[mon_host].refs,
            {k: t.secrets for k, t in tiers.items()},
            provider=providers[mon_host],
            depends_on=[networks],
        ),
    )

    # Ansible reaches division hosts and the backup host with this key.
    ssh_key = tls.PrivateKey("ansible-ssh-key", algorithm="ED25519")
    hosts: dict[str, DivisionHost] = {}
    for division in topology.divisions.values():
        svc = division.service
        hosts[division.key] = DivisionHost(
            division.key,
            HostArgs(
                topology,
                svc,
                images[svc.docker_host].refs[svc.kind.image],
                ssh_key.public_key_openssh,
                providers[svc.docker_host],
            ),
            division,
            opts=pulumi.ResourceOptions(depends_on=[networks]),
        )
    backup = BackupHost(
        "backup",
        HostArgs(
            topology,
            topology.backup,
            images[topology.backup.docker_host].refs[topology.backup.kind.image],
            ssh_key.public_key_openssh,
            providers[topology.backup.docker_host],
        ),
        opts=pulumi.ResourceOptions(depends_on=[networks]),
    )

    outputs = {
        "stack": topology.stack,
        "environment": topology.environment,
        "containers": [s.container for s in topology.services()],
        "tiers": {
            t.key: {
                "number": t.number,
                "engine": t.engine.name,
                "members": {m.key: {"container": m.container, **tiers[t.key].endpoints[m.key]} for m in t.members},
                **(
                    {"router": {"container": t.router.container, **tiers[t.key].endpoints[t.router.key]}}
                    if t.router
                    else {}
                ),
            }
            for t in topology.tiers.values()
        },
        "monitoring": monitoring.endpoints,
        "ssh": {**{k: h.ssh for k, h in hosts.items()}, "backup": backup.ssh},
        "networks": sorted(n.name for n in topology.networks.values()),
        "tierSecrets": pulumi.Output.secret({k: t.secrets for k, t in tiers.items() if t.secrets}),
        "sshPrivateKey": pulumi.Output.secret(ssh_key.private_key_openssh),
    }
    if monitoring.web_operator_password is not None:  # Prometheus' and Alertmanager's basic auth
        outputs["monitoringOperatorUser"] = OPERATOR
        outputs["monitoringOperatorPassword"] = monitoring.web_operator_password
    if monitoring.grafana_admin_password is not None:
        outputs["grafanaAdminPassword"] = monitoring.grafana_admin_password
    for key, value in outputs.items():
        pulumi.export(key, value)
    containers = [c for t in tiers.values() for c in t.containers] + list(monitoring.containers.values())
    containers += [h.container for h in hosts.values()] + [backup.container]
    return StackResult(outputs, containers)
