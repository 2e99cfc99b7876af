"""Patroni tiers' failure modes beyond their drills, for the runbooks' failure-mode table (tools/runbooks.py)."""

from __future__ import annotations

from tools.runbooks import FailureMode

FAILURE_MODES = (
    FailureMode("a replica down", "PatroniMemberDown", "alert-member-down.md", "recover-patroni-member.yml"),
    FailureMode(
        "no primary (etcd lost, all candidates behind)", "PatroniNoPrimary", "alert-no-leader.md", None, whole_tier=True
    ),
)
