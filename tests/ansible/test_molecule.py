"""Every role's molecule scenario: create, converge, idempotence, verify (testinfra), destroy."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
ROLES = sorted(p.parents[2].name for p in (ROOT / "ansible" / "roles").glob("*/molecule/default/molecule.yml"))

pytestmark = [
    pytest.mark.docker,
    pytest.mark.skipif(
        os.environ.get("NOVAOPS_ANSIBLE_TESTS", "1") == "0",
        reason="NOVAOPS_ANSIBLE_TESTS=0: the molecule scenarios are left out",
    ),
]


def molecule(role: str, *args: str) -> subprocess.CompletedProcess:
    env = dict(
        os.environ, ANSIBLE_FORCE_COLOR="0", PY_COLORS="0", PATH=f"{Path(sys.executable).parent}:{os.environ['PATH']}"
    )
    return subprocess.run(
        [sys.executable, "-m", "molecule", *args],
        cwd=ROOT / "ansible" / "roles" / role,
        env=env,
        capture_output=True,
        text=True,
        timeout=1200,
    )


@pytest.fixture(scope="session", autouse=True)
def molecule_images():
    subprocess.run([sys.executable, "-m", "tools.build_images"], cwd=ROOT, check=True, capture_output=True)


@pytest.mark.parametrize("role", ROLES)
def test_role_scenario(role):
    molecule(role, "destroy")  # leftovers of an interrupted run
    run = molecule(role, "test")
    assert run.returncode == 0, f"molecule test {role} failed:\n{run.stdout[-6000:]}\n{run.stderr[-3000:]}"
