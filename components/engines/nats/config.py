"""nats-server config (the images/nats contract)."""

from __future__ import annotations

from urllib.parse import quote

from components.engines.render import json_str

# Config headers still read "Rendered by components/engine_configs.py" (the module this came from):
# a changed byte would replace every running member on the next `pulumi up`.

USER = "nova"  # clients, routes and the prober log in as this user
NATS_STORE_DIR = "/data/jetstream"


def nats_conf(
    *,
    member: str,
    members: list[str],
    cluster_name: str,
    client_port: int,
    cluster_port: int,
    monitor_port: int,
    user: str,
    password: str,
) -> str:
    """nats-server config: JetStream in /data/jetstream, clustered with the other ``members``.

    Clients and routes both authenticate with ``user``/``password`` (routes carry it in their URLs).
    """
    cred = f"{quote(user, safe='')}:{quote(password, safe='')}"
    routes = [f"nats-route://{cred}@{m}:{cluster_port}" for m in members if m != member]
    route_lines = "\n".join(f"    {json_str(r)}" for r in routes)
    return (
        "# Rendered by components/engine_configs.py\n"
        f"server_name: {json_str(member)}\n"
        f'listen: "0.0.0.0:{client_port}"\n'
        f'http: "0.0.0.0:{monitor_port}"\n'
        "\n"
        "jetstream {\n"
        f"  store_dir: {json_str(NATS_STORE_DIR)}\n"
        "}\n"
        "\n"
        "authorization {\n"
        f"  user: {json_str(user)}\n"
        f"  password: {json_str(password)}\n"
        "}\n"
        "\n"
        "cluster {\n"
        f"  name: {json_str(cluster_name)}\n"
        f'  listen: "0.0.0.0:{cluster_port}"\n'
        "  authorization {\n"
        f"    user: {json_str(user)}\n"
        f"    password: {json_str(password)}\n"
        "  }\n"
        "  routes: [\n"
        f"{route_lines}\n"
        "  ]\n"
        "}\n"
    )
