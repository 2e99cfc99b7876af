"""What an etcd member runs and receives."""

from __future__ import annotations

from collections.abc import Mapping

from components.engines import part
from components.engines.etcd import config
from components.member_files import MemberFiles, config_path
from components.model import Service, Tier, Topology, dcs_client_secret

ROOT_SECRET = "root"


def member_files(topology: Topology, tier: Tier, member: Service, secrets: Mapping[str, str]) -> MemberFiles:
    client_port = member.port("client").container
    return MemberFiles(
        # etcd-with-auth: the bootstrap that creates root and the DCS clients' users, then turns
        # auth on, before any client tier first starts (images/etcd/etcd-with-auth)
        command=(
            "novaops-run",
            "etcd",
            "etcd-with-auth",
            config_path("etcd.yml"),
            config_path("auth.json"),
            f"http://127.0.0.1:{client_port}",
        ),
        files={
            config_path("etcd.yml"): config.etcd_yml(
                member=member.container,
                members=[m.container for m in tier.members],
                client_port=client_port,
                peer_port=member.port("peer").container,
                cluster_token=f"novaops-{topology.stack}-{tier.key}",
            ),
            config_path("auth.json"): auth_json(topology, tier, secrets),
        },
        secret_paths=frozenset({config_path("auth.json")}),
    )


# A division using the tier: user division-<division>, readwrite on /divisions/<division>/ only
# (the etcd_cluster role creates it; division_db_access writes its connection file).
DIVISION_USER_PREFIX = "division-"
DIVISION_KEY_PREFIX = "/divisions/"


def division_login(topology: Topology, tier: Tier, division: str) -> dict[str, str]:
    del topology, tier
    return {"user": f"{DIVISION_USER_PREFIX}{division}", "prefix": f"{DIVISION_KEY_PREFIX}{division}/"}


def auth_json(topology: Topology, tier: Tier, secrets: Mapping[str, str]) -> str:
    """Per client tier its user, key prefix (its whole grant) and password (this tier's secret for it)."""
    users = []
    for client in topology.dcs_clients(tier):
        files = part(client.engine.name, "files")
        users.append(
            {
                "user": files.dcs_user(topology, client),
                "prefix": files.dcs_prefix(topology, client),
                "password": secrets[dcs_client_secret(client.key)],
            }
        )
    return config.auth_json(secrets[ROOT_SECRET], users)
