"""`make status` for NATS tiers: the monitor API of every member (/varz, /jsz, /healthz).

The leader is the JetStream meta leader; the members must agree on it. A member serves when
/healthz?js-enabled-only=true says ok (JetStream current).
"""

from __future__ import annotations

from tools.status import Sources, TierStatus, Unreachable


def read(src: Sources, tier: TierStatus, members: dict[str, dict]) -> None:
    leaders = set()
    for svc in tier.services:
        monitor = f"http://{members[svc.service]['monitor']}"
        try:
            varz = src.http_json(f"{monitor}/varz")
            jsz = src.http_json(f"{monitor}/jsz")
            health = src.http_json(f"{monitor}/healthz?js-enabled-only=true")
        except Unreachable as exc:
            svc.api = f"monitor API unreachable ({exc})"
            continue
        leader = (jsz.get("meta_cluster") or {}).get("leader")
        if leader:
            leaders.add(leader)
        svc.role = "leader" if leader and leader == varz.get("server_name") else "follower"
        svc.api = "ok" if health.get("status") == "ok" else f"healthz: {health.get('error') or health.get('status')}"
    if not leaders:
        tier.problems.append("no JetStream meta leader")
    elif len(leaders) > 1:
        tier.problems.append(f"members disagree on the JetStream meta leader: {', '.join(sorted(leaders))}")
    else:
        leader = next(iter(leaders))
        tier.leader = next((s.service for s in tier.services if s.container == leader), leader)
