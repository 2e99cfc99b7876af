"""The engine interface (components/engines): every package provides every part its kinds' roles
require, and generic code reaches engines only through it, never by name."""

from __future__ import annotations

import ast
import inspect
import re
from pathlib import Path

import pytest

from components import engines

ROOT = Path(__file__).resolve().parents[2]
ENGINES_DIR = ROOT / "components" / "engines"
# Generic code: everything under components/ and tools/ that is not an engine package, and the
# prober (images/exporters/novaops-prober, a Python script that probes whatever its config lists).
GENERIC = sorted(
    p
    for p in [*ROOT.joinpath("components").rglob("*.py"), *ROOT.joinpath("tools").rglob("*.py")]
    if not (p.is_relative_to(ENGINES_DIR) and p.parent != ENGINES_DIR)
) + [ROOT / "images" / "exporters" / "novaops-prober"]
PROBER_DIR = ROOT / "images" / "exporters"


def _kind_part_pairs() -> list[tuple[str, str]]:
    return [(kind.name, part) for kind in engines.kinds().values() for part in engines.INTERFACE[kind.role]]


def test_every_kind_has_a_home_and_a_role_the_interface_knows():
    kinds = engines.kinds()
    assert {"database", "router", "exporter", "monitoring", "division", "backup"} <= {k.role for k in kinds.values()}
    for kind in kinds.values():
        assert kind.role in engines.INTERFACE, f"{kind.name}: role {kind.role!r} is not in the engine interface"
        assert engines.home(kind.name) in engines.packages()


@pytest.mark.parametrize(("kind", "part"), _kind_part_pairs(), ids=lambda v: v)
def test_every_kind_implements_every_part_of_its_role(kind, part):
    module = engines.part(kind, part)
    for name in engines.INTERFACE[engines.kinds()[kind].role][part]:
        assert hasattr(module, name), f"{module.__name__} lacks {name} ({kind}'s {part} part)"
        value = getattr(module, name)
        if name.isupper():
            assert value, f"{module.__name__}.{name} is empty"
        else:
            assert callable(value), f"{module.__name__}.{name} is not callable"
            assert inspect.signature(value).parameters, f"{module.__name__}.{name} takes nothing"


@pytest.mark.parametrize("kind", sorted(k.name for k in engines.kinds().values() if k.dcs_engine), ids=lambda v: v)
def test_every_dcs_client_names_its_keys_prefix(kind):
    for part, names in engines.DCS_CLIENT.items():
        module = engines.part(kind, part)
        for name in names:
            value = getattr(module, name, None)
            present = bool(value) if name.isupper() else callable(value)
            assert present, f"{module.__name__} lacks {name} ({kind} keeps keys in a DCS)"


def test_the_engines_that_name_division_logins_are_etcd_and_nats():
    named = {k.name for k in engines.kinds().values() if engines.names_division_logins(k)}
    assert named == {"etcd", "nats"}


@pytest.mark.parametrize("kind", sorted(k.name for k in engines.kinds().values() if engines.names_division_logins(k)))
def test_every_engine_naming_division_logins_gives_each_division_its_own(kind):
    for part, names in engines.DIVISION_LOGINS.items():
        module = engines.part(kind, part)
        for name in names:
            assert callable(getattr(module, name, None)), f"{module.__name__} lacks {name}"


def test_each_database_engine_has_one_package_of_its_own():
    homes = {kind.name: engines.home(kind.name) for kind in engines.kinds_of_role("database").values()}
    assert len(set(homes.values())) == len(homes), f"two engines share a package: {homes}"


def engine_words() -> set[str]:
    """Names generic code must not spell: the database engines, the kinds their packages define
    beside them (routers, exporters), their packages, their probe protocols."""
    words = set()
    for kind in engines.kinds_of_role("database").values():
        package = engines.home(kind.name)
        words |= {kind.name, package, *(k.name for k in engines.packages()[package].KINDS)}
        if kind.probe:
            words.add(kind.probe.protocol)
    return words


def _docstrings(tree: ast.AST) -> set[int]:
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                out.add(id(first.value))
    return out


def engine_literals(source: str, words: set[str]) -> list[tuple[int, str]]:
    """(line, literal) for every string literal outside docstrings that spells an engine's name."""
    tree = ast.parse(source)
    skip = _docstrings(tree)
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in skip:
            tokens = set(re.findall(r"[a-z][a-z0-9]*(?:[-_][a-z0-9]+)*", node.value))
            if tokens & words:
                found.append((node.lineno, node.value))
    return found


def test_the_literal_check_sees_an_engine_name():
    words = engine_words()
    assert {"patroni", "valkey", "nats", "etcd", "pg-router"} <= words
    assert engine_literals('if tier.engine.name == "patroni":\n    pass\n', words) == [(1, "patroni")]
    assert engine_literals('"""About valkey."""\nx = f"job={kind}"\n', words) == []


@pytest.mark.parametrize("path", GENERIC, ids=lambda p: str(p.relative_to(ROOT)))
def test_generic_code_names_no_engine(path):
    found = engine_literals(path.read_text(encoding="utf-8"), engine_words())
    assert not found, f"{path.relative_to(ROOT)} names engines: {found}"


@pytest.mark.parametrize("kind", sorted(k.name for k in engines.kinds_of_role("database").values() if k.probe))
def test_every_probed_kind_has_a_probe_module_beside_the_prober(kind):
    """The kind's probe part speaks its Probe.protocol, and the exporters image ships it under that name."""
    module = engines.part(kind, "probe")
    protocol = engines.kinds()[kind].probe.protocol
    assert module.PROTOCOL == protocol, f"{module.__name__}.PROTOCOL is {module.PROTOCOL!r}, the kind says {protocol!r}"
    assert isinstance(module.NEEDS, tuple) and all(isinstance(k, str) for k in module.NEEDS)
    shipped = PROBER_DIR / f"novaops_probe_{protocol}.py"
    assert shipped.is_symlink() and shipped.resolve() == Path(module.__file__).resolve(), (
        f"{shipped.relative_to(ROOT)} must be a symlink to {Path(module.__file__).relative_to(ROOT)}"
    )
