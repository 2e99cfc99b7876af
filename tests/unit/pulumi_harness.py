"""Run the real Pulumi program under the realizer's recording mocks (tools/realizer/mocks.py), with
fixed fake outputs, and read what it registered."""

from __future__ import annotations

import hashlib
from typing import Any

import pulumi

from tools.realizer import wire
from tools.realizer.config import full_key, to_config_string
from tools.realizer.mocks import Edges, Registered, install
from tools.realizer.mocks import RecordingMocks as _Recording

__all__ = ["Edges", "Registered", "RecordingMocks", "configure", "reveal", "run_program", "uploads"]

PROJECT = "novaops"
FAKE_PUBLIC_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIMockedKeyForTests novaops-test"


def is_secret(value: Any) -> bool:
    return wire.is_secret_wrapper(value)


def reveal(value: Any) -> Any:
    """The plain value inside (possibly nested) secret wrappers."""
    return wire.unwrap(value)[0]


def uploads(container: Registered) -> dict[str, tuple[dict, bool]]:
    """file -> (plain upload inputs, whether its content travels as a secret).

    Pulumi marks the whole enclosing list secret when one element is, so either counts."""
    raw = container.inputs.get("uploads", [])
    list_secret = is_secret(raw)
    return {
        reveal(u)["file"]: (reveal(u), list_secret or is_secret(u) or is_secret(u.get("content")))
        for u in reveal_list(raw)
    }


def reveal_list(value: Any) -> list:
    while is_secret(value):
        value = value["value"]
    return value or []


class RecordingMocks(_Recording):
    """Fixed fake outputs: numbered passwords (``generated``: resource name -> password), a fake SSH
    key, an image's local tag as its digest."""

    def __init__(self) -> None:
        super().__init__()
        self.generated: dict[str, str] = {}

    def respond(self, rec: Registered):
        outputs = dict(rec.inputs)
        if rec.type == "random:index/randomPassword:RandomPassword":
            outputs["result"] = self.generated.setdefault(rec.name, f"pw{len(self.generated):02d}" + "x" * 28)
            outputs["bcryptHash"] = fake_bcrypt(outputs["result"])
        elif rec.type == "tls:index/privateKey:PrivateKey":
            outputs.update(
                publicKeyOpenssh=FAKE_PUBLIC_KEY, privateKeyOpenssh="-----BEGIN OPENSSH PRIVATE KEY-----\nmock\n"
            )
        elif rec.type == "docker:index/image:Image":
            outputs["repoDigest"] = outputs["imageName"]
        return f"{rec.name}-id", outputs


def fake_bcrypt(password: str) -> str:
    """bcrypt-shaped (``$2b$``, 60 characters), derived from the password without containing it."""
    return "$2b$12$" + hashlib.sha256(password.encode()).hexdigest()[:53]


def configure(stack: str, values: dict[str, Any], secret_keys: list[str] = ()) -> None:
    """Stack config as Pulumi hands it to the program: structured values as JSON."""
    pulumi.runtime.set_all_config(
        {full_key(PROJECT, k): to_config_string(v) for k, v in values.items()},
        [full_key(PROJECT, k) for k in secret_keys],
    )


def run_program(stack: str = "dev", values: dict[str, Any] | None = None, secret_keys: list[str] = ()):
    """Declare the whole stack under mocks. Returns (mocks, Output that resolves once every
    container — and so everything it depends on — is registered)."""
    from components.stack import build_stack, load_topology
    from components.stack_files import load_stack_file

    configure(stack, load_stack_file(stack) if values is None else values, secret_keys)
    mocks = RecordingMocks()
    install(mocks, PROJECT, stack)
    result = build_stack(load_topology())
    done = pulumi.Output.all(*[c.id for c in result.containers])
    return mocks, result, done
