"""What a Valkey member (with its Sentinel) and the valkey exporter run and receive."""

from __future__ import annotations

from collections.abc import Mapping

from components.engines.valkey import config
from components.member_files import MemberFiles, config_path
from components.model import Service, Tier, Topology


def member_files(topology: Topology, tier: Tier, member: Service, secrets: Mapping[str, str]) -> MemberFiles:
    seed = tier.members[0]  # the first member starts as primary; Sentinel owns the role afterwards
    port = member.port("valkey").container
    return MemberFiles(
        command=(
            "novaops-run",
            "valkey",
            "valkey-with-sentinel",
            config_path("valkey.conf"),
            config_path("sentinel.conf"),
        ),
        files={
            config_path("valkey.conf"): config.valkey_conf(
                member=member.container,
                port=port,
                password=secrets["password"],
                primary=None if member is seed else seed.container,
            ),
            config_path("sentinel.conf"): config.sentinel_conf(
                member=member.container,
                master_name=config.master_name(topology.stack, tier.key),
                primary=seed.container,
                valkey_port=port,
                sentinel_port=member.port("sentinel").container,
                quorum=len(tier.members) // 2 + 1,
                password=secrets["password"],
            ),
            config_path("valkey-password"): secrets["password"],
        },
        secret_paths=frozenset(
            {config_path("valkey.conf"), config_path("sentinel.conf"), config_path("valkey-password")}
        ),
    )


def service_files(topology: Topology, exporter: Service, secrets: Mapping[str, str]) -> MemberFiles:
    """The valkey exporter; ``secrets``: Valkey tier key -> that tier's password (Valkey's and
    its Sentinels', each a target it scrapes)."""
    by_target = {}
    for tier_key, password in secrets.items():
        for m in topology.tiers[tier_key].members:
            for scrape in m.kind.scrapes:
                if scrape.via == exporter.kind.name:
                    host, port = topology.endpoint(exporter, m, scrape.port)
                    by_target[f"{scrape.scheme}://{host}:{port}"] = password
    return MemberFiles(
        command=(
            "novaops-run",
            "prometheus",
            "prometheus-redis-exporter",
            f"--redis.password-file={config_path('valkey-passwords.json')}",
            f"--web.listen-address=:{exporter.port('metrics').container}",
        ),
        files={config_path("valkey-passwords.json"): config.valkey_exporter_passwords(targets=by_target)},
        secret_paths=frozenset({config_path("valkey-passwords.json")}),
    )
