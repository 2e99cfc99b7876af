"""novaload writes nothing to etcd: it is Patroni's DCS, not a store Nova agents use, so the load
generator has no client for it (its tiers are skipped; drills reach etcd through Patroni)."""

from __future__ import annotations

from typing import Any

# runbooks/README.md's dependency map (tools/runbooks.py): how its clients (Patroni) reach a tier.
REACHED_THROUGH = "any member (client URLs)"


def endpoint(tier: Any) -> None:
    del tier
    return None


def client(endpoint: Any, *, pool_size: int, op_timeout: float, extensions: list[str]) -> None:
    """No workload client: the generic code skips tiers whose endpoint is None and never calls this."""
    del endpoint, pool_size, op_timeout, extensions
    return None
