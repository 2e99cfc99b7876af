"""Division hosts and the backup host: Debian hosts reached by Ansible over SSH."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi

from components.containers import ServiceContainerArgs, service_container
from components.engines import part
from components.model import Division, Service, Topology


@dataclass
class HostArgs:
    topology: Topology
    service: Service
    image: pulumi.Input[str]
    authorized_key: pulumi.Input[str]
    provider: pulumi.ProviderResource | None = None


class _SshHost(pulumi.ComponentResource):
    def __init__(self, type_: str, name: str, args: HostArgs, opts: pulumi.ResourceOptions | None):
        super().__init__(type_, name, None, opts)
        topo, svc = args.topology, args.service
        host_files = part(svc.kind.name, "files").host_files
        files = pulumi.Output.from_input(args.authorized_key).apply(host_files)
        self.container = service_container(
            ServiceContainerArgs(topo, svc, args.image, files, host_files("<key>")), parent=self, provider=args.provider
        )
        host, port = topo.endpoint(None, svc, "ssh")
        self.ssh = {"host": host, "port": port, "user": "novaops", "container": svc.container}
        self.register_outputs({"ssh": self.ssh})


class DivisionHost(_SshHost):
    def __init__(self, name: str, args: HostArgs, division: Division, opts: pulumi.ResourceOptions | None = None):
        self.division = division
        super().__init__("novaops:hosts:DivisionHost", name, args, opts)


class BackupHost(_SshHost):
    def __init__(self, name: str, args: HostArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("novaops:backup:BackupHost", name, args, opts)
