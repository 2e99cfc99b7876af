"""Render the scenario's etcd and Patroni configs the way the Pulumi program does
(components/engines/<engine>/config.py), with throwaway passwords. Prints JSON {container: {path: text}}."""

from __future__ import annotations

import json
import secrets
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[5]))
from components.engines.etcd import config as etcd_config
from components.engines.patroni import config as pg_config

ETCD = "mol-pgbr-etcd"
MEMBERS = ["mol-pgbr-episodic-1"]


def main() -> None:
    pw = {k: secrets.token_urlsafe(18) for k in ("superuser", "replication", "rewind", "dcs", "root")}
    # The converge sends it to Patroni's REST API: both read it from the molecule ephemeral directory.
    pw["restapi"] = sys.stdin.read().strip()
    files = {
        ETCD: {
            "/etc/novaops/etcd.yml": etcd_config.etcd_yml(
                member=ETCD, members=[ETCD], client_port=2379, peer_port=2380, cluster_token="mol-pgbr"
            ),
            # The etcd tier creates the Patroni tier's user and turns auth on at its bootstrap.
            "/etc/novaops/auth.json": etcd_config.auth_json(
                pw["root"], [pg_config.dcs_login("mol-episodic", pw["dcs"])]
            ),
        }
    }
    for member in MEMBERS:
        files[member] = {
            "/etc/novaops/patroni.yml": pg_config.patroni_yml(
                scope="mol-episodic",
                namespace="/novaops/",
                member=member,
                etcd_hosts=[f"{ETCD}:2379"],
                postgres_port=5432,
                api_port=8008,
                superuser_password=pw["superuser"],
                replication_password=pw["replication"],
                rewind_password=pw["rewind"],
                restapi_password=pw["restapi"],
                dcs_password=pw["dcs"],
                shared_preload_libraries=[],
            ),
            "/etc/novaops/bootstrap.sql": pg_config.bootstrap_sql(database="nova", extensions=[]),
        }
    json.dump(files, sys.stdout)


if __name__ == "__main__":
    main()
