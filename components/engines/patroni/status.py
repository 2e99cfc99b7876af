"""`make status` for Patroni tiers and their HAProxy router.

role and lag from Patroni's REST API (/cluster: leader, sync_standby or replica, WAL bytes
behind); a member serves when /patroni reports PostgreSQL running and, for a replica, /cluster
reports it streaming. The router serves when HAProxy's stats page answers.
"""

from __future__ import annotations

from components.engines.patroni import ROUTER
from tools.status import ServiceStatus, Sources, TierStatus, Unreachable


def _url(address: str, path: str) -> str:
    return f"http://{address}{path}"


def read(src: Sources, tier: TierStatus, members: dict[str, dict]) -> None:
    cluster = _member_health(src, tier, members)
    if cluster is None:
        tier.problems.append("no member's Patroni API answers /cluster")
        return
    _apply_cluster(tier, cluster)
    if tier.leader is None:
        tier.problems.append("no Patroni leader")


def _member_health(src: Sources, tier: TierStatus, members: dict[str, dict]) -> dict | None:
    """Each member's own verdict (/patroni); the cluster view (/cluster) of the first that answers."""
    cluster = None
    for member in tier.services:
        api = members[member.service]["patroni"]
        try:
            health = src.http_json(_url(api, "/patroni"))
            state = health.get("state")
            member.api = "ok" if state == "running" else f"Patroni reports PostgreSQL {state!r}"
            if cluster is None:
                cluster = src.http_json(_url(api, "/cluster"))
        except Unreachable as exc:
            member.api = f"Patroni API unreachable ({exc})"
    return cluster


def _apply_cluster(tier: TierStatus, cluster: dict) -> None:
    by_container = {s.container: s for s in tier.services}
    listed = cluster.get("members", [])
    for m in listed:
        svc = by_container.get(m.get("name"))
        if svc is None:
            continue
        svc.role = m.get("role", "?")
        if svc.role == "leader":
            tier.leader = svc.service
            continue
        lag = m.get("lag")
        svc.lag = f"{lag} B" if isinstance(lag, int) else str(lag)
        if m.get("state") != "streaming" and svc.api == "ok":
            svc.api = f"replica state {m.get('state')!r}, not streaming"
    names = {m.get("name") for m in listed}
    for svc in tier.services:
        if svc.container not in names:
            svc.role = "absent"
            if svc.api == "ok":
                svc.api = "not a member of the Patroni cluster"


def read_router(src: Sources, tier: TierStatus, router: dict) -> None:
    """The router's row, when its stats page is published (the only port the status can check)."""
    if "stats" not in router:
        return
    svc = ServiceStatus(
        tier=tier.tier, service=f"{tier.tier}-router", container=router["container"], kind=ROUTER.name, role="router"
    )
    try:
        code = src.http_status(_url(router["stats"], "/metrics"))
        svc.api = "ok" if code == 200 else f"HAProxy stats answered HTTP {code}"
    except Unreachable as exc:
        svc.api = f"HAProxy stats unreachable ({exc})"
    tier.services.append(svc)
