"""What an etcd member runs and receives."""

from __future__ import annotations

from collections.abc import Mapping

from components.engines.etcd import config
from components.member_files import MemberFiles, config_path
from components.model import Service, Tier, Topology


def member_files(topology: Topology, tier: Tier, member: Service, secrets: Mapping[str, str]) -> MemberFiles:
    return MemberFiles(
        command=("novaops-run", "etcd", "etcd", "--config-file", config_path("etcd.yml")),
        files={
            config_path("etcd.yml"): config.etcd_yml(
                member=member.container,
                members=[m.container for m in tier.members],
                client_port=member.port("client").container,
                peer_port=member.port("peer").container,
                cluster_token=f"novaops-{topology.stack}-{tier.key}",
            ),
        },
    )
