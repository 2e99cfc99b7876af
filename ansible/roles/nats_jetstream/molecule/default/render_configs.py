"""Prints {member: nats.conf} as the Pulumi program renders them, with a throwaway password."""

import json
import secrets
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[5]))
from components.engines.nats.config import nats_conf

members = sys.argv[1:]
password = secrets.token_urlsafe(24)
print(
    json.dumps(
        {
            m: nats_conf(
                member=m,
                members=members,
                cluster_name="molecule-streams",
                client_port=4222,
                cluster_port=6222,
                monitor_port=8222,
                user="nova",
                password=password,
            )
            for m in members
        }
    )
)
