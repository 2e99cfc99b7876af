"""Prints {member: {path: text}} for a static 3-member cluster as the Pulumi program renders it:
etcd.yml and the auth bootstrap's auth.json. Reads {members, root_password, users} as JSON on stdin
(passwords never on the command line)."""

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[5]))
from components.engines.etcd.config import auth_json, etcd_yml

req = json.load(sys.stdin)
members = req["members"]
print(
    json.dumps(
        {
            m: {
                "/etc/novaops/etcd.yml": etcd_yml(
                    member=m, members=members, client_port=2379, peer_port=2380, cluster_token="molecule-coordination"
                ),
                "/etc/novaops/auth.json": auth_json(req["root_password"], req["users"]),
            }
            for m in members
        }
    )
)
