"""What a NATS JetStream server runs and receives."""

from __future__ import annotations

from collections.abc import Mapping

from components.engines.nats import config
from components.member_files import MemberFiles, config_path
from components.model import Service, Tier, Topology, division_secret


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
                system_password=secrets["system"],
                divisions=division_accounts(topology, tier, secrets),
            ),
            # Operations' password for Ansible's nats_stream module (read inside the container).
            config_path("nats-password"): secrets["password"],
            # The system user's, for nats-exporter: it counts the server's failed logins from the
            # auth-error advisories of the system account (images/nats).
            config_path("nats-system-password"): secrets["system"],
        },
        secret_paths=frozenset(
            {config_path("nats.conf"), config_path("nats-password"), config_path("nats-system-password")}
        ),
    )


def division_accounts(topology: Topology, tier: Tier, secrets: Mapping[str, str]) -> list[config.DivisionAccount]:
    """An account per division using the tier, with the channels the tier carries for it."""
    carried = topology.channels.tier == tier.key
    return [
        config.DivisionAccount(
            d.key,
            secrets[division_secret(d.key)],
            tuple((c.key, c.other(d.key)) for c in topology.channels.of(d.key)) if carried else (),
        )
        for d in topology.divisions.values()
        if tier.key in d.uses
    ]


def division_login(topology: Topology, tier: Tier, division: str) -> dict[str, str]:
    """A division's login on the tier: its user in its own account; the password is the tier's secret."""
    del topology, tier
    return {"user": division, "account": division, "secret": division_secret(division)}
