"""Prometheus, Alertmanager, the exporters, the prober and Grafana, configured from the topology."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping, Sequence

import pulumi

from components import member_files as mf
from components.containers import ServiceContainerArgs, service_container
from components.model import SecretSource, Topology
from components.secrets import placeholders, stack_secret


@dataclass
class MonitoringStackArgs:
    topology: Topology
    images: Mapping[str, pulumi.Input[str]]
    valkey_passwords: Mapping[str, pulumi.Output[str]]   # valkey tier key -> password
    pg_monitor_passwords: Mapping[str, pulumi.Output[str]]   # Patroni tier key -> monitor role password
    probe_secrets: Mapping[str, pulumi.Output[str]]   # tier key -> the secret its probes log in with
    provider: pulumi.ProviderResource | None = None
    depends_on: Sequence[pulumi.Resource] = field(default_factory=list)


class MonitoringStack(pulumi.ComponentResource):
    def __init__(self, name: str, args: MonitoringStackArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("novaops:monitoring:MonitoringStack", name, None, opts)
        topo = args.topology
        rendered: dict[str, tuple[mf.MemberFiles, pulumi.Output[mf.MemberFiles] | mf.MemberFiles]] = {
            "prometheus": (mf.prometheus_files(topo),) * 2,
            "alertmanager": (mf.alertmanager_files(topo),) * 2,
        }
        passwords = pulumi.Output.all(**args.valkey_passwords)
        rendered["valkey-exporter"] = (
            mf.valkey_exporter_files(topo, placeholders(args.valkey_passwords)),
            passwords.apply(lambda p: mf.valkey_exporter_files(topo, p)),
        )
        monitor = pulumi.Output.all(**args.pg_monitor_passwords)
        rendered["postgres-exporter"] = (
            mf.postgres_exporter_files(topo, placeholders(args.pg_monitor_passwords)),
            monitor.apply(lambda p: mf.postgres_exporter_files(topo, p)),
        )
        rendered["alert-receiver"] = (mf.alert_receiver_files(topo),) * 2
        if "prober" in topo.monitoring:
            probe_secrets = pulumi.Output.all(**args.probe_secrets)
            rendered["prober"] = (
                mf.prober_files(topo, placeholders(args.probe_secrets)),
                probe_secrets.apply(lambda p: mf.prober_files(topo, p)),
            )
        self.grafana_admin_password = None
        if "grafana" in topo.monitoring:
            self.grafana_admin_password = stack_secret("grafana-admin-password", SecretSource("admin"), self)
            rendered["grafana"] = (
                mf.grafana_files(topo, "<admin>"),
                self.grafana_admin_password.apply(lambda pw: mf.grafana_files(topo, pw)),
            )
        self.containers = {}
        for key, service in topo.monitoring.items():
            shape, files = rendered[key]
            self.containers[key] = service_container(
                ServiceContainerArgs(topo, service, args.images[service.kind.image], files, shape, args.depends_on),
                parent=self, provider=args.provider)
        self.endpoints = {
            key: f"http://{topo.docker_hosts[s.docker_host].address}:{s.port('web').host}"
            for key, s in topo.monitoring.items() if "web" in s.kind.ports and s.port("web").host
        }
        self.register_outputs({"endpoints": self.endpoints})
