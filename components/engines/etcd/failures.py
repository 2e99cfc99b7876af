"""etcd tiers' failure modes beyond their drills, for the runbooks' failure-mode table (tools/runbooks.py)."""

from __future__ import annotations

from tools.runbooks import FailureMode

FAILURE_MODES = (
    FailureMode("a member down", "EtcdMemberDown", "alert-member-down.md", "recover-tier.yml"),
    FailureMode("quorum lost", "EtcdNoLeader", "alert-no-leader.md", "recover-tier.yml", whole_tier=True),
)
