"""Project (Pulumi.yaml) and stack (Pulumi.<stack>.yaml) configuration, the way Pulumi passes it to a program."""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import yaml

from .errors import RealizerError


@dataclass
class Project:
    dir: str
    name: str
    main: str  # absolute path of the program file


@dataclass
class StackConfig:
    values: dict[str, str] = field(default_factory=dict)  # "<ns>:<key>" -> string, as set_all_config wants
    secret_keys: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def load_project(project_dir: str) -> Project:
    project_dir = os.path.abspath(project_dir)
    path = None
    for name in ("Pulumi.yaml", "Pulumi.yml"):
        if os.path.isfile(os.path.join(project_dir, name)):
            path = os.path.join(project_dir, name)
            break
    if path is None:
        raise RealizerError(f"no Pulumi.yaml in {project_dir}")
    with open(path, encoding="utf-8") as fh:
        doc = yaml.safe_load(fh) or {}
    name = doc.get("name")
    if not name:
        raise RealizerError(f"{path}: no project 'name'")
    runtime = doc.get("runtime")
    runtime_name = runtime.get("name") if isinstance(runtime, dict) else runtime
    if runtime_name not in (None, "python"):
        raise RealizerError(f"{path}: runtime {runtime_name!r} is not supported (only python)")
    main = doc.get("main") or "."
    main = os.path.normpath(os.path.join(project_dir, main))
    if os.path.isdir(main):
        main = os.path.join(main, "__main__.py")
    if not os.path.isfile(main):
        raise RealizerError(f"program {main} (from Pulumi.yaml 'main') does not exist")
    return Project(dir=project_dir, name=str(name), main=main)


def full_key(project: str, key: str) -> str:
    return key if ":" in key else f"{project}:{key}"


def _find_secure(value: Any, path: str) -> str | None:
    if isinstance(value, dict):
        if set(value) == {"secure"}:
            return path
        for k, v in value.items():
            hit = _find_secure(v, f"{path}.{k}")
            if hit:
                return hit
    if isinstance(value, list):
        for i, v in enumerate(value):
            hit = _find_secure(v, f"{path}[{i}]")
            if hit:
                return hit
    return None


def to_config_string(value: Any) -> str:
    """Render a YAML config value as the string Pulumi hands the program.

    Structured values (maps, lists) become JSON, booleans 'true'/'false'.
    """
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return ""
    if isinstance(value, (int, float)):
        return str(value)
    return json.dumps(value, separators=(",", ":"))


def parse_override(item: str) -> tuple[str, Any]:
    """Parse a ``--config KEY=VALUE`` item; VALUE is read as a YAML scalar or JSON."""
    if "=" not in item:
        raise RealizerError(f"--config {item!r}: expected KEY=VALUE")
    key, raw = item.split("=", 1)
    key = key.strip()
    if not key:
        raise RealizerError(f"--config {item!r}: empty key")
    try:
        value = yaml.safe_load(raw) if raw.strip() else ""
    except yaml.YAMLError:
        value = raw
    if value is None:
        value = raw
    return key, value


def load_stack_config(
    project: Project,
    stack: str,
    overrides: Mapping[str, Any] | Iterable[str] | None = None,
) -> StackConfig:
    """Read project defaults + Pulumi.<stack>.yaml + overrides into set_all_config form."""
    cfg = StackConfig()
    raw: dict[str, Any] = {}
    secure_keys: set[str] = set()

    # Project-level defaults: Pulumi.yaml `config: {key: {default: ...}}` or `key: value`.
    with open(os.path.join(project.dir, "Pulumi.yaml"), encoding="utf-8") as fh:
        pdoc = yaml.safe_load(fh) or {}
    for key, spec in (pdoc.get("config") or {}).items():
        full = full_key(project.name, str(key))
        if isinstance(spec, dict):
            if "value" in spec:
                raw[full] = spec["value"]
            elif "default" in spec:
                raw[full] = spec["default"]
            if spec.get("secret"):
                secure_keys.add(full)
        else:
            raw[full] = spec

    stack_file = os.path.join(project.dir, f"Pulumi.{stack}.yaml")
    if os.path.isfile(stack_file):
        with open(stack_file, encoding="utf-8") as fh:
            sdoc = yaml.safe_load(fh) or {}
        if sdoc.get("environment"):
            raise RealizerError(f"{stack_file}: 'environment' (Pulumi ESC) is not supported by the realizer")
        for key, value in (sdoc.get("config") or {}).items():
            raw[full_key(project.name, str(key))] = value
    else:
        cfg.notes.append(f"no {os.path.basename(stack_file)}: using project defaults and --config only")

    if overrides:
        items = overrides.items() if isinstance(overrides, Mapping) else (parse_override(i) for i in overrides)
        for key, value in items:
            full = full_key(project.name, str(key))
            if _find_secure(raw.get(full), full):
                secure_keys.add(full)  # the stack file declared it secret: keep it secret
            raw[full] = value

    for full, value in raw.items():
        where = _find_secure(value, full)
        if where:
            raise RealizerError(
                f"config {where} is a secure (encrypted) value, which the realizer cannot decrypt; "
                f"pass it with --config {full}=VALUE (or keep a plain value in a test stack file)"
            )
        cfg.values[full] = to_config_string(value)
    cfg.secret_keys = sorted(k for k in secure_keys if k in cfg.values)
    return cfg
