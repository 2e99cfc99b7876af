"""One client per tier: idempotent schema, one write (acknowledged or raises), one read, and
a check of which acknowledged keys are present.

Each engine's client lives with the engine (components/engines/<engine>/workload.py: ``endpoint``
reads the tier's operator endpoint from the stack outputs, ``client`` makes its TierClient). Every
operation is bounded by ``op_timeout``; a failed connection is dropped and the next operation
reconnects through the operator endpoint.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol

from tools.novaload.endpoints import Endpoints, workload


class TierClient(Protocol):
    tier: str

    async def prepare(self) -> None: ...
    async def write(self, run: str, session: int, key: str) -> str: ...  # returns a ledger ref
    async def read(self, run: str, session: int) -> None: ...
    async def present(self, run: str, entries: list[dict]) -> set[str]: ...
    async def close(self) -> None: ...


def writable(endpoints: Endpoints) -> list[str]:
    """The tiers the load generator writes to by default: every tier whose engine has a workload client."""
    return list(endpoints.tiers)


def clients(
    endpoints: Endpoints, tiers: Iterable[str], pool_size: int, op_timeout: float, extensions: dict[str, list[str]]
) -> dict[str, TierClient]:
    """The client of each wanted tier (by catalog key); unknown tiers, or tiers without a workload, are named."""
    made: dict[str, TierClient] = {}
    for tier in tiers:
        if tier not in endpoints.tiers:
            why = (
                f"its engine {endpoints.engines[tier]} has no workload client"
                if tier in endpoints.engines
                else "not a tier of the stack"
            )
            raise ValueError(f"--tiers: {tier!r}: {why} (tiers it writes to: {', '.join(writable(endpoints))})")
        module = workload(endpoints.engines[tier])
        made[tier] = module.client(
            endpoints.tiers[tier], pool_size=pool_size, op_timeout=op_timeout, extensions=list(extensions.get(tier, []))
        )
    return made
