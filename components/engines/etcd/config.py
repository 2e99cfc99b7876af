"""etcd config (the images/etcd contract)."""

from __future__ import annotations

import json

from components.engines.render import yaml_text

ETCD_DATA_DIR = "/var/lib/etcd"


def etcd_yml(*, member: str, members: list[str], client_port: int, peer_port: int, cluster_token: str) -> str:
    """etcd --config-file for one member of a new static cluster (plain HTTP, internal network)."""
    config = {
        "name": member,
        "data-dir": ETCD_DATA_DIR,
        "listen-client-urls": f"http://0.0.0.0:{client_port}",
        "advertise-client-urls": f"http://{member}:{client_port}",
        "listen-peer-urls": f"http://0.0.0.0:{peer_port}",
        "initial-advertise-peer-urls": f"http://{member}:{peer_port}",
        "initial-cluster": ",".join(f"{m}=http://{m}:{peer_port}" for m in members),
        "initial-cluster-state": "new",
        "initial-cluster-token": cluster_token,
        "logger": "zap",
        "log-outputs": ["stderr"],
    }
    return yaml_text(config)


def auth_json(root_password: str, users: list[dict[str, str]]) -> str:
    """The members' auth bootstrap input (images/etcd/etcd-with-auth, etcd_auth.py bootstrap):
    root's password and the users to create before auth goes on, each {user, prefix, password}
    with readwrite on its prefix only."""
    return json.dumps({"root_password": root_password, "users": users}, indent=2, sort_keys=True) + "\n"
