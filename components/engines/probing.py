"""What novaops-prober and the engines' probes (components/engines/<engine>/probe.py) share.

Python 3 standard library only: in the exporters image this file sits beside the prober as
``novaops_probe.py`` (images/exporters/novaops_probe.py is a symlink to it), and so do the
engines' probe modules, as ``novaops_probe_<protocol>.py``. A probe module defines

    PROTOCOL                 the Probe.protocol its kind declares (components/kinds.py Probe)
    NEEDS                    the target keys a probe of that protocol needs (user, password, database)
    probe(target, timeout)   one request of the service's own protocol; raises ProbeFailed (or an
                             OSError) when the service gives no good answer, and never waits longer
                             than ``timeout`` for one step
    ready()                  optional: imports what the probe needs that the standard library has
                             not, so the first probe does not time the import
"""

from __future__ import annotations

from dataclasses import dataclass


class ProbeFailed(Exception):
    """The service answered, but not as a healthy one does (the message says what it answered)."""


@dataclass(frozen=True)
class Target:
    """One service to probe, as the prober's config lists it."""

    tier: str
    service: str
    kind: str
    protocol: str
    host: str
    port: int
    user: str | None = None
    password: str | None = None
    database: str | None = None

    @property
    def labels(self) -> dict[str, str]:
        return {"tier": self.tier, "service": self.service, "kind": self.kind}
