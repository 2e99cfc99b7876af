"""Prometheus, Alertmanager, the exporters, the prober and Grafana, configured from the topology."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pulumi

from components.containers import ServiceContainerArgs, service_container
from components.engines import part
from components.engines.monitoring.files import OPERATOR, all_web_users, secrets_needed, web_secrets
from components.member_files import MemberFiles
from components.model import SecretSource, Service, Topology
from components.secrets import placeholders, stack_secret, web_login


@dataclass
class MonitoringStackArgs:
    topology: Topology
    images: Mapping[str, pulumi.Input[str]]
    tier_secrets: Mapping[str, Mapping[str, pulumi.Output[str]]]  # tier key -> secret name -> value
    provider: pulumi.ProviderResource | None = None
    depends_on: Sequence[pulumi.Resource] = field(default_factory=list)


class MonitoringStack(pulumi.ComponentResource):
    def __init__(self, name: str, args: MonitoringStackArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("novaops:monitoring:MonitoringStack", name, None, opts)
        topo = args.topology
        self.own_secrets: dict[str, dict[str, pulumi.Output[str]]] = {}  # service key -> its own secrets
        self.containers = {}
        # user -> (password, bcrypt hash) of the web servers' basic auth, one login per user.
        self.web_logins = {user: web_login(f"web-{user}-password", self) for user in all_web_users(topo)}
        for key, service in topo.monitoring.items():
            shape, files = self._files(topo, service, args.tier_secrets)
            self.containers[key] = service_container(
                ServiceContainerArgs(topo, service, args.images[service.kind.image], files, shape, args.depends_on),
                parent=self,
                provider=args.provider,
            )
        self.endpoints = {
            key: f"http://{topo.docker_hosts[s.docker_host].address}:{s.port('web').host}"
            for key, s in topo.monitoring.items()
            if "web" in s.kind.ports and s.port("web").host
        }
        self.register_outputs({"endpoints": self.endpoints})

    @property
    def web_operator_password(self) -> pulumi.Output[str] | None:
        login = self.web_logins.get(OPERATOR)
        return login[0] if login else None

    @property
    def grafana_admin_password(self) -> pulumi.Output[str] | None:
        return self.own_secrets.get("grafana", {}).get("admin")

    def _files(
        self,
        topo: Topology,
        service: Service,
        tier_secrets: Mapping[str, Mapping[str, pulumi.Output[str]]],
    ) -> tuple[MemberFiles, pulumi.Output[MemberFiles] | MemberFiles]:
        """(shape with placeholder secrets, the real files) of one monitoring service."""
        needed = {label: tier_secrets[tier][name] for label, (tier, name) in secrets_needed(topo, service).items()}
        own = {
            name: stack_secret(f"{service.key}-{name}-password", SecretSource(name), self)
            for name in service.kind.secrets
        }  # the service's own (Grafana's admin password)
        if own:
            self.own_secrets[service.key] = own
        needed.update(own)
        needed.update(self._web_secrets(topo, service))
        render = part(service.kind.name, "files").service_files
        shape = render(topo, service, placeholders(needed))
        if not needed:
            return shape, shape
        return shape, pulumi.Output.all(**needed).apply(lambda s: render(topo, service, s))

    def _web_secrets(self, topo: Topology, service: Service) -> dict[str, pulumi.Output[str]]:
        """hash:<user> and password:<user> labels of web_secrets, as the logins' Outputs."""
        return {
            label: self.web_logins[user][1 if label.startswith("hash:") else 0]
            for label, user in web_secrets(topo, service).items()
        }
