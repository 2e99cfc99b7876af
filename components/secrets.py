"""Secrets the stack generates (pulumi-random) or takes from secret stack config."""

from __future__ import annotations

import pulumi
import pulumi_random as random

from components.model import SecretSource

PASSWORD_LENGTH = 32


def stack_secret(resource_name: str, source: SecretSource, parent: pulumi.Resource) -> pulumi.Output[str]:
    """A secret Output: generated once and kept in the stack's state, or read from config."""
    if source.config_key:
        namespace, key = source.config_key.split(":", 1)
        return pulumi.Config(namespace).require_secret(key)
    # Alphanumeric: safe in every config format and URL without escaping.
    password = random.RandomPassword(
        resource_name, length=PASSWORD_LENGTH, special=False, opts=pulumi.ResourceOptions(parent=parent)
    )
    return pulumi.Output.secret(password.result)


def placeholders(names) -> dict[str, str]:
    """Stand-in secrets to learn a rendering's shape (paths, command) before real ones resolve."""
    return {n: f"<{n}>" for n in names}


def web_login(resource_name: str, parent: pulumi.Resource) -> tuple[pulumi.Output[str], pulumi.Output[str]]:
    """(password, its bcrypt hash) of a basic-auth web user, both secret Outputs.

    The hash is random's own ``bcrypt_hash`` (computed once, kept in state), so web configs
    change only when the password does.
    """
    password = random.RandomPassword(
        resource_name, length=PASSWORD_LENGTH, special=False, opts=pulumi.ResourceOptions(parent=parent)
    )
    return pulumi.Output.secret(password.result), pulumi.Output.secret(password.bcrypt_hash.apply(_bcrypt))


def _bcrypt(value: str | None) -> str:
    # A web config with an empty or plain entry would lock every client out (or worse): refuse it here.
    if not value or not value.startswith("$2"):
        raise ValueError("RandomPassword gave no bcrypt hash (the realizer needs the bcrypt package)")
    return value
