"""The cross-division channels of the catalog: which pairs of divisions talk, and over which tier.

Pure parsing and validation (no Pulumi): the model calls ``parse_channels`` and a division in a
channel uses the channel tier (it reaches that tier's client endpoints and gets an identity there).
The engine of that tier realizes each channel (components/engines/<engine>/: NATS exports and
imports between the two divisions' accounts).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

WHERE = "catalog:channels"


@dataclass(frozen=True)
class Channel:
    key: str  # "<a>--<b>", the two divisions in catalog order
    divisions: tuple[str, str]

    def other(self, division: str) -> str:
        a, b = self.divisions
        return b if division == a else a


@dataclass(frozen=True)
class Channels:
    tier: str | None  # the tier carrying them (None: no channels declared)
    pairs: tuple[Channel, ...] = ()

    def of(self, division: str) -> tuple[Channel, ...]:
        return tuple(c for c in self.pairs if division in c.divisions)


def parse_channels(
    raw: Any,
    divisions: Mapping[str, Any],
    tiers: Mapping[str, Any],
    carries_channels: Callable[[str], bool],
    problem: Callable[[str, str], None],
) -> Channels:
    """``raw``: the catalog's ``channels`` ({tier, pairs: [[a, b], ...]}) or None.

    ``carries_channels(tier)``: whether that tier's engine can realize channels. Every problem is
    reported through ``problem(key, text)``, naming the key: an unknown tier or division, a
    division paired with itself, a pair declared twice (in either order)."""
    if raw is None:
        return Channels(None)
    if not isinstance(raw, dict) or set(raw) - {"tier", "pairs"}:
        problem(WHERE, "must be a map with keys tier and pairs")
        return Channels(None)
    tier = raw.get("tier")
    if tier not in tiers:
        problem(f"{WHERE}.tier", f"tier {tier!r} is not declared")
        tier = None
    elif not carries_channels(tier):
        problem(f"{WHERE}.tier", f"tier {tier!r}'s engine cannot carry cross-division channels")
        tier = None
    pairs, seen = [], {}
    for i, pair in enumerate(raw.get("pairs") or []):
        key = f"{WHERE}.pairs[{i}]"
        if not (isinstance(pair, list) and len(pair) == 2 and all(isinstance(d, str) for d in pair)):
            problem(key, f"must be a list of two division names (got {pair!r})")
            continue
        unknown = [d for d in pair if d not in divisions]
        if unknown:
            problem(key, f"names unknown division {unknown[0]!r} (divisions: {', '.join(divisions)})")
            continue
        if pair[0] == pair[1]:
            problem(key, f"pairs division {pair[0]!r} with itself")
            continue
        both = frozenset(pair)
        if both in seen:
            problem(key, f"channel {pair[0]} <-> {pair[1]} is already declared at {WHERE}.pairs[{seen[both]}]")
            continue
        seen[both] = i
        pairs.append(Channel(f"{pair[0]}--{pair[1]}", (pair[0], pair[1])))
    return Channels(tier, tuple(pairs))
