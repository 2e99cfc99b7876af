"""Prints {member: {file: content}} for a Valkey tier as the Pulumi program renders it
(components/engines/<engine>/config.py; first member primary, Sentinel quorum 2), with a throwaway password."""

import json
import secrets
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[5]))
from components.engines.valkey.config import sentinel_conf, valkey_conf

master_name, members = sys.argv[1], sys.argv[2:]
password = secrets.token_urlsafe(24)
seed = members[0]
print(
    json.dumps(
        {
            m: {
                "valkey.conf": valkey_conf(member=m, port=6379, password=password, primary=None if m == seed else seed),
                "sentinel.conf": sentinel_conf(
                    member=m,
                    master_name=master_name,
                    primary=seed,
                    valkey_port=6379,
                    sentinel_port=26379,
                    quorum=len(members) // 2 + 1,
                    password=password,
                ),
                "valkey-password": password,
            }
            for m in members
        }
    )
)
