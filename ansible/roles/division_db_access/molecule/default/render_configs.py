"""Render the engine configs as Pulumi does (components/engines/<engine>/config.py) for the molecule
containers. Reads {etcd, pg, valkey, secrets} as JSON on stdin, prints {container: {file: text}}."""

import json
import sys

from components.engines.etcd import config as etcd_config
from components.engines.patroni import config as pg_config
from components.engines.valkey import config as valkey_config

a = json.load(sys.stdin)
etcd, pg, vk, s = a["etcd"], a["pg"], a["valkey"], a["secrets"]
print(
    json.dumps(
        {
            etcd: {
                "etcd.yml": etcd_config.etcd_yml(
                    member=etcd,
                    members=[etcd],
                    client_port=2379,
                    peer_port=2380,
                    cluster_token="novaops-molecule-coordination",
                ),
                # The etcd tier creates the Patroni tier's user and turns auth on at its bootstrap.
                "auth.json": etcd_config.auth_json(
                    s.get("root", "molecule-root"),
                    [pg_config.dcs_login("molecule-episodic", s.get("dcs", "molecule-dcs"))],
                ),
            },
            pg: {
                "patroni.yml": pg_config.patroni_yml(
                    scope="molecule-episodic",
                    namespace="/novaops/",
                    member=pg,
                    etcd_hosts=[f"{etcd}:2379"],
                    postgres_port=5432,
                    api_port=8008,
                    superuser_password=s["superuser"],
                    replication_password=s["replication"],
                    rewind_password=s["rewind"],
                    restapi_password=s.get("restapi", "molecule-restapi"),
                    dcs_password=s.get("dcs", "molecule-dcs"),
                    shared_preload_libraries=[],
                ),
                "bootstrap.sql": pg_config.bootstrap_sql(database="nova", extensions=[]),
            },
            vk: {
                "valkey.conf": valkey_config.valkey_conf(member=vk, port=6379, password=s["valkey"], primary=None),
                "sentinel.conf": valkey_config.sentinel_conf(
                    member=vk,
                    master_name="molecule-working",
                    primary=vk,
                    valkey_port=6379,
                    sentinel_port=26379,
                    quorum=1,
                    password=s["valkey"],
                ),
                "valkey-password": s["valkey"],
            },
        }
    )
)
