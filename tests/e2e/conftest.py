"""The end-to-end stack: brought up from the Pulumi program once per test session.

Set-up first removes leftovers of an earlier run by label; teardown deletes the
stack with its data unless NOVAOPS_KEEP_E2E=1.
"""
from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import docker
import pytest

ROOT = Path(__file__).resolve().parents[2]
STACK = os.environ.get("NOVAOPS_E2E_STACK", "e2e")   # another Pulumi.<stack>.yaml, e.g. to run beside a live e2e


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

    client = docker.from_env()
    teardown(str(ROOT), STACK, delete_data=True, out=lambda line: None)
    remove_leftovers(client, STACK)
    started = time.monotonic()
    result = realize(str(ROOT), STACK, realizer_overrides(STACK))
    up = Stack(STACK, result.outputs, time.monotonic() - started)
    write_ansible_files(STACK, result.outputs)
    print(f"\ne2e stack up in {up.up_seconds:.1f}s")
    yield up
    if os.environ.get("NOVAOPS_KEEP_E2E") != "1":
        teardown(str(ROOT), STACK, delete_data=True)


def eventually(check: Callable[[], Any], timeout: float = 90, interval: float = 1.0, what: str = "condition"):
    """Retry ``check`` until it returns a truthy value without raising; bounded by ``timeout``."""
    deadline = time.monotonic() + timeout
    last: BaseException | None = None
    while time.monotonic() < deadline:
        try:
            value = check()
            if value:
                return value
        except Exception as exc:  # noqa: BLE001 - the last one is reported
            last = exc
        time.sleep(interval)
    raise AssertionError(f"{what} not reached within {timeout}s" + (f": {last!r}" if last else ""))


def patroni_tiers(stack: str = STACK) -> list[str]:
    """Patroni tiers of the stack, from the catalog and its stack config (never restated by hand)."""
    from components.model import build_topology
    from components.stack_files import load_stack_file
    return [k for k, t in build_topology(stack, load_stack_file(stack)).tiers.items() if t.engine.name == "patroni"]


# ---------------------------------------------------------------- Ansible converge (session-wide)

RECAP = re.compile(r"^(?P<host>\S+)\s*:\s*ok=(?P<ok>\d+)\s+changed=(?P<changed>\d+)\s+unreachable=(?P<unreachable>\d+)\s+"
                   r"failed=(?P<failed>\d+)", re.M)


def inventory_for(stack: str) -> Path:
    """The committed inventory; generated for ad-hoc stacks (NOVAOPS_E2E_STACK) at the same place."""
    from components.inventory import inventory_path, inventory_text
    path = inventory_path(stack)
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(inventory_text(stack))
    return path


def run_playbook(stack: str, playbook: str = "site.yml") -> tuple[subprocess.CompletedProcess, dict, float]:
    # Only changed/failed tasks are printed, so a non-idempotent task is named in the failure message.
    env = dict(os.environ, ANSIBLE_FORCE_COLOR="0", ANSIBLE_NOCOLOR="1", ANSIBLE_DISPLAY_OK_HOSTS="false",
               ANSIBLE_DISPLAY_SKIPPED_HOSTS="false", PATH=f"{Path(sys.executable).parent}:{os.environ['PATH']}")
    started = time.monotonic()
    run = subprocess.run([str(Path(sys.executable).parent / "ansible-playbook"), "-i", str(inventory_for(stack)), playbook],
                         cwd=ROOT / "ansible", env=env, capture_output=True, text=True, timeout=1800)
    recap = {m["host"]: {k: int(m[k]) for k in ("ok", "changed", "unreachable", "failed")} for m in RECAP.finditer(run.stdout)}
    return run, recap, time.monotonic() - started


@pytest.fixture(scope="session")
def converged(stack):
    """site.yml converged twice, once per session: the operated suite and the drills share it."""
    first, first_recap, first_s = run_playbook(stack.name)
    assert first.returncode == 0, f"first converge failed:\n{first.stdout[-8000:]}\n{first.stderr[-2000:]}"
    second, second_recap, second_s = run_playbook(stack.name)
    assert second.returncode == 0, f"second converge failed:\n{second.stdout[-8000:]}"
    print(f"\nansible: first converge {first_s:.1f}s, changed={sum(h['changed'] for h in first_recap.values())}; "
          f"re-run {second_s:.1f}s, changed={sum(h['changed'] for h in second_recap.values())}")
    return {"first": first_recap, "second": second_recap, "second_output": second.stdout}
