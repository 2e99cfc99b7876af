"""Checks that a dashboard JSON is valid for the Grafana version grafana-foundation-sdk is
built for, without a Grafana server (Grafana cannot run on the CI machines).

- The SDK's own decoder reads it back and its encoder writes the same JSON (plus schema
  defaults): a key the Grafana schema does not have (a typo, a field of another Grafana
  version) is dropped by the decoder and shows as a difference.
- Every decoded value matches the SDK model's type annotation (ints are ints, enums hold
  one of their values, nested objects are the right classes).
- schemaVersion is the SDK's; panel types are panel plugins the SDK knows; every query
  decodes as a Prometheus query of the provisioned datasource.
- Panel ids are unique (rows and panels inside collapsed rows included); panels fit the
  24-column grid without overlapping; every $variable a query uses is defined.
"""

from __future__ import annotations

import enum
import json
import re
import types
import typing
from importlib import metadata
from typing import Any

from grafana_foundation_sdk.cog import plugins as cogplugins
from grafana_foundation_sdk.cog import runtime as cogruntime
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.models import dashboard as dm

from components.dashboards.spec import DATASOURCE_TYPE, DATASOURCE_UID, GRID_COLUMNS

UID_RE = re.compile(r"^[A-Za-z0-9_-]{1,40}$")
VARIABLE_RE = re.compile(r"\$(?:\{(\w+)(?::\w+)?\}|(\w+))")
# Variables Grafana itself defines for every dashboard.
GRAFANA_VARIABLES = {
    "__rate_interval",
    "__interval",
    "__interval_ms",
    "__range",
    "__range_s",
    "__range_ms",
    "__dashboard",
    "__from",
    "__to",
}
NO_QUERY_PANELS = {"row", "text"}

cogplugins.register_default_plugins()


class DashboardInvalid(ValueError):
    def __init__(self, uid: str, problems: list[str]):
        self.uid, self.problems = uid, problems
        super().__init__(
            f"dashboard {uid!r} is not valid for Grafana {sdk_grafana_version()} "
            f"({len(problems)} problem(s)):\n" + "\n".join(f"  - {p}" for p in problems)
        )


def sdk_grafana_version() -> str:
    """The Grafana version the installed SDK build targets: its version is `<build>!<grafana version>`."""
    return metadata.version("grafana-foundation-sdk").split("!", 1)[-1]


def schema_version() -> int:
    return dm.Dashboard().schema_version


# --------------------------------------------------------------------------- types


def _is_model(value: Any) -> bool:
    return type(value).__module__.startswith("grafana_foundation_sdk.models.")


def _type_problems(value: Any, hint: Any, path: str) -> list[str]:
    """Problems of ``value`` against the SDK annotation ``hint``."""
    if isinstance(value, cogruntime.UnknownDataquery):
        return [f"{path}: a query of a datasource type the SDK does not know: {value.data!r}"]
    origin = typing.get_origin(hint)
    if hint is typing.Any or hint is object:
        return _model_problems(value, path) if _is_model(value) else []
    if origin in (typing.Union, types.UnionType):
        options = typing.get_args(hint)
        if value is None and type(None) in options:
            return []
        best: list[str] | None = None
        for option in options:
            if option is type(None):
                continue
            found = _type_problems(value, option, path)
            if not found:
                return []
            best = found if best is None or len(found) < len(best) else best
        return best or [f"{path}: {value!r} is none of {hint}"]
    if origin is typing.Literal:
        return [] if value in typing.get_args(hint) else [f"{path}: {value!r} not in {typing.get_args(hint)}"]
    if origin is list:
        if not isinstance(value, list):
            return [f"{path}: expected a list, got {type(value).__name__}"]
        (item,) = typing.get_args(hint) or (typing.Any,)
        return [p for i, v in enumerate(value) for p in _type_problems(v, item, f"{path}[{i}]")]
    if origin is dict:
        if not isinstance(value, dict):
            return [f"{path}: expected a map, got {type(value).__name__}"]
        key_t, value_t = typing.get_args(hint) or (typing.Any, typing.Any)
        return [
            p
            for k, v in value.items()
            for p in _type_problems(k, key_t, f"{path} key") + _type_problems(v, value_t, f"{path}.{k}")
        ]
    if isinstance(hint, type) and issubclass(hint, enum.Enum):
        try:
            hint(value)
        except ValueError:
            return [f"{path}: {value!r} is not a {hint.__name__} ({', '.join(str(m.value) for m in hint)})"]
        return []
    if hint is float:
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        return [] if ok else [f"{path}: expected a number, got {value!r}"]
    if hint is int:
        ok = isinstance(value, int) and not isinstance(value, bool)
        return [] if ok else [f"{path}: expected an integer, got {value!r}"]
    if hint is str:
        return [] if isinstance(value, str) else [f"{path}: expected a string, got {value!r}"]
    if hint is bool:
        return [] if isinstance(value, bool) else [f"{path}: expected true/false, got {value!r}"]
    if isinstance(hint, type):
        if not isinstance(value, hint):
            return [f"{path}: expected {hint.__name__}, got {type(value).__name__}"]
        return _model_problems(value, path) if _is_model(value) else []
    return []


def _model_problems(obj: Any, path: str) -> list[str]:
    problems = []
    for name, hint in typing.get_type_hints(type(obj)).items():
        problems += _type_problems(getattr(obj, name, None), hint, f"{path}.{name}")
    return problems


# --------------------------------------------------------------------------- structure


def _all_panels(dashboard: dict) -> list[dict]:
    out = []
    for panel in dashboard.get("panels") or []:
        out.append(panel)
        out += panel.get("panels") or []  # panels inside a collapsed row
    return out


def _json_diff(a: Any, b: Any, path: str = "$") -> list[str]:
    if isinstance(a, dict) and isinstance(b, dict):
        # Keys only in ``b`` are schema defaults the decoder fills in: not a problem.
        out = [f"{path}.{k}: not in the Grafana schema (the SDK dropped it)" for k in sorted(a.keys() - b.keys())]
        return out + [p for k in sorted(a.keys() & b.keys()) for p in _json_diff(a[k], b[k], f"{path}.{k}")]
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        return [p for i, (x, y) in enumerate(zip(a, b, strict=True)) for p in _json_diff(x, y, f"{path}[{i}]")]
    return [] if a == b else [f"{path}: {a!r} reads back as {b!r}"]


def problems(dashboard: dict, datasource_uid: str = DATASOURCE_UID) -> list[str]:
    found: list[str] = []
    uid = dashboard.get("uid", "")
    if not UID_RE.match(str(uid)):
        found.append(f"uid {uid!r}: Grafana wants 1-40 letters, digits, '-' or '_'")
    if dashboard.get("schemaVersion") != schema_version():
        found.append(
            f"schemaVersion {dashboard.get('schemaVersion')!r}: Grafana {sdk_grafana_version()} "
            f"dashboards are schemaVersion {schema_version()}"
        )

    decoded = dm.Dashboard.from_json(dashboard)
    found += _json_diff(dashboard, json.loads(json.dumps(decoded, cls=JSONEncoder)))
    found += _model_problems(decoded, "$")

    variables = {v.get("name") for v in (dashboard.get("templating") or {}).get("list") or []}
    ids: dict[int, str] = {}
    cells: dict[tuple[int, int], str] = {}
    for panel in _all_panels(dashboard):
        title = f"panel {panel.get('id')} {panel.get('title')!r}"
        pid = panel.get("id")
        if not isinstance(pid, int) or pid < 1:
            found.append(f"{title}: id must be a positive integer")
        elif pid in ids:
            found.append(f"{title}: id {pid} is also used by {ids[pid]}")
        else:
            ids[pid] = title
        ptype = panel.get("type")
        if ptype != "row" and cogruntime.panelcfg_config(ptype) is None:
            found.append(f"{title}: panel type {ptype!r} is not a Grafana {sdk_grafana_version()} panel plugin")
        grid = panel.get("gridPos") or {}
        x, y, w, h = (grid.get(k) for k in ("x", "y", "w", "h"))
        if not all(isinstance(v, int) for v in (x, y, w, h)) or w < 1 or h < 1 or x < 0 or x + w > GRID_COLUMNS:
            found.append(f"{title}: gridPos {grid} does not fit the {GRID_COLUMNS}-column grid")
        elif ptype != "row" or not panel.get("collapsed"):
            for cell in ((cx, cy) for cx in range(x, x + w) for cy in range(y, y + h)):
                if cell in cells:
                    found.append(f"{title}: overlaps {cells[cell]} at {cell}")
                    break
                cells[cell] = title
        if ptype in NO_QUERY_PANELS:
            continue
        found += _datasource_problems(panel.get("datasource"), title, datasource_uid)
        targets = panel.get("targets") or []
        if not targets:
            found.append(f"{title}: no query")
        refs = [t.get("refId") for t in targets]
        if len(set(refs)) != len(refs):
            found.append(f"{title}: duplicate refIds {refs}")
        for target in targets:
            where = f"{title} query {target.get('refId')}"
            found += _datasource_problems(target.get("datasource"), where, datasource_uid)
            if not str(target.get("expr") or "").strip():
                found.append(f"{where}: empty expr")
            for name in _variables_used(str(target.get("expr") or "")):
                if name not in variables and name not in GRAFANA_VARIABLES:
                    found.append(f"{where}: uses ${name}, which the dashboard does not define")
    return found


def _datasource_problems(ref: Any, where: str, datasource_uid: str) -> list[str]:
    if not isinstance(ref, dict) or ref.get("uid") != datasource_uid or ref.get("type") != DATASOURCE_TYPE:
        return [f"{where}: datasource {ref!r} is not the provisioned {DATASOURCE_TYPE} datasource {datasource_uid!r}"]
    return []


def _variables_used(expr: str) -> set[str]:
    return {a or b for a, b in VARIABLE_RE.findall(expr)}


def check(dashboard: dict, datasource_uid: str = DATASOURCE_UID) -> dict:
    """``dashboard`` unchanged, or DashboardInvalid listing every problem."""
    found = problems(dashboard, datasource_uid)
    if found:
        raise DashboardInvalid(str(dashboard.get("uid")), found)
    return dashboard


def check_set(dashboards: list[dict], datasource_uid: str = DATASOURCE_UID) -> list[dict]:
    """Each dashboard valid, and uids and titles unique across the set."""
    for d in dashboards:
        check(d, datasource_uid)
    for key in ("uid", "title"):
        seen: dict[str, int] = {}
        for d in dashboards:
            seen[d[key]] = seen.get(d[key], 0) + 1
        dupes = sorted(k for k, n in seen.items() if n > 1)
        if dupes:
            raise DashboardInvalid(dupes[0], [f"{key} {k!r} is used by {seen[k]} dashboards" for k in dupes])
    return dashboards
