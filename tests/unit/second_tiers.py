"""A test catalog: the dev catalog plus a second Valkey tier and a second Patroni tier, declared in
the catalog alone. Every layer must cover them with no code change (tests/unit/test_catalog_only_tiers.py
and the suites that import this)."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from unittest import mock

from components import model

VALKEY_TIER = "cache"
PATRONI_TIER = "ledger"
DIVISION = "tool-ecosystem"  # the division that uses both new tiers


def second_tiers_catalog() -> dict[str, Any]:
    catalog = copy.deepcopy(model.load_catalog())
    catalog["tiers"][VALKEY_TIER] = {
        "number": 8,
        "purpose": "second hot KV",
        "engine": "valkey",
        "members": 3,
        "memoryMb": 128,
        "publish": {"valkey": 16479, "sentinel": 26479},
    }
    catalog["tiers"][PATRONI_TIER] = {
        "number": 9,
        "purpose": "second relational",
        "engine": "patroni",
        "members": 2,
        "memoryMb": 256,
        "extensions": ["age"],
        "dependsOn": ["coordination"],
        "publish": {"postgres": 15472, "patroni": 18048, "node": 19148, "logs": 13943},
        "router": {"memoryMb": 128, "publish": {"primary": 15478, "replicas": 15479, "stats": 18448}},
    }
    catalog["divisions"][DIVISION]["uses"] += [VALKEY_TIER, PATRONI_TIER]
    return catalog


def second_tiers_topology(stack: str = "dev") -> model.Topology:
    return model.build_topology(stack, {}, catalog=second_tiers_catalog())


@contextmanager
def catalog_replaced() -> Iterator[dict[str, Any]]:
    """While inside, every caller of components.model.load_catalog() reads the test catalog."""
    catalog = second_tiers_catalog()
    with mock.patch.object(model, "load_catalog", lambda *a, **k: copy.deepcopy(catalog)):
        yield catalog
