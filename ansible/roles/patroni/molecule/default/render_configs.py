"""Render the member configs the Pulumi program uploads, with components/engines/<engine>/config.py.

Reads a JSON request on stdin (secrets never on the command line) and prints JSON
{container: {path: content}}. Run from the repo root by prepare.yml (molecule only).
"""

from __future__ import annotations

import json
import sys

from components.engines.etcd import config as etcd_config
from components.engines.patroni import config as pg_config
from components.engines.patroni.config import APP_DATABASE, PATRONI_NAMESPACE

req = json.load(sys.stdin)
stack, etcd, secrets = req["stack"], req["etcd"], req["secrets"]
out: dict[str, dict[str, str]] = {}
dcs_password = secrets.get("dcs", "molecule-dcs")
# The etcd tier creates each Patroni tier's user and turns auth on at its bootstrap (auth.json).
users = [pg_config.dcs_login(f"{stack}-{tier}", dcs_password) for tier in req["tiers"]]
for member in etcd:
    out[member] = {
        "/etc/novaops/etcd.yml": etcd_config.etcd_yml(
            member=member, members=etcd, client_port=2379, peer_port=2380, cluster_token=f"{stack}-coordination"
        ),
        "/etc/novaops/auth.json": etcd_config.auth_json(secrets.get("root", "molecule-root"), users),
    }
for tier, members in req["tiers"].items():
    for member in members:
        out[member] = {
            "/etc/novaops/patroni.yml": pg_config.patroni_yml(
                scope=f"{stack}-{tier}",
                namespace=PATRONI_NAMESPACE,
                member=member,
                etcd_hosts=[f"{e}:2379" for e in etcd],
                postgres_port=5432,
                api_port=8008,
                superuser_password=secrets["superuser"],
                replication_password=secrets["replication"],
                rewind_password=secrets["rewind"],
                restapi_password=secrets.get("restapi", "molecule-restapi"),
                dcs_password=dcs_password,
                shared_preload_libraries=[],
            ),
            "/etc/novaops/bootstrap.sql": pg_config.bootstrap_sql(database=APP_DATABASE, extensions=[]),
        }
json.dump(out, sys.stdout)
