"""The one place a catalog service becomes a docker container (and its data volume)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import pulumi
import pulumi_docker as docker

from components.member_files import MemberFiles
from components.model import PROJECT, Service, Topology

HEALTH_INTERVAL = "10s"
HEALTH_START_PERIOD = "180s"  # Patroni replicas take a base backup before they answer
WAIT_TIMEOUT_S = 300


def labels_for(topology: Topology, service: Service) -> dict[str, str]:
    return {
        f"{PROJECT}.project": PROJECT,
        f"{PROJECT}.stack": topology.stack,
        f"{PROJECT}.tier": service.tier or service.group,
        f"{PROJECT}.service": service.key,
        f"{PROJECT}.role": service.role,
        f"{PROJECT}.kind": service.kind.name,
    }


def docker_labels(labels: dict[str, str]) -> list[docker.ContainerLabelArgs]:
    return [docker.ContainerLabelArgs(label=k, value=v) for k, v in sorted(labels.items())]


@dataclass
class ServiceContainerArgs:
    topology: Topology
    service: Service
    image: pulumi.Input[str]
    files: pulumi.Output[MemberFiles] | MemberFiles
    # Paths and command are needed before secrets resolve: the same function rendered with
    # placeholder secrets gives them.
    shape: MemberFiles
    depends_on: Sequence[pulumi.Resource] = field(default_factory=list)


def service_container(
    args: ServiceContainerArgs, parent: pulumi.Resource, provider: pulumi.ProviderResource | None
) -> docker.Container:
    topo, svc, shape = args.topology, args.service, args.shape
    host = topo.docker_hosts[svc.docker_host]
    labels = labels_for(topo, svc)
    child = pulumi.ResourceOptions(parent=parent, provider=provider)

    volumes = []
    if svc.kind.data_path:
        volume = docker.Volume(
            f"{svc.key}-data",
            name=f"{svc.container}-data",
            labels=[docker.VolumeLabelArgs(label=k, value=v) for k, v in sorted(labels.items())],
            opts=child,
        )
        volumes.append(docker.ContainerVolumeArgs(volume_name=volume.name, container_path=svc.kind.data_path))

    files = args.files if isinstance(args.files, pulumi.Output) else pulumi.Output.from_input(args.files)
    uploads = [
        docker.ContainerUploadArgs(
            file=path,
            content=files.apply(lambda mf, p=path: mf.files[p]),
            permissions="0600" if path in shape.secret_paths else "0644",
            owner=shape.file_owner,
        )
        for path in sorted(shape.files)
    ]
    return docker.Container(
        svc.key,
        name=svc.container,
        hostname=svc.container,
        image=args.image,
        command=list(shape.command) or None,
        envs=list(shape.envs) or None,
        labels=docker_labels(labels),
        networks_advanced=[
            docker.ContainerNetworksAdvancedArgs(name=topo.network(svc, key).name, aliases=[svc.key])
            for key in svc.networks
        ],
        ports=[
            docker.ContainerPortArgs(internal=p.container, external=p.host, ip=host.address, protocol="tcp")
            for p in svc.ports
            if p.host is not None
        ],
        volumes=volumes,
        uploads=uploads,
        memory=svc.memory_mb,
        restart="unless-stopped",
        healthcheck=docker.ContainerHealthcheckArgs(
            tests=list(svc.kind.healthcheck),
            interval=HEALTH_INTERVAL,
            timeout="5s",
            retries=3,
            start_period=HEALTH_START_PERIOD,
        ),
        must_run=True,
        wait=True,
        wait_timeout=WAIT_TIMEOUT_S,
        destroy_grace_seconds=30,  # lets PostgreSQL and etcd shut down cleanly on replace
        opts=pulumi.ResourceOptions(
            parent=parent, provider=provider, depends_on=list(args.depends_on), delete_before_replace=True
        ),  # explicit names cannot coexist
    )
