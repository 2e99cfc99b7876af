"""Resilience drills on the operated e2e stack, after test_stack_operated.py (same session-wide
`converged` fixture; this file sorts after it).

CI runs the subset marked `ci` in tools/drills/drills.py (kill the primary of the first Patroni
tier, kill the Valkey master, stop the smallest Patroni tier, fill the disk of its replica;
~8-10 min on 2 cores). Every other drill (the other primaries, the partition, PITR, backups,
restic restores, cluster members) runs with NOVAOPS_ALL_DRILLS=1 as well.

What must hold in every drill: the alert reaches the dev webhook receiver within 60 s, no
acknowledged write is lost on a synchronous tier, the runbook's playbook recovers in < 5 min,
and the stack is healthy afterwards. The RTO of a killed Patroni primary is bounded by Patroni's
minimum DCS ttl (20 s, see roles/patroni/README.md), and a full replica makes commits wait
while it crash-loops: both asserted <= 30 s here and reported against the 10 s target in the
results table.
"""

from __future__ import annotations

import os

import pytest

from tests.e2e.conftest import needs_converge

pytestmark = [pytest.mark.docker, pytest.mark.e2e, needs_converge]

ALL = os.environ.get("NOVAOPS_ALL_DRILLS") == "1"
# A hard-killed primary's leader key expires after ttl (20 s): the floor for its RTO.
KILLED_PATRONI_PRIMARY_RTO_BOUND_S = 30.0
# A replica whose disk is full crash-loops; between crashes it streams for a moment, Patroni makes
# it sync standby again and commits wait on it (longest wait measured 3.6-11.6 s).
FULL_REPLICA_WRITE_WAIT_BOUND_S = 30.0


def drill_names() -> list[str]:
    from tests.e2e.conftest import STACK
    from tools.drills.drills import catalog, topology_tiers

    return [d.name for d in catalog(topology_tiers(STACK)) if ALL or d.ci]


@pytest.fixture(scope="module")
def drill_ctx(stack, converged):
    from tools.drills.runner import Ctx

    return Ctx(stack.name, sessions=150)


@pytest.mark.parametrize("name", drill_names())
def test_drill(drill_ctx, name):
    from tools.drills.drills import catalog, stack_tiers
    from tools.drills.runner import TARGET_DETECTION_S, TARGET_MTTR_S, Result, write_results

    drill = next(d for d in catalog(stack_tiers(drill_ctx)) if d.name == name)
    result = Result(drill.name, drill.runbook, drill.playbook)
    # As `python -m tools.drills`: the previous drill's alerts resolved at the receiver first.
    drill_ctx.settle_alerts()
    drill.run(drill_ctx, result)
    write_results(drill_ctx, [result])
    hard = [f for f in result.failures if not f.startswith("RTO")]
    assert not hard, f"{name}: {hard}\n{result}"
    if result.detection_s is not None or drill.name.startswith(("kill", "partition", "tier-down")):
        assert result.detection_s is not None and result.detection_s <= TARGET_DETECTION_S, result
    assert result.mttr_s is not None and result.mttr_s < TARGET_MTTR_S, result
    if drill.name.startswith("kill-primary") or drill.name.startswith("partition"):
        assert result.rto_s is not None and result.rto_s <= KILLED_PATRONI_PRIMARY_RTO_BOUND_S, result
    elif drill.name.startswith("disk-full"):
        assert result.rto_s is not None and result.rto_s <= FULL_REPLICA_WRITE_WAIT_BOUND_S, result
    elif result.rto_s is not None and not drill.name.startswith("tier-down"):
        assert not [f for f in result.failures if f.startswith("RTO")], result
