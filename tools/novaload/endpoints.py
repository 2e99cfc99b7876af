"""Operator endpoints of a stack, read from its outputs (never restated by hand).

Clients reach the tiers the way operators and Nova agents do: the HAProxy router's primary /
replicas ports of each Patroni tier, Valkey through its Sentinels, the NATS cluster's client URLs.
Only addresses published on the stack's publish address are used.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parents[2]


class EndpointError(ValueError):
    """The stack outputs lack what the load generator needs (message names the key)."""


def _split(address: str, where: str) -> tuple[str, int]:
    host, sep, port = str(address).rpartition(":")
    if not sep or not port.isdigit():
        raise EndpointError(f"{where}: {address!r} is not host:port")
    return host, int(port)


@dataclass(frozen=True)
class PostgresTier:
    tier: str
    primary: tuple[str, int]
    replicas: tuple[str, int]
    password: str
    user: str = "postgres"
    database: str = "nova"


@dataclass(frozen=True)
class ValkeyTier:
    tier: str
    master_name: str
    sentinels: list[tuple[str, int]]
    password: str
    # container name -> published (host, port): Sentinel names masters by container name.
    published: dict[str, tuple[str, int]] = field(default_factory=dict)


@dataclass(frozen=True)
class NatsTier:
    tier: str
    servers: list[str]
    user: str
    password: str


@dataclass(frozen=True)
class Endpoints:
    stack: str
    postgres: dict[str, PostgresTier]
    valkey: dict[str, ValkeyTier]
    nats: dict[str, NatsTier]
    prometheus: tuple[str, int] | None
    alertmanager: tuple[str, int] | None
    alert_receiver: tuple[str, int] | None
    outputs: dict[str, Any]


def load_stack_outputs(stack: str) -> dict[str, Any]:
    from tools.stackctl import stack_outputs
    return stack_outputs(stack)


def from_outputs(outputs: dict[str, Any]) -> Endpoints:
    stack = outputs.get("stack")
    if not stack:
        raise EndpointError("stack outputs: no 'stack' key")
    secrets = outputs.get("tierSecrets")
    if not isinstance(secrets, dict):
        raise EndpointError("stack outputs: 'tierSecrets' missing or hidden (load them with show_secrets)")
    postgres: dict[str, PostgresTier] = {}
    valkey: dict[str, ValkeyTier] = {}
    nats: dict[str, NatsTier] = {}
    for key, tier in (outputs.get("tiers") or {}).items():
        engine = tier.get("engine")
        members = tier.get("members") or {}
        where = f"tiers.{key}"
        if engine == "patroni":
            router = tier.get("router") or {}
            if "primary" not in router or "replicas" not in router:
                raise EndpointError(f"{where}.router: needs 'primary' and 'replicas' endpoints")
            postgres[key] = PostgresTier(key, _split(router["primary"], f"{where}.router.primary"),
                                         _split(router["replicas"], f"{where}.router.replicas"),
                                         secrets[key]["superuser"])
        elif engine == "valkey":
            valkey[key] = ValkeyTier(
                key, f"{stack}-{key}",
                [_split(m["sentinel"], f"{where}.members.{n}.sentinel") for n, m in members.items()],
                secrets[key]["password"],
                {m["container"]: _split(m["valkey"], f"{where}.members.{n}.valkey") for n, m in members.items()})
        elif engine == "nats":
            servers = []
            for n, m in members.items():
                host, port = _split(m["client"], f"{where}.members.{n}.client")
                servers.append(f"nats://{host}:{port}")
            nats[key] = NatsTier(key, servers, "nova", secrets[key]["password"])
    monitoring = outputs.get("monitoring") or {}

    def mon(name: str) -> tuple[str, int] | None:
        if not monitoring.get(name):
            return None
        url = urlsplit(monitoring[name])
        if not url.hostname or not url.port:
            raise EndpointError(f"monitoring.{name}: {monitoring[name]!r} is not http://host:port")
        return url.hostname, url.port

    return Endpoints(stack, postgres, valkey, nats, mon("prometheus"), mon("alertmanager"), mon("alert-receiver"), outputs)


def load(stack: str) -> Endpoints:
    return from_outputs(load_stack_outputs(stack))
