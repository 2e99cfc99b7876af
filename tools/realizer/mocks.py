"""Pulumi mocks that record what a program registers: one harness for the realizer and the unit tests.

``RecordingMocks`` keeps every registration (URN, type, name, wire inputs, provider) in order and
answers with the inputs as outputs; a subclass adds computed outputs in ``respond``. The monitor
records what the engine is told about each registration (parent, dependencies) and tells the mocks
the URN being registered (``Mocks.new_resource`` is not given it).
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
from pulumi.runtime import mocks as pmocks

CONTAINER = "docker:index/container:Container"

_local = threading.local()


@dataclass
class Registered:
    urn: str
    type: str
    name: str
    custom: bool
    provider: str
    inputs: dict  # wire form (camelCase, floats, secret sentinels)

    @property
    def label(self) -> str:
        return f"{self.type} {self.name!r}"


@dataclass
class Edges:
    """What the engine is told about a registration: its parent and its dependencies (URNs)."""

    urn: str
    parent: str
    dependencies: list[str]


class RecordingMonitor(pmocks.MockMonitor):
    def __init__(self, mocks: RecordingMocks):
        super().__init__(mocks)
        self.edges: dict[str, Edges] = {}

    def RegisterResource(self, request):
        urn = self.make_urn(request.parent, request.type, request.name)
        self.edges[urn] = Edges(urn, request.parent, list(request.dependencies))
        _local.urn = urn
        try:
            return super().RegisterResource(request)
        finally:
            _local.urn = None

    def ReadResource(self, request):
        return self.mocks.read_resource(request)


class RecordingMocks(pulumi.runtime.Mocks):
    def __init__(self) -> None:
        self.resources: list[Registered] = []  # registration order
        self.lock = threading.Lock()
        self.monitor: RecordingMonitor | None = None

    def new_resource(self, args: pulumi.runtime.MockResourceArgs):
        urn = getattr(_local, "urn", None) or f"urn:unknown::{args.typ}::{args.name}"
        rec = Registered(
            urn=urn,
            type=args.typ,
            name=args.name,
            custom=bool(args.custom),
            provider=args.provider or "",
            inputs=dict(args.inputs or {}),
        )
        with self.lock:
            self.resources.append(rec)
        return self.respond(rec)

    def respond(self, rec: Registered) -> tuple[str | None, dict]:
        """(id, outputs) of a registration: the inputs, unless a subclass computes more."""
        return f"{rec.name}-id", dict(rec.inputs)

    def call(self, args: pulumi.runtime.MockCallArgs):
        raise AssertionError(f"the program made an unexpected invoke: {args.token}")

    def read_resource(self, request):
        raise AssertionError(f"the program read an existing resource: {request.type} {request.name!r}")

    # ---- queries
    def of_type(self, typ: str) -> list[Registered]:
        return [r for r in self.resources if r.type == typ]

    def containers(self) -> list[Registered]:
        return self.of_type(CONTAINER)

    def container(self, name: str) -> Registered:
        (found,) = [c for c in self.containers() if c.inputs["name"] == name]
        return found

    def edges_of(self, typ: str, name: str) -> Edges:
        (found,) = [e for urn, e in self.monitor.edges.items() if urn.endswith(f"{typ}::{name}")]
        return found


def install(
    mocks: RecordingMocks,
    project: str,
    stack: str,
    config: dict[str, str] | None = None,
    secret_keys: Sequence[str] = (),
) -> RecordingMonitor:
    """The mocks (and the stack config, when given: full keys, values as Pulumi hands them over,
    strings) for the program about to be declared in this process."""
    mocks.monitor = RecordingMonitor(mocks)
    if config is not None:
        pulumi.runtime.set_all_config(dict(config), secret_keys=list(secret_keys))
    pulumi.runtime.set_mocks(mocks, project=project, stack=stack, preview=False, monitor=mocks.monitor)
    return mocks.monitor
