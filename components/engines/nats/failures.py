"""NATS tiers' failure modes beyond their drills, for the runbooks' failure-mode table (tools/runbooks.py)."""

from __future__ import annotations

from tools.runbooks import FailureMode

FAILURE_MODES = (FailureMode("a node down", "NatsMemberDown", "alert-member-down.md", "recover-tier.yml"),)
