"""Prints {member: {path: text}} (nats.conf, nats-password) as the Pulumi program renders them, with
throwaway passwords and one division account in no channel."""

import json
import secrets
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[5]))
from components.engines.nats.config import DivisionAccount, nats_conf

members = sys.argv[1:]
password, system, division = (secrets.token_urlsafe(24) for _ in range(3))
print(
    json.dumps(
        {
            m: {
                "/etc/novaops/nats.conf": nats_conf(
                    member=m,
                    members=members,
                    cluster_name="molecule-streams",
                    client_port=4222,
                    cluster_port=6222,
                    monitor_port=8222,
                    user="nova",
                    password=password,
                    system_password=system,
                    divisions=[DivisionAccount("molecule-division", division)],
                ),
                "/etc/novaops/nats-password": password,
            }
            for m in members
        }
    )
)
