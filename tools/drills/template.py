"""The skeleton every drill shares, written once: workload on -> fault -> RTO -> alert -> recovery
playbook -> MTTR -> losses -> targets. A drill is only its own parts (which victim, what fault,
which recovery), e.g.::

    with under_load(ctx, result, [tier]) as run:        # workload on; on exit: off, losses verified
        victim = pick_victim(ctx)
        run.fault(f"docker kill {victim}", lambda: ctx.container(victim).kill())
        result.rto_s = run.rto(tier)                     # fault -> writes acknowledged again
        run.detect("SomeAlert", {"service": ctx.member_key(tier, victim)})
        run.recover({"member": victim})                  # the runbook's playbook; MTTR
    check_targets(result)

``kill_member`` is that whole drill for "a member killed"; ``restore_into`` the end of a restore drill.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from tools.drills.runner import TARGET_DETECTION_S, TARGET_MTTR_S, TARGET_RTO_S, Ctx, DrillError, Load, Result, log
from tools.wait import wait_for

# Where a drill runs in the catalog (lower first; ties keep the topology's tier order): a leader
# killed per tier first (synchronous tiers, then asynchronous ones), tier-wide faults, the backup
# host, restores from backup, a quorum member last.
LEADER_SYNC, LEADER_ASYNC, TIER_WIDE, BACKUP_HOST, RESTORE, QUORUM_MEMBER = 10, 20, 30, 40, 50, 60


@dataclass(frozen=True)
class Fault:
    """What a drill injects (the runbooks' failure-mode column) and what breaks while it lasts: given
    where the fault does not take the tier's service away, else derived from who uses the tier."""

    injects: str
    breaks: str | None = None
    whole_tier: bool = False  # every member down: the tier's users lose it, not only redundancy


# Faults that several engines' drills inject.
LOSE_MEMBER = Fault("a member killed (quorum kept)")
RESTIC_RESTORE = Fault("data lost: restore from restic", breaks="the data itself (a bad write or deletion)")
TIER_DOWN = Fault("every member down", whole_tier=True)


@dataclass(frozen=True)
class Drill:
    name: str
    runbook: str  # runbooks/<file>
    playbook: str | None  # ansible/playbooks/<file>, the one the runbook names
    ci: bool  # part of the CI subset (tests/e2e/test_stack_operated_drills.py)
    body: Callable[[Ctx, Result], None]
    tiers: tuple[str, ...]  # the tiers it is about (results' "tiers")
    order: int  # where the runner takes it (the bands above)
    fault: Fault  # what it injects, for the runbooks' tables
    alert: str | None = None  # the alert it waits for, where its runbook covers several

    def run(self, ctx: Ctx, result: Result) -> None:
        result.tiers = list(self.tiers)
        self.body(ctx, result)


def lose_member_drill(tier: str, body: Callable[[Ctx, Result], None]) -> Drill:
    """A member of a quorum tier killed (the quorum kept): the engines whose tiers vote."""
    return Drill(
        f"lose-member-{tier}",
        "alert-member-down.md",
        "recover-tier.yml",
        ci=False,
        body=body,
        tiers=(tier,),
        order=QUORUM_MEMBER,
        fault=LOSE_MEMBER,
    )


def check_targets(result: Result, rto: bool = True, loss: bool = True, detection: bool = True) -> None:
    if detection and (result.detection_s is None or result.detection_s > TARGET_DETECTION_S):
        result.fail(
            f"detection {result.detection_s:.1f} s > {TARGET_DETECTION_S:.0f} s"
            if result.detection_s
            else f"{result.alert} did not reach the receiver"
        )
    if rto and (result.rto_s is None or result.rto_s > TARGET_RTO_S):
        result.fail(f"RTO {'unbounded' if result.rto_s is None else f'{result.rto_s:.1f}'} s > {TARGET_RTO_S:.0f} s")
    if loss and result.lost:
        result.fail(f"{result.lost} acknowledged writes lost")
    if result.mttr_s is None or result.mttr_s > TARGET_MTTR_S:
        mttr = "unbounded" if result.mttr_s is None else f"{result.mttr_s:.1f}"
        result.fail(f"MTTR {mttr} s >= {TARGET_MTTR_S:.0f} s")


def record_losses(result: Result, load: Load, tiers: list[str], acked_before: float | None = None) -> dict:
    verified = load.verify(tiers, acked_before)
    result.acked = sum(v["acked"] for v in verified.values())
    result.lost = sum(v["lost"] for v in verified.values())
    for tier, v in verified.items():
        if v["lost"]:
            result.notes.append(f"{tier}: lost {v['lost']} of {v['acked']} (e.g. {v['missing_sample'][:2]})")
    return verified


def wait_rto(load: Load, tier: str, applied_at: float, timeout: float = 90, since: float | None = None) -> float | None:
    """Seconds from ``since`` (the fault's start; default ``applied_at``) until a write on ``tier``
    that started after ``applied_at`` (the fault in effect) is acknowledged; None if not in time."""
    try:
        wait_for(
            lambda: load.rto(tier, applied_at, time.time()) is not None,
            timeout,
            0.5,
            what=f"{tier}: writes acknowledged again",
            error=DrillError,
        )
    except DrillError:
        return None
    return load.rto(tier, applied_at, time.time()) + applied_at - (since if since is not None else applied_at)


class Run:
    """One drill in progress: its fault's times and the steps that measure from them."""

    def __init__(self, ctx: Ctx, result: Result, load: Load | None = None):
        self.ctx, self.result, self.load = ctx, result, load
        self.fault_at = 0.0  # the fault's start
        self.applied_at = 0.0  # the fault in effect (the call that injects it has returned)

    def fault(self, what: str, inject: Callable[[], Any]) -> float:
        """Log ``what``, inject it; returns the fault's start."""
        log(what)
        self.fault_at = time.time()
        inject()
        # RTO counts writes started once the fault is in effect (the API call itself takes time).
        self.applied_at = time.time()
        return self.fault_at

    def rto(self, tier: str, timeout: float = 90) -> float | None:
        return wait_rto(self.load, tier, self.applied_at, timeout, since=self.fault_at)

    def worst_rto(self, tiers: Sequence[str], timeout: float = 90) -> float | None:
        """The worst of ``tiers``' RTOs; None if one never came back within ``timeout``."""
        rtos = [self.rto(t, timeout) for t in tiers]
        known = [v for v in rtos if v is not None]
        return max(known) if len(known) == len(rtos) else None

    def detect(self, alert: str, labels: dict[str, str]) -> None:
        self.result.alert = alert
        self.result.detection_s = self.ctx.wait_alert(alert, self.fault_at, labels)

    def recover(self, extra: dict[str, Any], settle: float = 3) -> None:
        """The recovery playbook the runbook names; MTTR counts from the fault to its end."""
        self.ctx.playbook(self.result.playbook, extra, self.result)
        self.result.mttr_s = time.time() - self.fault_at
        time.sleep(settle)


@contextmanager
def under_load(
    ctx: Ctx,
    result: Result,
    verify: Sequence[str] | None,
    *,
    tiers: list[str] | None = None,
    duration: float = 600,
    acks: int = 300,
) -> Iterator[Run]:
    """The workload on ``tiers`` (None: every tier), ``acks`` writes acknowledged before the body;
    stopped whatever happens. After a body that did not raise, the acknowledged writes of the
    ``verify`` tiers are checked against the stores (result.acked / lost)."""
    load = Load(ctx, result.drill, tiers=tiers, duration=duration)
    try:
        load.wait_acks(acks)
        yield Run(ctx, result, load)
    finally:
        load.stop()
    if verify:
        record_losses(result, load, list(verify))


def kill_member(
    tier: str,
    victim: Callable[[Ctx], str],
    alert: str,
    recovery: Callable[[str], dict[str, Any]],
    note: Callable[[Ctx, str], str],
    *,
    role: str = "",
    watched: Sequence[str] | None = None,
    rto_timeout: float = 90,
    **checks: bool,
) -> Callable[[Ctx, Result], None]:
    """A member of ``tier`` killed under the workload: ``victim`` picks its container (``role`` names
    it in the log), RTO is the worst of the ``watched`` tiers (default: ``tier``), ``alert`` must
    name its service, ``recovery`` gives the playbook's variables, ``note`` the result's note."""
    watched = list(watched or [tier])

    def body(ctx: Ctx, result: Result) -> None:
        with under_load(ctx, result, watched) as run:
            name = victim(ctx)
            service = ctx.member_key(tier, name)
            run.fault(f"{tier}: docker kill {name}{f' ({role})' if role else ''}", lambda: ctx.container(name).kill())
            result.rto_s = run.worst_rto(watched, rto_timeout)
            run.detect(alert, {"service": service})
            run.recover(recovery(name))
        result.notes.append(note(ctx, name))
        check_targets(result, **checks)

    return body


def scratch_container(ctx: Ctx, tier: str, purpose: str) -> str:
    """The name of a container a recovery playbook creates beside ``tier``: ``<tier>-<purpose>``
    under the docker prefix of the tier's members (read from the topology, never typed)."""
    member = ctx.topology.tiers[tier].members[0]
    return f"{member.container.removesuffix(member.key)}{tier}-{purpose}"


@contextmanager
def restore_into(ctx: Ctx, result: Result, name: str, extra: dict[str, Any]) -> Iterator[Any]:
    """The restore playbook into the fresh container ``name`` (MTTR = its wall time); yields that
    container for the drill's checks, and removes it (with its volumes) whatever happens."""
    started = time.time()
    ctx.playbook(result.playbook, extra, result)
    result.mttr_s = time.time() - started
    try:
        yield ctx.container(name)
    finally:
        ctx.docker.containers.get(name).remove(force=True, v=True)


def scheduled_job(ctx: Ctx, cron_file: str, job: str, marker: str | None = None) -> str:
    """The command line cron runs on the backup host for ``job`` (schedule, user and output
    redirection removed); the line is the one holding ``--job <job> ``, or ``marker`` when given."""
    backup = ctx.container(ctx.topology.backup.container)
    text = backup.exec_run(["cat", cron_file]).output.decode()
    for line in text.splitlines():
        if (marker or f"--job {job} ") in line and not line.lstrip().startswith("#"):
            return " ".join(line.split()[6:]).replace(" >/dev/null 2>&1", "")
    raise DrillError(f"{cron_file} on the backup host has no job {job}")
