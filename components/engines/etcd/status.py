"""`make status` for etcd tiers: /v3/maintenance/status of every member.

The members must agree on one leader; a follower's lag is the raft entries it has not applied
yet, against the leader's raft index.
"""

from __future__ import annotations

from tools.status import Sources, TierStatus, Unreachable


def read(src: Sources, tier: TierStatus, members: dict[str, dict]) -> None:
    statuses = {}
    for svc in tier.services:
        url = f"http://{members[svc.service]['client']}/v3/maintenance/status"
        try:
            statuses[svc.service] = src.http_json(url, {})
            svc.api = "ok"
        except Unreachable as exc:
            svc.api = f"etcd API unreachable ({exc})"
    leader_ids = {s.get("leader") for s in statuses.values()} - {None, "0"}
    if len(leader_ids) != 1:
        tier.problems.append("no etcd leader" if not leader_ids else "members disagree on the etcd leader")
        return
    (lid,) = leader_ids
    leader_index = next(
        (int(s.get("raftIndex", 0)) for s in statuses.values() if s["header"]["member_id"] == lid), None
    )
    for svc in tier.services:
        status = statuses.get(svc.service)
        if status is None:
            continue
        svc.role = "leader" if status["header"]["member_id"] == lid else "follower"
        if svc.role == "leader":
            tier.leader = svc.service
        if leader_index is not None:
            svc.lag = f"{max(leader_index - int(status.get('raftAppliedIndex', 0)), 0)} entries"
        if status.get("errors"):
            svc.api = "; ".join(status["errors"])
