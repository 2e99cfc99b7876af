"""One package per engine or container kind: everything that knows it lives in it.

    components/engines/<package>/
        __init__.py   KINDS: the container kinds the package defines (components.kinds.Kind)
        <part>.py     one module per part of the interface (INTERFACE below)

Generic code (model, Pulumi components, realizer, status, drills, dashboards, runbooks,
prober) reaches an engine only through ``part(kind_name, part_name)`` and the names
INTERFACE declares for that part; it never tests an engine's name. A unit test proves that
every package provides every part its role requires (tests/unit/test_engine_interface.py),
and another that generic modules hold no engine-name literal.
"""

from __future__ import annotations

import importlib
import pkgutil
from functools import cache
from types import ModuleType

from components.kinds import Kind

# role (Kind.role) -> part -> the names that part's module must define.
INTERFACE: dict[str, dict[str, tuple[str, ...]]] = {
    "database": {
        "files": ("member_files",),  # config files + command of one member
        "dashboards": ("rows", "leader_expr", "LEADERS", "BACKUPS"),  # components/dashboards/panels.py
        "status": ("read",),  # status rows from the engine's own API
        "workload": ("endpoint", "client", "REACHED_THROUGH"),  # novaload's endpoint + client; runbooks' map
        "drills": ("drills", "archiving"),  # its tiers' drills; the tiers archiving to the backup host
        "failures": ("FAILURE_MODES",),  # runbooks' failure-mode table rows
        # novaops-prober's probe of its Probe.protocol, plus NEEDS (may be empty); see engines/probing.py
        "probe": ("PROTOCOL", "probe"),
    },
    "router": {"files": ("router_files",), "status": ("read_router",)},
    "division": {"files": ("host_files",)},
    "backup": {"files": ("host_files",)},
    "monitoring": {"files": ("service_files",)},
    "exporter": {"files": ("service_files",)},
}
# What a kind with a DCS (Kind.dcs_engine) adds to a part: the DCS tier's drills find its keys by it.
DCS_CLIENT: dict[str, tuple[str, ...]] = {
    # (topology, tier) -> the scope its keys live under in the DCS; its own DCS user, that user's
    # key prefix (its whole grant) and the tier secret with the user's password (DCS_SECRET)
    "files": ("dcs_scope", "dcs_user", "dcs_prefix", "DCS_SECRET"),
}
# What an engine whose tiers name each division's login adds (a DCS engine, some kind's
# Kind.dcs_engine, creates its users; a Kind.division_secrets engine renders them into its server
# config): (topology, tier, division) -> {user, ...} of a division using the tier, listed in the
# inventory (novaops_tier_division_logins) for the roles that create users and write connection files.
DIVISION_LOGINS: dict[str, tuple[str, ...]] = {"files": ("division_login",)}


def names_division_logins(kind: Kind) -> bool:
    return kind.division_secrets or any(k.dcs_engine == kind.name for k in kinds().values())


@cache
def packages() -> dict[str, ModuleType]:
    """package name -> the imported package, for every folder under components/engines/."""
    found = {}
    for info in pkgutil.iter_modules(__path__):
        if info.ispkg:
            found[info.name] = importlib.import_module(f"{__name__}.{info.name}")
    return found


@cache
def kinds() -> dict[str, Kind]:
    """Every container kind, by name, from every package's KINDS."""
    out: dict[str, Kind] = {}
    for pkg in packages().values():
        for kind in pkg.KINDS:
            if kind.name in out:
                raise ValueError(f"kind {kind.name!r} is defined twice (second in {pkg.__name__})")
            out[kind.name] = kind
    return out


@cache
def home(kind_name: str) -> str:
    """The package that defines ``kind_name``."""
    for name, pkg in packages().items():
        if any(k.name == kind_name for k in pkg.KINDS):
            return name
    raise KeyError(f"no package under components/engines defines kind {kind_name!r} (kinds: {', '.join(kinds())})")


def kinds_of_role(role: str) -> dict[str, Kind]:
    return {k.name: k for k in kinds().values() if k.role == role}


def part(kind_name: str, part_name: str) -> ModuleType:
    """The module of ``kind_name``'s package that implements ``part_name`` of its role's interface.

    Kinds a package defines beside its main one (an exporter, a router) share that package's modules.
    """
    kind = kinds()[kind_name] if kind_name in kinds() else None
    if kind is None:
        raise KeyError(f"unknown kind {kind_name!r} (kinds: {', '.join(kinds())})")
    if part_name not in INTERFACE.get(kind.role, {}):
        raise KeyError(f"kind {kind_name!r} (role {kind.role}) has no part {part_name!r} in the engine interface")
    return importlib.import_module(f"{__name__}.{home(kind_name)}.{part_name}")
