"""ruff (settings in pyproject.toml) reports nothing for the project's Python, and its formatter would
change nothing."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    "args",
    [("check", "--no-cache", "--output-format", "concise"), ("format", "--check", "--no-cache")],
    ids=["check", "format"],
)
def test_ruff_is_clean(args):
    ruff = Path(sys.executable).parent / "ruff"
    run = subprocess.run([str(ruff), *args, "."], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, f"ruff {' '.join(args)}:\n{run.stdout[-5000:]}\n{run.stderr[-2000:]}"
