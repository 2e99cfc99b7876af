"""Operator endpoints of a stack, read from its outputs (never restated by hand).

Clients reach the tiers the way operators and Nova agents do (a router, Sentinels, cluster client
URLs: each engine's workload module says which, components/engines/<engine>/workload.py). Only
addresses published on the stack's publish address are used.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parents[2]


class EndpointError(ValueError):
    """The stack outputs lack what the load generator needs (message names the key)."""


def split_address(address: str, where: str) -> tuple[str, int]:
    host, sep, port = str(address).rpartition(":")
    if not sep or not port.isdigit():
        raise EndpointError(f"{where}: {address!r} is not host:port")
    return host, int(port)


@dataclass(frozen=True)
class TierOutputs:
    """One tier as the stack outputs publish it, with its secrets: what an engine's workload reads."""

    stack: str
    key: str
    engine: str
    outputs: dict[str, Any]  # outputs["tiers"][key]: members, router
    secrets: dict[str, str]  # outputs["tierSecrets"][key]

    @property
    def where(self) -> str:
        return f"tiers.{self.key}"

    def members(self) -> dict[str, dict]:
        return self.outputs.get("members") or {}

    def address(self, member: str, port: str) -> tuple[str, int]:
        """A member's published ``port`` (tiers.<key>.members.<member>.<port>)."""
        return split_address(self.members()[member].get(port), f"{self.where}.members.{member}.{port}")

    def secret(self, name: str) -> str:
        if name not in self.secrets:
            raise EndpointError(f"tierSecrets.{self.key}: no {name!r}")
        return self.secrets[name]


@dataclass(frozen=True)
class Endpoints:
    stack: str
    engines: dict[str, str]  # every tier key -> its engine (kind name), catalog order
    tiers: dict[str, Any]  # tier key -> its engine's endpoint, for tiers that have a workload
    prometheus: tuple[str, int] | None
    alertmanager: tuple[str, int] | None
    alert_receiver: tuple[str, int] | None
    outputs: dict[str, Any]
    monitoring_login: tuple[str, str] | None = None  # Prometheus' and Alertmanager's operator


def workload(engine: str) -> ModuleType:
    """The engine's workload module (components/engines/<engine>/workload.py)."""
    from components.engines import part

    try:
        return part(engine, "workload")
    except KeyError as exc:
        raise EndpointError(f"engine {engine!r}: {exc.args[0]}") from exc


def load_stack_outputs(stack: str) -> dict[str, Any]:
    from tools.stackctl import stack_outputs

    return stack_outputs(stack)


def _monitoring(outputs: dict[str, Any], name: str) -> tuple[str, int] | None:
    monitoring = outputs.get("monitoring") or {}
    if not monitoring.get(name):
        return None
    url = urlsplit(monitoring[name])
    if not url.hostname or not url.port:
        raise EndpointError(f"monitoring.{name}: {monitoring[name]!r} is not http://host:port")
    return url.hostname, url.port


def monitoring_login(outputs: dict[str, Any]) -> tuple[str, str] | None:
    """(user, password) of the operator's login to Prometheus and Alertmanager (basic auth);
    None for a stack without them or outputs read without their secrets."""
    user, password = outputs.get("monitoringOperatorUser"), outputs.get("monitoringOperatorPassword")
    if not user or not isinstance(password, str) or password == "[secret]":
        return None
    return user, password


def from_outputs(outputs: dict[str, Any]) -> Endpoints:
    stack = outputs.get("stack")
    if not stack:
        raise EndpointError("stack outputs: no 'stack' key")
    secrets = outputs.get("tierSecrets")
    if not isinstance(secrets, dict):
        raise EndpointError("stack outputs: 'tierSecrets' missing or hidden (load them with show_secrets)")
    engines: dict[str, str] = {}
    tiers: dict[str, Any] = {}
    for key, tier in (outputs.get("tiers") or {}).items():
        engines[key] = tier.get("engine")
        endpoint = workload(engines[key]).endpoint(TierOutputs(stack, key, engines[key], tier, secrets.get(key) or {}))
        if endpoint is not None:  # None: the engine has no workload client (its tier is not written to)
            tiers[key] = endpoint
    return Endpoints(
        stack,
        engines,
        tiers,
        _monitoring(outputs, "prometheus"),
        _monitoring(outputs, "alertmanager"),
        _monitoring(outputs, "alert-receiver"),
        outputs,
        monitoring_login(outputs),
    )


def load(stack: str) -> Endpoints:
    return from_outputs(load_stack_outputs(stack))
