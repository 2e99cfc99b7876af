"""Render the member configs the Pulumi program uploads, with components/engine_configs.py.

Reads a JSON request on stdin (secrets never on the command line) and prints JSON
{container: {path: content}}. Run from the repo root by prepare.yml (molecule only).
"""
from __future__ import annotations

import json
import sys

from components import engine_configs
from components.member_files import APP_DATABASE, PATRONI_NAMESPACE

req = json.load(sys.stdin)
stack, etcd, secrets = req["stack"], req["etcd"], req["secrets"]
out: dict[str, dict[str, str]] = {}
for member in etcd:
    out[member] = {"/etc/novaops/etcd.yml": engine_configs.etcd_yml(
        member=member, members=etcd, client_port=2379, peer_port=2380, cluster_token=f"{stack}-coordination")}
for tier, members in req["tiers"].items():
    for member in members:
        out[member] = {
            "/etc/novaops/patroni.yml": engine_configs.patroni_yml(
                scope=f"{stack}-{tier}", namespace=PATRONI_NAMESPACE, member=member,
                etcd_hosts=[f"{e}:2379" for e in etcd], postgres_port=5432, api_port=8008,
                superuser_password=secrets["superuser"], replication_password=secrets["replication"],
                rewind_password=secrets["rewind"], shared_preload_libraries=[]),
            "/etc/novaops/bootstrap.sql": engine_configs.bootstrap_sql(database=APP_DATABASE, extensions=[]),
        }
json.dump(out, sys.stdout)
