"""nats-server config (the images/nats contract)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from urllib.parse import quote

from components.engines.render import json_str

# Config headers still read "Rendered by components/engine_configs.py" (the module this came from):
# a changed byte would replace every running member on the next `pulumi up`.

USER = "nova"  # operations (novaload, the prober, drills, Ansible, backups) and routes log in as this user
NATS_STORE_DIR = "/data/jetstream"
# Accounts: operations (USER, the NOVA_* streams), the system account (SYSTEM_USER, server events
# and `nats server` requests for operators), and one per division using the tier.
OPS_ACCOUNT = "OPS"
SYSTEM_ACCOUNT = "SYS"
SYSTEM_USER = "system"
# JetStream limits of a division's account (its own streams; the NOVA_* streams are operations').
DIVISION_JETSTREAM = {"max_mem": 64 << 20, "max_file": 256 << 20, "max_streams": 16, "max_consumers": 256}


def division_subjects(division: str) -> str:
    """A division's own subjects (in its own account)."""
    return f"div.{division}.>"


def channel_events(channel: str, sender: str) -> str:
    """Events ``sender`` publishes on ``channel``: exported to the other division only."""
    return f"chan.{channel}.{sender}.>"


def channel_requests(channel: str, responder: str) -> str:
    """Requests ``responder`` serves on ``channel``: a service exported to the other division only."""
    return f"chan.{channel}.req.{responder}.>"


@dataclass(frozen=True)
class DivisionAccount:
    """A division's account: its user and the channels it is in, as (channel key, other division)."""

    division: str
    password: str
    channels: Sequence[tuple[str, str]] = field(default_factory=tuple)


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
    system_password: str,
    divisions: Sequence[DivisionAccount] = (),
) -> str:
    """nats-server config: JetStream in /data/jetstream, clustered with the other ``members``.

    Routes authenticate with ``user``/``password`` (carried in their URLs). Clients log into an
    account (accounts_block): ``user`` into operations', the system user into the system account,
    each division's user into its own.
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
        f"{accounts_block(user, password, system_password, divisions)}"
        f"system_account: {json_str(SYSTEM_ACCOUNT)}\n"
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


def accounts_block(user: str, password: str, system_password: str, divisions: Sequence[DivisionAccount]) -> str:
    """``accounts {...}``: values as JSON, which the NATS config format accepts."""
    accounts = {
        OPS_ACCOUNT: {"jetstream": "enabled", "users": [{"user": user, "password": password}]},
        SYSTEM_ACCOUNT: {"users": [{"user": SYSTEM_USER, "password": system_password}]},
        **{d.division: division_account(d) for d in divisions},
    }
    body = "\n".join(f"  {json_str(name)}: {json.dumps(acc, sort_keys=True)}" for name, acc in accounts.items())
    return "accounts {\n" + body + "\n}\n"


def division_account(d: DivisionAccount) -> dict:
    """Its user may use its own subjects and JetStream, publish its events and requests to the other
    side on each of its channels and receive the other side's events and requests to it; each export
    names the one division that may import it."""
    own, inbox = division_subjects(d.division), "_INBOX.>"
    publish = [own, inbox, "$JS.API.>", "$JS.ACK.>"]
    subscribe = [own, inbox]
    exports, imports = [], []
    for channel, other in d.channels:
        publish += [channel_events(channel, d.division), channel_requests(channel, other)]
        subscribe += [channel_events(channel, other), channel_requests(channel, d.division)]
        exports += [
            {"stream": channel_events(channel, d.division), "accounts": [other]},
            {"service": channel_requests(channel, d.division), "accounts": [other]},
        ]
        imports += [
            {"stream": {"account": other, "subject": channel_events(channel, other)}},
            {"service": {"account": other, "subject": channel_requests(channel, other)}},
        ]
    permissions = {"publish": {"allow": publish}, "subscribe": {"allow": subscribe}, "allow_responses": True}
    account = {
        "jetstream": DIVISION_JETSTREAM,
        "users": [{"user": d.division, "password": d.password, "permissions": permissions}],
    }
    if exports:
        account |= {"exports": exports, "imports": imports}
    return account
