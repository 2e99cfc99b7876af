"""The end-to-end stack: brought up from the Pulumi program once per test session.

Set-up first removes leftovers of an earlier run by label; teardown deletes the
stack with its data unless NOVAOPS_KEEP_E2E=1. NOVAOPS_E2E_REUSE=1 runs the tests against the
stack as it is already up, and leaves it.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import docker
import pytest

from tools.wait import wait_for

ROOT = Path(__file__).resolve().parents[2]
STACK = os.environ.get("NOVAOPS_E2E_STACK", "e2e")  # another Pulumi.<stack>.yaml, e.g. to run beside a live e2e


# The Ansible converge of the e2e stack and everything that needs it (operated checks, dashboards'
# live queries, the drills' CI subset) run by default; NOVAOPS_ANSIBLE_TESTS=0 leaves them out
# (a quick provisioning-only run).
ANSIBLE_TESTS = os.environ.get("NOVAOPS_ANSIBLE_TESTS", "1") != "0"
needs_converge = pytest.mark.skipif(
    not ANSIBLE_TESTS, reason="NOVAOPS_ANSIBLE_TESTS=0: the converged stack's suites are left out"
)


@dataclass
class Stack:
    name: str
    outputs: dict[str, Any]
    up_seconds: float

    def members(self, tier: str) -> dict[str, dict]:
        return self.outputs["tiers"][tier]["members"]

    def port(self, tier: str, member: str, port: str) -> int:
        return int(self.members(tier)[member][port].rsplit(":", 1)[1])

    def secret(self, tier: str, name: str) -> str:
        return self.outputs["tierSecrets"][tier][name]

    @property
    def monitoring_login(self) -> tuple[str, str] | None:
        """The operator's (user, password) for Prometheus' and Alertmanager's basic auth."""
        from tools.novaload.endpoints import monitoring_login

        return monitoring_login(self.outputs)


def remove_leftovers(client: docker.DockerClient, stack: str) -> None:
    label = f"novaops.stack={stack}"
    for c in client.containers.list(all=True, filters={"label": label}):
        c.remove(force=True, v=False)
    for n in client.networks.list(filters={"label": label}):
        n.remove()
    for v in client.volumes.list(filters={"label": label}):
        v.remove(force=True)


@pytest.fixture(scope="session")
def stack() -> Stack:
    from tools.realizer import realize, teardown
    from tools.stackctl import realizer_overrides, write_ansible_files

    if os.environ.get("NOVAOPS_E2E_REUSE") == "1":
        # A stack already brought up with `python -m tools.stackctl up --stack <stack>`: used as it
        # is and left up (for iterating on tests; the full run starts from nothing).
        from tools.realizer import load_outputs

        yield Stack(STACK, load_outputs(str(ROOT), STACK, show_secrets=True), 0.0)
        return
    client = docker.from_env()
    # Leftovers by label first: a container an interrupted drill left on a stack network (a
    # restore container) would make the teardown fail to remove that network.
    remove_leftovers(client, STACK)
    teardown(str(ROOT), STACK, delete_data=True, out=lambda line: None)
    started = time.monotonic()
    result = realize(str(ROOT), STACK, realizer_overrides(STACK))
    up = Stack(STACK, result.outputs, time.monotonic() - started)
    write_ansible_files(STACK, result.outputs)
    print(f"\ne2e stack up in {up.up_seconds:.1f}s")
    yield up
    if os.environ.get("NOVAOPS_KEEP_E2E") != "1":
        teardown(str(ROOT), STACK, delete_data=True)


def eventually(check: Callable[[], Any], timeout: float = 90, interval: float = 1.0, what: str = "condition"):
    """Retry ``check`` until it returns a truthy value without raising; bounded by ``timeout``.
    tools.wait.wait_for, failing the test (AssertionError) when not reached."""
    return wait_for(check, timeout, interval, what, error=AssertionError)


def tenant(container: str):
    """A division host as the Novas use it: its user (novaops, whose connection files these are),
    commands run inside the host (docker exec: its network, its files; faster than SSH)."""
    import testinfra

    return testinfra.get_host(f"docker://novaops@{container}")


def stack_topology(stack: str = STACK):
    """The stack's validated Topology, from the catalog and its stack config (never restated by hand)."""
    from components.model import build_topology
    from components.stack_files import load_stack_file

    return build_topology(stack, load_stack_file(stack))


@pytest.fixture(scope="session")
def topology(stack):
    return stack_topology(stack.name)


def patroni_tiers(stack: str = STACK) -> list[str]:
    """Patroni tiers of the stack (parametrize needs them before any fixture)."""
    return [k for k, t in stack_topology(stack).tiers.items() if t.engine.name == "patroni"]


@pytest.fixture(scope="session")
def converged(stack):
    """site.yml applied twice to the e2e stack (the operated stack every later e2e module uses)."""
    from tools.ansible_run import run_playbook

    first = run_playbook(stack.name)
    assert first.ok, f"first converge failed:\n{first.stdout[-8000:]}\n{first.stderr[-2000:]}"
    second = run_playbook(stack.name)
    assert second.ok, f"second converge failed:\n{second.stdout[-8000:]}\n{second.stderr[-2000:]}"
    print(
        f"\nansible: first converge {first.seconds:.1f}s, changed={first.changed}; "
        f"re-run {second.seconds:.1f}s, changed={second.changed}"
    )
    return {"first": first.recap, "second": second.recap, "second_output": second.stdout}
