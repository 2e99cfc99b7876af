"""Render the scenario's Valkey, Sentinel, etcd and NATS configs the way the Pulumi program does
(components/engines/<engine>/config.py), with throwaway passwords. Prints JSON: {"files": {container:
{path: text}}, "secrets": {"working": {"password": ...}, "streams": {"password": ...}}}."""

from __future__ import annotations

import json
import secrets
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[5]))
from components.engines.etcd import config as etcd_config
from components.engines.nats import config as nats_config
from components.engines.valkey import config as valkey_config

VALKEY = ["mol-restic-working-1", "mol-restic-working-2"]
ETCD = "mol-restic-coordination-1"
NATS = "mol-restic-streams-1"


def main() -> None:
    valkey_pw, nats_pw, etcd_root = (secrets.token_urlsafe(18) for _ in range(3))
    files: dict[str, dict[str, str]] = {}
    for i, member in enumerate(VALKEY):
        files[member] = {
            "/etc/novaops/valkey.conf": valkey_config.valkey_conf(
                member=member, port=6379, password=valkey_pw, primary=None if i == 0 else VALKEY[0]
            ),
            "/etc/novaops/sentinel.conf": valkey_config.sentinel_conf(
                member=member,
                master_name="mol-working",
                primary=VALKEY[0],
                valkey_port=6379,
                sentinel_port=26379,
                quorum=1,
                password=valkey_pw,
            ),
            "/etc/novaops/valkey-password": valkey_pw,
        }
    files[ETCD] = {
        "/etc/novaops/etcd.yml": etcd_config.etcd_yml(
            member=ETCD, members=[ETCD], client_port=2379, peer_port=2380, cluster_token="mol-restic"
        ),
        # No client tier here: root only, auth on at the member's bootstrap.
        "/etc/novaops/auth.json": etcd_config.auth_json(etcd_root, []),
    }
    nats = nats_config.nats_conf(
        member=NATS,
        members=[NATS],
        cluster_name="mol-streams",
        client_port=4222,
        cluster_port=6222,
        monitor_port=8222,
        user="nova",
        password=nats_pw,
        system_password=secrets.token_urlsafe(18),
    )
    # One server only: a 1-node JetStream *cluster* refuses to start (no routes), so the
    # cluster block is cut; the client side (listen, auth, JetStream store) is the rendered one.
    files[NATS] = {"/etc/novaops/nats.conf": nats[: nats.index("cluster {")]}
    json.dump(
        {
            "files": files,
            # etcd's root: restic's etcd snapshot logs in as root.
            "secrets": {
                "working": {"password": valkey_pw},
                "streams": {"password": nats_pw},
                "coordination": {"root": etcd_root},
            },
        },
        sys.stdout,
    )


if __name__ == "__main__":
    main()
