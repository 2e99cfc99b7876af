"""`make status` for Valkey tiers: roles and verdicts from Sentinel (SENTINEL MASTERS / REPLICAS).

Every member's own Sentinel is asked; they must agree on the master. A replica serves when
Sentinel neither flags it down nor reports its replication link broken. The replicas' lag is
not read here: the generic status takes it from Prometheus (service:novaops_replication_lag:bytes).
"""

from __future__ import annotations

from components.engines.valkey import KIND
from tools.status import Sources, TierStatus, Unreachable

DOWN = {"s_down", "o_down"}


def query(address: str, timeout: float, password: str | None = None) -> dict:
    """One Sentinel's view: {"name", "master": host, "master_flags", "replicas": [{"host", "flags", "link", "offset"}]}.

    Reached through Sources.native(kind, address), so that the tests can answer for it.
    """
    import valkey

    host, port = address.rsplit(":", 1)
    client = valkey.Valkey(
        host=host,
        port=int(port),
        password=password,
        socket_timeout=timeout,
        socket_connect_timeout=timeout,
        decode_responses=True,
    )
    try:
        masters = client.sentinel_masters()
        if not masters:
            raise Unreachable(f"sentinel {address} monitors no master")
        name, master = next(iter(masters.items()))
        replicas = client.sentinel_slaves(name)
    except valkey.ValkeyError as exc:
        raise Unreachable(f"sentinel {address}: {exc}") from exc
    finally:
        client.close()
    return {
        "name": name,
        "master": master["ip"],
        "master_flags": sorted(master.get("flags", [])),
        "replicas": [
            {
                "host": r["ip"],
                "flags": sorted(r.get("flags", [])),
                "link": r.get("master-link-status"),
                "offset": r.get("slave-repl-offset"),
            }
            for r in replicas
        ],
    }


def read(src: Sources, tier: TierStatus, members: dict[str, dict]) -> None:
    views = {}
    for member in tier.services:
        try:
            views[member.service] = src.native(
                KIND.name, members[member.service]["sentinel"], src.secret(tier.tier, "password")
            )
        except Unreachable as exc:
            member.api = f"Sentinel unreachable ({exc})"
    if not views:
        tier.problems.append("no Sentinel answers")
        return
    masters = {v["master"] for v in views.values()}
    if len(masters) > 1:
        tier.problems.append(f"Sentinels disagree on the master: {', '.join(sorted(masters))}")
    view = next(iter(views.values()))
    _apply_master(tier, view)
    _apply_replicas(tier, view)
    for svc in tier.services:
        if svc.api == "?":
            svc.api = "not known to Sentinel"


def _apply_master(tier: TierStatus, view: dict) -> None:
    master = next((s for s in tier.services if s.container == view["master"]), None)
    if master is None:
        tier.problems.append(f"Sentinel's master {view['master']!r} is not a member")
        return
    master.role = "master"
    if DOWN & set(view["master_flags"]):
        master.api = f"Sentinel flags the master {'/'.join(view['master_flags'])}"
    elif master.api == "?":
        master.api = "ok"
    tier.leader = master.service


def _apply_replicas(tier: TierStatus, view: dict) -> None:
    by_container = {s.container: s for s in tier.services}
    for r in view["replicas"]:
        svc = by_container.get(r["host"])
        if svc is None:
            continue
        svc.role = "replica"
        down = (DOWN | {"disconnected"}) & set(r["flags"])
        if down:
            svc.api = f"Sentinel flags it {'/'.join(sorted(down))}"
        elif r["link"] != "ok":
            svc.api = f"replication link {r['link']}"
        elif svc.api == "?":
            svc.api = "ok"
