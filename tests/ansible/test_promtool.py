"""promtool check rules + promtool test rules on the prometheus_alerts role's files, in a
throwaway novaops/prometheus:molecule container (files mounted read-only, removed after)."""

from __future__ import annotations

import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
FILES = ROOT / "ansible" / "roles" / "prometheus_alerts" / "files"
IMAGE = "novaops/prometheus:molecule"
DOCKER = shutil.which("docker") or "/usr/bin/docker"

pytestmark = pytest.mark.docker


@pytest.fixture(scope="module", autouse=True)
def prometheus_image():
    subprocess.run(
        [sys.executable, "-m", "tools.build_images", "prometheus"],
        cwd=ROOT,
        check=True,
        capture_output=True,
        timeout=900,
    )


def promtool(*args: str, workdir: str = "/alerting") -> subprocess.CompletedProcess:
    name = f"novaops-promtool-{uuid.uuid4().hex[:10]}"
    try:
        return subprocess.run(
            [
                DOCKER,
                "run",
                "--rm",
                "--name",
                name,
                "--network",
                "none",
                "-v",
                f"{FILES}:/alerting:ro",
                "-w",
                workdir,
                "--entrypoint",
                "promtool",
                IMAGE,
                *args,
            ],
            capture_output=True,
            text=True,
            timeout=300,
        )
    finally:
        subprocess.run([DOCKER, "rm", "-f", name], capture_output=True, timeout=60)


def test_promtool_check_rules():
    rules = sorted(p.name for p in (FILES / "rules").glob("*.yml"))
    run = promtool("check", "rules", "--lint=all", "--lint-fatal", *(f"rules/{r}" for r in rules))
    assert run.returncode == 0, run.stdout + run.stderr


def test_promtool_test_rules():
    tests = sorted(p.name for p in (FILES / "tests").glob("*.yml"))
    run = promtool("test", "rules", *tests, workdir="/alerting/tests")
    assert run.returncode == 0, run.stdout + run.stderr
