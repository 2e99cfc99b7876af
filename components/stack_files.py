"""Read Pulumi.<stack>.yaml as plain values, for tools that run without the Pulumi engine."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from components.model import PROJECT

ROOT = Path(__file__).resolve().parents[1]


def load_stack_file(stack: str) -> dict[str, Any]:
    path = ROOT / f"Pulumi.{stack}.yaml"
    data = yaml.safe_load(path.read_text()) or {}
    config = data.get("config") or {}
    secure = [k for k, v in config.items() if isinstance(v, dict) and "secure" in v]
    if secure:
        raise ValueError(f"{path.name}: {', '.join(secure)} are encrypted; read them through Pulumi")
    return {k.split(":", 1)[1]: v for k, v in config.items() if k.startswith(f"{PROJECT}:")}
