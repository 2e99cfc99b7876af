"""ansible-lint (production profile, ansible/.ansible-lint) and yamllint report nothing for ansible/."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ANSIBLE = Path(__file__).resolve().parents[2] / "ansible"
BIN = Path(sys.executable).parent


@pytest.mark.parametrize(
    "command",
    [
        [str(BIN / "ansible-lint"), "--nocolor"],
        [str(BIN / "yamllint"), "-c", ".yamllint", "-f", "parsable", "."],
    ],
    ids=["ansible-lint", "yamllint"],
)
def test_ansible_tree_is_clean(command):
    env = dict(os.environ, PATH=f"{BIN}:{os.environ['PATH']}", NO_COLOR="1")
    run = subprocess.run(command, cwd=ANSIBLE, env=env, capture_output=True, text=True, timeout=900)
    assert run.returncode == 0, f"{command[0]}:\n{run.stdout[-5000:]}\n{run.stderr[-3000:]}"
