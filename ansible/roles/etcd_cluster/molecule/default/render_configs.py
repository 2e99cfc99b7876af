"""Prints {member: etcd.yml} for a static 3-member cluster as the Pulumi program renders it."""

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[5]))
from components.engines.etcd.config import etcd_yml

members = sys.argv[1:]
print(
    json.dumps(
        {
            m: etcd_yml(
                member=m, members=members, client_port=2379, peer_port=2380, cluster_token="molecule-coordination"
            )
            for m in members
        }
    )
)
