"""The shape of a container kind: image, ports inside the container, data path, health
check, secrets it needs, how Prometheus scrapes it and how the prober checks it.

Pure data, no Pulumi. The kinds themselves live with their engine, in
components/engines/<package>/__init__.py (KINDS); components.engines.kinds() lists them.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Scrape:
    """How Prometheus reads a service's metrics.

    ``via`` names another kind that scrapes on the service's behalf (multi-target
    exporters): Prometheus asks that exporter at ``path`` with ``?target=[<scheme>://]host:port``,
    plus ``auth_module=<tier>`` when ``auth_per_tier`` (the exporter holds one login per tier).
    """

    port: str
    path: str = "/metrics"
    via: str | None = None
    scheme: str | None = None
    job: str | None = None  # default: the kind's name
    auth_per_tier: bool = False
    secret: str | None = None  # the tier secret the ``via`` exporter logs in with
    # Keep the labels the target exposes (the prober labels each probe with the probed
    # service's tier/service/kind, which must not be renamed to exported_*).
    honor_labels: bool = False


@dataclass(frozen=True)
class Probe:
    """How novaops-prober checks a database member with the service's own protocol.

    ``secret``: the tier secret the probe authenticates with (None: the service needs none);
    ``user``: who it logs in as where the protocol has users; ``database``: where it connects.
    """

    port: str
    protocol: str  # a protocol images/exporters/novaops-prober speaks
    secret: str | None = None
    user: str | None = None
    database: str | None = None


@dataclass(frozen=True)
class Kind:
    name: str
    image: str  # key of an image under images/ (or a remote image for grafana)
    role: str  # novaops.role label: database | monitoring | exporter | division | backup
    ports: dict[str, int]  # port name -> port inside the container
    data_path: str | None
    healthcheck: tuple[str, ...]
    scrapes: tuple[Scrape, ...]
    secrets: tuple[str, ...] = ()
    min_members: int = 1
    odd_members: bool = False
    min_memory_mb: int = 64
    extensions: tuple[str, ...] = ()  # extensions a tier of this kind may ask for
    dcs_engine: str | None = None  # engine of the tier this kind needs as its DCS
    router: str | None = None  # kind of the per-tier router giving stable endpoints
    probe: Probe | None = None  # protocol-level health probe (database engines)
    # The tier holds one secret per division using it, that division's login, which the server
    # config names (NATS users in accounts); and whether it can carry cross-division channels.
    division_secrets: bool = False
    carries_channels: bool = False
    why_members: str = ""


def sh(script: str) -> tuple[str, ...]:
    """A shell health check (Docker's CMD-SHELL form)."""
    return ("CMD-SHELL", script)


def http_ready(port: int, path: str, netrc: str | None = None) -> tuple[str, ...]:
    """A health check that GETs ``path`` on the container's own ``port``.

    ``netrc``: a file in the container with the login for a server behind basic auth (its health
    endpoints too): the password stays out of the command, which `docker inspect` shows.
    """
    login = ("--netrc-file", netrc) if netrc else ()
    return ("CMD", "curl", "-fsS", *login, "-o", "/dev/null", f"http://127.0.0.1:{port}{path}")
