"""Helpers for the values Pulumi's mock monitor hands to ``Mocks.new_resource``.

Under mocks the SDK delivers resource inputs in their wire form: camelCase keys,
every number as a float, and secret values wrapped in a sentinel dict (the
wrapper may also enclose a whole list when one element of it was secret).
"""

from __future__ import annotations

import math
import re
from typing import Any

from .errors import RealizerError

# Signature keys used by the Pulumi wire protocol (pulumi/runtime/rpc.py).
SIG_KEY = "4dabf18193072939515e22adb298388d"
SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270"
UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"


def is_secret_wrapper(value: Any) -> bool:
    return isinstance(value, dict) and value.get(SIG_KEY) == SECRET_SIG


def wrap_secret(value: Any) -> dict:
    """Wrap ``value`` the way the engine marks a secret output."""
    return {SIG_KEY: SECRET_SIG, "value": value}


def unwrap(value: Any) -> tuple[Any, bool]:
    """Remove every secret wrapper, recursively.

    Returns ``(plain_value, contained_secret)``.
    """
    found = False

    def walk(v: Any) -> Any:
        nonlocal found
        if is_secret_wrapper(v):
            found = True
            return walk(v.get("value"))
        if isinstance(v, dict):
            if SIG_KEY in v:
                raise RealizerError(
                    f"unsupported special wire value (signature {v[SIG_KEY]!r}); "
                    "assets, archives and resource references are not supported by the realizer"
                )
            return {k: walk(x) for k, x in v.items()}
        if isinstance(v, (list, tuple)):
            return [walk(x) for x in v]
        if v == UNKNOWN:
            raise RealizerError("an input is still unknown after the program finished (computed value never resolved)")
        return v

    return walk(value), found


def ints(value: Any) -> Any:
    """Turn integral floats (the wire form of every number) back into ints, recursively."""
    if isinstance(value, bool):
        return value
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {k: ints(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [ints(v) for v in value]
    return value


def plain(value: Any) -> Any:
    """``unwrap`` + ``ints``: the form the appliers work with."""
    return ints(unwrap(value)[0])


_DURATION_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)")
_UNIT_NS = {
    "ns": 1,
    "us": 1_000,
    "µs": 1_000,
    "μs": 1_000,
    "ms": 1_000_000,
    "s": 1_000_000_000,
    "m": 60 * 1_000_000_000,
    "h": 3600 * 1_000_000_000,
}


def parse_duration(text: Any, what: str = "duration") -> int:
    """Parse a Go duration string ("10s", "500ms", "1m30s", "0") into nanoseconds."""
    if text is None or text == "":
        return 0
    if isinstance(text, (int, float)) and not isinstance(text, bool):
        raise RealizerError(f"{what}: expected a duration string like '10s', got the number {text!r}")
    if not isinstance(text, str):
        raise RealizerError(f"{what}: expected a duration string, got {text!r}")
    s = text.strip()
    sign = 1
    if s[:1] in "+-":
        sign = -1 if s[0] == "-" else 1
        s = s[1:]
    if s == "0":
        return 0
    pos = 0
    total = 0.0
    while pos < len(s):
        m = _DURATION_PART.match(s, pos)
        if not m:
            raise RealizerError(f"{what}: invalid duration {text!r} (use e.g. '10s', '500ms', '1m30s')")
        total += float(m.group(1)) * _UNIT_NS[m.group(2)]
        pos = m.end()
    if pos == 0:
        raise RealizerError(f"{what}: invalid duration {text!r}")
    return sign * int(round(total))
