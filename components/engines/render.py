"""Quoting and dumping helpers the engines' config renderers share."""

from __future__ import annotations

import json

import yaml


def yaml_text(data: object) -> str:
    return yaml.safe_dump(data, sort_keys=False, default_flow_style=False, allow_unicode=True)


def dq(value: str) -> str:
    """Double-quoted string for valkey/sentinel configs (sdssplitargs escapes)."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\r", "\\r") + '"'


def json_str(value: str) -> str:
    """Double-quoted string for the NATS config format (JSON escapes are accepted)."""
    return json.dumps(value, ensure_ascii=False)


def sql_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def sql_literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"
