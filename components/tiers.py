"""A database tier: its secrets, members, volumes — one class for all seven tiers."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pulumi

from components.containers import ServiceContainerArgs, service_container
from components.engines import part
from components.model import Tier, Topology
from components.secrets import placeholders, stack_secret


@dataclass
class DatabaseTierArgs:
    topology: Topology
    tier: Tier
    image: pulumi.Input[str]
    router_image: pulumi.Input[str] | None = None
    provider: pulumi.ProviderResource | None = None
    depends_on: Sequence[pulumi.Resource] = field(default_factory=list)
    # Secrets of other tiers its member files read, by the name they read them under (a DCS
    # client's password, which its DCS tier owns so as to create the user before this tier starts).
    borrowed_secrets: Mapping[str, pulumi.Output[str]] = field(default_factory=dict)


class DatabaseTier(pulumi.ComponentResource):
    def __init__(self, name: str, args: DatabaseTierArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("novaops:tiers:DatabaseTier", name, None, opts)
        topo, tier = args.topology, args.tier
        self.secrets: dict[str, pulumi.Output[str]] = {
            s.name: stack_secret(f"{tier.key}-{s.name}-password", s, self) for s in tier.secrets
        }
        readable = {**self.secrets, **args.borrowed_secrets}
        resolved = pulumi.Output.all(**readable) if readable else pulumi.Output.from_input({})
        self.containers = []
        member_files = part(tier.engine.name, "files").member_files
        for member in tier.members:
            shape = member_files(topo, tier, member, placeholders(readable))
            files = resolved.apply(lambda s, m=member: member_files(topo, tier, m, s))
            self.containers.append(
                service_container(
                    ServiceContainerArgs(topo, member, args.image, files, shape, args.depends_on),
                    parent=self,
                    provider=args.provider,
                )
            )
        self.router = None
        if tier.router:
            files = part(tier.router.kind.name, "files").router_files(topo, tier.router)
            self.router = service_container(
                ServiceContainerArgs(topo, tier.router, args.router_image, files, files, args.depends_on),
                parent=self,
                provider=args.provider,
            )
            self.containers.append(self.router)
        self.endpoints = {
            m.key: {p.name: f"{topo.docker_hosts[m.docker_host].address}:{p.host}" for p in m.ports if p.host}
            for m in (*tier.members, *([tier.router] if tier.router else []))
        }
        self.register_outputs({"endpoints": self.endpoints, "containers": [c.name for c in self.containers]})
