"""Run the real Pulumi program under pulumi's mocks and record what it registers."""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import pulumi
from pulumi.runtime import config as runtime_config

PROJECT = "novaops"
SECRET_SIG = "4dabf18193072939515e22adb298388d"
FAKE_PUBLIC_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIMockedKeyForTests novaops-test"


@dataclass
class Registered:
    typ: str
    name: str
    inputs: dict
    provider: str | None


@dataclass
class Edges:
    """What the engine is told about a registration: its parent and its dependencies (URNs)."""
    urn: str
    parent: str
    dependencies: list[str]


class EdgeRecordingMonitor(pulumi.runtime.mocks.MockMonitor):
    def __init__(self, mocks: "RecordingMocks"):
        super().__init__(mocks)
        self.edges: dict[str, Edges] = {}

    def RegisterResource(self, request):  # noqa: N802 - gRPC method name
        urn = self.make_urn(request.parent, request.type, request.name)
        self.edges[urn] = Edges(urn, request.parent, list(request.dependencies))
        return super().RegisterResource(request)


def is_secret(value: Any) -> bool:
    return isinstance(value, dict) and value.get(SECRET_SIG) == "1b47061264138c4ac30d75fd1eb44270"


def reveal(value: Any) -> Any:
    """The plain value inside (possibly nested) secret wrappers."""
    if is_secret(value):
        return reveal(value["value"])
    if isinstance(value, dict):
        return {k: reveal(v) for k, v in value.items()}
    if isinstance(value, list):
        return [reveal(v) for v in value]
    return value


def uploads(container: "Registered") -> dict[str, tuple[dict, bool]]:
    """file -> (plain upload inputs, whether its content travels as a secret).

    Pulumi marks the whole enclosing list secret when one element is, so either counts."""
    raw = container.inputs.get("uploads", [])
    list_secret = is_secret(raw)
    return {reveal(u)["file"]: (reveal(u), list_secret or is_secret(u) or is_secret(u.get("content")))
            for u in reveal_list(raw)}


def reveal_list(value: Any) -> list:
    while is_secret(value):
        value = value["value"]
    return value or []


class RecordingMocks(pulumi.runtime.Mocks):
    def __init__(self) -> None:
        self.resources: list[Registered] = []
        self.generated: dict[str, str] = {}

    def new_resource(self, args: pulumi.runtime.MockResourceArgs):
        self.resources.append(Registered(args.typ, args.name, dict(args.inputs), args.provider))
        outputs = dict(args.inputs)
        if args.typ == "random:index/randomPassword:RandomPassword":
            outputs["result"] = self.generated.setdefault(args.name, f"pw{len(self.generated):02d}" + "x" * 28)
        elif args.typ == "tls:index/privateKey:PrivateKey":
            outputs.update(publicKeyOpenssh=FAKE_PUBLIC_KEY, privateKeyOpenssh="-----BEGIN OPENSSH PRIVATE KEY-----\nmock\n")
        elif args.typ == "docker:index/image:Image":
            outputs["repoDigest"] = outputs["imageName"]
        return [f"{args.name}-id", outputs]

    def call(self, args: pulumi.runtime.MockCallArgs):
        raise AssertionError(f"the program made an unexpected invoke: {args.token}")

    # ---- queries used by the tests
    def edges_of(self, typ: str, name: str) -> Edges:
        (found,) = [e for urn, e in self.monitor.edges.items() if urn.endswith(f"{typ}::{name}")]
        return found

    def of_type(self, typ: str) -> list[Registered]:
        return [r for r in self.resources if r.typ == typ]

    def containers(self) -> list[Registered]:
        return self.of_type("docker:index/container:Container")

    def container(self, name: str) -> Registered:
        (found,) = [c for c in self.containers() if c.inputs["name"] == name]
        return found


def configure(stack: str, values: dict[str, Any], secret_keys: list[str] = ()) -> None:
    """Stack config as Pulumi hands it to the program: structured values as JSON."""
    config = {f"{PROJECT}:{k}" if ":" not in k else k: (v if isinstance(v, str) else json.dumps(v))
              for k, v in values.items()}
    runtime_config.set_all_config(config, [f"{PROJECT}:{k}" if ":" not in k else k for k in secret_keys])


def run_program(stack: str = "dev", values: dict[str, Any] | None = None, secret_keys: list[str] = ()):
    """Declare the whole stack under mocks. Returns (mocks, Output that resolves once every
    container — and so everything it depends on — is registered)."""
    from components.stack_files import load_stack_file
    from components.stack import build_stack, load_topology

    configure(stack, load_stack_file(stack) if values is None else values, secret_keys)
    mocks = RecordingMocks()
    mocks.monitor = EdgeRecordingMonitor(mocks)
    pulumi.runtime.set_mocks(mocks, project=PROJECT, stack=stack, preview=False, monitor=mocks.monitor)
    result = build_stack(load_topology())
    done = pulumi.Output.all(*[c.id for c in result.containers])
    return mocks, result, done
