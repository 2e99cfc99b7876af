"""The drills' catalog and the drills no engine owns. Each drill injects one fault under the
workload, measures detection / RTO / losses, recovers with the playbook its runbook names, and
leaves the stack healthy (the shared skeleton: tools/drills/template.py).

Engine drills live with their engine (components/engines/<package>/drills.py); the catalog asks
each engine of the topology for its tiers' drills (``part(engine, "drills")``), so a tier added
to the catalog alone gets its drills. Names come from the topology and the stack outputs.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from components.model import Tier, Topology
from tools.drills.runner import Ctx, DrillError, Result, log
from tools.drills.template import (
    BACKUP_HOST,
    RESTIC_RESTORE,
    RESTORE,
    Drill,
    Fault,
    check_targets,
    restore_into,
    scheduled_job,
    scratch_container,
    under_load,
)

__all__ = [
    "Drill",
    "catalog",
    "lose_backup_host",
    "restic_restore",
    "restic_restore_drill",
    "stack_tiers",
    "stop_whole_tier",
    "topology_tiers",
]

RESTIC_CRON = "/etc/cron.d/novaops-restic"


# ---------------------------------------------------------------- a whole tier stopped


def stop_whole_tier(tier: str) -> Callable[[Ctx, Result], None]:
    def body(ctx: Ctx, result: Result) -> None:
        members = [m["container"] for m in ctx.members(tier).values()]

        def kill_all() -> None:
            stoppers = [threading.Thread(target=ctx.container(m).kill) for m in members]
            for t in stoppers:
                t.start()
            for t in stoppers:
                t.join(30)

        with under_load(ctx, result, [tier]) as run:
            # Killed together (host or power loss): a graceful stop of a primary takes seconds
            # longer than its replicas', and a member down alone is rightly a member alert.
            run.fault(f"{tier}: docker kill {' '.join(members)} (all at once)", kill_all)
            run.detect("TierDown", {"tier": tier})
            # Inhibition: member alerts of the tier must not reach the receiver (give them a group_wait + margin).
            time.sleep(30)
            others = sorted(
                {
                    a["labels"]["alertname"]
                    for a in ctx.received_alerts(run.fault_at)
                    if a["labels"].get("tier") == tier
                    and a["labels"]["alertname"] != "TierDown"
                    and a.get("status") == "firing"
                }
            )
            leaked = [name for name in others if name.endswith("MemberDown")]
            delivered = [n for n in others if n not in leaked] or "none"
            result.notes.append(
                f"member alerts of tier {tier} at the receiver: {leaked or 'none (inhibited)'}; "
                f"other alerts of the tier delivered: {delivered}"
            )
            if leaked:
                result.fail(f"not inhibited: {leaked}")
            run.recover({"tier": tier}, settle=0)
            result.rto_s = run.rto(tier)
            time.sleep(3)
        # The tier is down until an operator acts: RTO includes the recovery, so only MTTR is held to a target.
        check_targets(result, rto=False)

    return body


# ---------------------------------------------------------------- the backup host lost


def lose_backup_host(archiving: Mapping[str, Callable[[Ctx, str], int]]) -> Callable[[Ctx, Result], None]:
    """The backup host killed under the workload: backups and archiving stop (the stale-backup
    fear). Writes of the ``archiving`` tiers (tier -> its count of failed archive attempts) must go
    on (archiving is asynchronous); BackupHostDown must reach the receiver; recovery must prove
    archiving caught up (every tier's scheduled check)."""
    tiers = list(archiving)

    def failures(ctx: Ctx) -> dict[str, int]:
        return {t: archiving[t](ctx, t) for t in tiers}

    def body(ctx: Ctx, result: Result) -> None:
        backup = ctx.topology.backup.container
        failed_before = failures(ctx)
        with under_load(ctx, result, tiers, tiers=tiers) as run:
            try:
                run.fault(f"docker kill {backup} (the backup host)", lambda: ctx.container(backup).kill())
                result.rto_s = run.worst_rto(tiers, 60)
                run.detect("BackupHostDown", {})
                failed_during = {t: n - failed_before[t] for t, n in failures(ctx).items()}
                run.recover({})
            finally:
                if ctx.container(backup).status != "running":  # whatever happened, the host is left running
                    ctx.container(backup).start()
        result.notes.append(
            f"archive attempts that failed while the host was down: {failed_during}; recovery ran "
            "the backup host's scheduled checks (each archiving tier's archive caught up); "
            f"RTO = worst time to the next acknowledged write of {', '.join(tiers)}"
        )
        check_targets(result)

    return body


# ---------------------------------------------------------------- restore from restic


@dataclass(frozen=True)
class Restored:
    """What a restic restore drill's engine check reads."""

    name: str  # the restore container's name
    container: Any  # that container (docker)
    backup: Any  # the backup host's container (docker)
    ledger: Path  # the workload's ledger
    snapshot_at: float  # when the scheduled restic job started


def restic_restore_drill(tier: str, check: Callable[[Ctx, Result, Restored], None], **restore: Any) -> Drill:
    """The tier restored from its restic snapshot (``restore``: restic_restore's keywords)."""
    return Drill(
        f"restic-restore-{tier}",
        "failure-restic-restore.md",
        "recover-restic-restore.yml",
        ci=False,
        body=restic_restore(tier, check, **restore),
        tiers=(tier,),
        order=RESTORE,
        fault=RESTIC_RESTORE,
    )


def restic_restore(
    tier: str,
    check: Callable[[Ctx, Result, Restored], None],
    *,
    load_tiers: list[str],
    marker: str | None = None,
    extra: Mapping[str, Any] | None = None,
) -> Callable[[Ctx, Result], None]:
    """The tier's scheduled restic job run now under the workload on ``load_tiers`` (its cron line:
    the one with ``--job restic-<tier>``, or ``marker``), the snapshot restored into a fresh
    container with recover-restic-restore.yml (``extra``: more of its variables), then ``check``
    sets acked / lost / notes from what the restored container holds."""

    def body(ctx: Ctx, result: Result) -> None:
        target = scratch_container(ctx, tier, "restore")
        backup = ctx.container(ctx.topology.backup.container)
        job = scheduled_job(ctx, RESTIC_CRON, f"restic-{tier}", marker=marker)
        with under_load(ctx, result, None, tiers=load_tiers, duration=120) as run:
            snapshot_at = time.time()
            log(f"{tier}: the scheduled restic job now: {job}")
            ran = backup.exec_run(["sh", "-c", job])
            if ran.exit_code != 0:
                raise DrillError(f"restic job for {tier} failed: {ran.output.decode()[-800:]}")
            time.sleep(2)
        variables = {"target": tier, "restore_container": target, **(extra or {})}
        with restore_into(ctx, result, target, variables) as restored:
            check(ctx, result, Restored(target, restored, backup, run.load.ledger, snapshot_at))
        check_targets(result, rto=False, detection=False)

    return body


# ---------------------------------------------------------------- the catalog


def engine_tiers(topology: Topology) -> dict[str, list[Tier]]:
    """engine -> its tiers, engines in the order of their first tier, tiers in topology order."""
    out: dict[str, list[Tier]] = {}
    for tier in topology.tiers.values():
        out.setdefault(tier.engine.name, []).append(tier)
    return out


def catalog(topology: Topology) -> list[Drill]:
    """Every drill, in the order the runner takes them: each engine's drills for its tiers, and
    the backup host's loss when a tier archives to it continuously."""
    from components.engines import part

    drills: list[Drill] = []
    archiving: dict[str, Callable[[Ctx, str], int]] = {}
    for engine, tiers in engine_tiers(topology).items():
        module = part(engine, "drills")
        drills += module.drills(topology, tiers)
        archiving.update(module.archiving(tiers))
    if archiving:
        drills.append(
            Drill(
                "backup-host-lost",
                "alert-host-down.md",
                "recover-backup-host.yml",
                ci=False,
                body=lose_backup_host(archiving),
                tiers=tuple(archiving),
                order=BACKUP_HOST,
                fault=Fault(
                    "backup host lost (stale backups)",
                    breaks="every backup and WAL archiving (the PITR window stops growing); writes go on",
                ),
                alert="BackupHostDown",
            )
        )
    return sorted(drills, key=lambda d: d.order)


def topology_tiers(stack: str) -> Topology:
    """The stack's topology from the catalog and Pulumi.<stack>.yaml (no stack needed): what
    ``catalog`` takes (``--list``, the runbooks' table, the e2e test's parameters)."""
    from components.model import build_topology
    from components.stack_files import load_stack_file

    return build_topology(stack, load_stack_file(stack))


def stack_tiers(ctx: Ctx) -> Topology:
    """The topology of the stack under drill (``catalog(stack_tiers(ctx))``)."""
    return ctx.topology
