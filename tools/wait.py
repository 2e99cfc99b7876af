"""The one bounded retry loop the drills, the tests and the tools share."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any


class NotReached(RuntimeError):
    """``wait_for`` ran out of time; the message names what was awaited and the last error."""


def wait_for(
    check: Callable[[], Any],
    timeout: float,
    interval: float = 1.0,
    what: str = "condition",
    error: type[Exception] = NotReached,
) -> Any:
    """Call ``check`` until it returns a truthy value without raising; raise ``error`` after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    last: BaseException | None = None
    while time.monotonic() < deadline:
        try:
            value = check()
            if value:
                return value
        except Exception as exc:
            last = exc
        time.sleep(interval)
    raise error(f"{what}: not reached within {timeout:.0f}s" + (f" (last error: {last!r})" if last else ""))
