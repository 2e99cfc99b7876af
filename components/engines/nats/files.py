"""What a NATS JetStream server runs and receives."""

from __future__ import annotations

from collections.abc import Mapping

from components.engines.nats import config
from components.member_files import MemberFiles, config_path
from components.model import Service, Tier, Topology


def member_files(topology: Topology, tier: Tier, member: Service, secrets: Mapping[str, str]) -> MemberFiles:
    return MemberFiles(
        command=("novaops-run", "nats", "nats-with-exporter", config_path("nats.conf")),
        files={
            config_path("nats.conf"): config.nats_conf(
                member=member.container,
                members=[m.container for m in tier.members],
                cluster_name=f"{topology.stack}-{tier.key}",
                client_port=member.port("client").container,
                cluster_port=member.port("cluster").container,
                monitor_port=member.port("monitor").container,
                user=config.USER,
                password=secrets["password"],
            ),
        },
        secret_paths=frozenset({config_path("nats.conf")}),
    )
