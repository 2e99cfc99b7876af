"""Run an Ansible playbook against a stack's inventory and parse its PLAY RECAP.

Shared by the operated end-to-end tests and the converge benchmark, so both measure the same
command an operator runs (`cd ansible && ansible-playbook -i ../inventories/<stack>/hosts.yml site.yml`).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RECAP = re.compile(
    r"^(?P<host>\S+)\s*:\s*ok=(?P<ok>\d+)\s+changed=(?P<changed>\d+)\s+unreachable=(?P<unreachable>\d+)\s+"
    r"failed=(?P<failed>\d+)",
    re.M,
)


@dataclass
class PlaybookRun:
    returncode: int
    stdout: str
    stderr: str
    recap: dict[str, dict[str, int]]
    seconds: float

    @property
    def changed(self) -> int:
        return sum(h["changed"] for h in self.recap.values())

    @property
    def tasks_run(self) -> int:
        return sum(h["ok"] for h in self.recap.values())

    @property
    def ok(self) -> bool:
        return (
            self.returncode == 0
            and bool(self.recap)
            and not any(h["failed"] or h["unreachable"] for h in self.recap.values())
        )


def inventory_for(stack: str) -> Path:
    """The committed inventory; generated for ad-hoc stacks at the same place."""
    from components.inventory import inventory_path, inventory_text

    path = inventory_path(stack)
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(inventory_text(stack))
    return path


def run_playbook(stack: str, playbook: str = "site.yml", *extra: str, timeout: float = 1800) -> PlaybookRun:
    # Only changed/failed tasks are printed, so a non-idempotent task is named in the output.
    venv_bin = Path(sys.executable).parent
    env = dict(
        os.environ,
        ANSIBLE_FORCE_COLOR="0",
        ANSIBLE_NOCOLOR="1",
        ANSIBLE_DISPLAY_OK_HOSTS="false",
        ANSIBLE_DISPLAY_SKIPPED_HOSTS="false",
        PATH=f"{venv_bin}:{os.environ['PATH']}",
    )
    started = time.monotonic()
    run = subprocess.run(
        [str(venv_bin / "ansible-playbook"), "-i", str(inventory_for(stack)), playbook, *extra],
        cwd=ROOT / "ansible",
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    recap = {
        m["host"]: {k: int(m[k]) for k in ("ok", "changed", "unreachable", "failed")}
        for m in RECAP.finditer(run.stdout)
    }
    return PlaybookRun(run.returncode, run.stdout, run.stderr, recap, time.monotonic() - started)
