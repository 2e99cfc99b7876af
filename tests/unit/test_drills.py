"""The drills' catalog: `python -m tools.drills --list` from the topology alone (no stack), the
dev list as it stands, a second Valkey and a second Patroni tier declared in the catalog alone
get their drills; and the shared skeleton (tools/drills/template.py) measures what it did."""

from __future__ import annotations

import pytest

from tests.unit.second_tiers import PATRONI_TIER, VALKEY_TIER, catalog_replaced
from tools.drills import __main__ as drills_main
from tools.drills import template
from tools.drills.drills import catalog, topology_tiers
from tools.drills.runner import Result

P, V = (
    "runbooks/failure-patroni-primary-lost.md  playbooks/recover-patroni-member.yml",
    "runbooks/failure-valkey-master-lost.md  playbooks/recover-valkey.yml",
)
RESTIC = "runbooks/failure-restic-restore.md  playbooks/recover-restic-restore.yml"
# `python -m tools.drills --list` for the dev stack (the order the runner takes them; `ci` marks the CI subset).
DEV_LIST = f"""\
kill-primary-episodic            ci  {P}
kill-primary-semantic                {P}
kill-primary-graph                   {P}
kill-primary-temporal                {P}
kill-master-working              ci  {V}
partition-primary-episodic           runbooks/failure-patroni-partition.md  playbooks/recover-patroni-member.yml
pitr-episodic                        runbooks/failure-pitr.md  playbooks/recover-pitr.yml
tier-down-graph                  ci  runbooks/alert-tier-down.md  playbooks/recover-tier.yml
damage-backup-episodic               runbooks/alert-backup.md  playbooks/recover-backup-repo.yml
disk-full-replica-graph          ci  runbooks/failure-member-disk-full.md  playbooks/recover-patroni-member.yml
backup-host-lost                     runbooks/alert-host-down.md  playbooks/recover-backup-host.yml
restic-restore-working               {RESTIC}
restic-restore-coordination          {RESTIC}
restic-restore-streams               {RESTIC}
lose-member-coordination             runbooks/alert-member-down.md  playbooks/recover-tier.yml
lose-member-streams                  runbooks/alert-member-down.md  playbooks/recover-tier.yml
"""


@pytest.fixture
def no_stack(monkeypatch):
    """--list must not reach a stack: building the drill context fails the test."""

    def refuse(*args, **kwargs):
        raise AssertionError("--list built the drill context (it reads the stack outputs)")

    monkeypatch.setattr(drills_main, "Ctx", refuse)


def listed(capsys, *argv: str) -> str:
    assert drills_main.main(["--list", *argv]) == 0
    return capsys.readouterr().out


def test_list_needs_no_stack_and_gives_the_dev_drills(no_stack, capsys):
    assert listed(capsys, "--stack", "dev") == DEV_LIST


def test_a_second_valkey_and_patroni_tier_get_their_drills(no_stack, capsys):
    with catalog_replaced():
        out = listed(capsys, "--stack", "dev")
        drills = {d.name: d for d in catalog(topology_tiers("dev"))}
    names = [line.split()[0] for line in out.splitlines()]
    dev = [line.split()[0] for line in DEV_LIST.splitlines()]
    added = [n for n in names if n not in dev]
    assert added == [f"kill-primary-{PATRONI_TIER}", f"kill-master-{VALKEY_TIER}", f"restic-restore-{VALKEY_TIER}"]
    assert [n for n in names if n in dev] == dev, "the dev drills keep their order"
    assert drills[f"kill-master-{VALKEY_TIER}"].ci, "every Valkey tier's master kill is in the CI subset"
    assert drills[f"kill-primary-{PATRONI_TIER}"].tiers == (PATRONI_TIER,)
    # Its WAL archiving stops with the backup host: that drill watches the new tier's writes too.
    assert PATRONI_TIER in drills["backup-host-lost"].tiers


def test_the_etcd_tier_drills_watch_every_tier_that_keeps_its_keys_there():
    with catalog_replaced():
        topology = topology_tiers("dev")
    clients = {t.key for t in topology.dcs_clients(topology.tiers["coordination"])}
    assert clients == {"episodic", "semantic", "graph", "temporal", PATRONI_TIER}


# ---------------------------------------------------------------- the skeleton, with stand-ins for docker


class FakeLoad:
    """The workload's ledger as the drill reads it: writes acknowledged again 2 s after the fault."""

    instances: list[FakeLoad] = []

    def __init__(self, ctx, name, tiers=None, duration=600):
        self.tiers, self.stopped, self.verified = tiers, False, None
        FakeLoad.instances.append(self)

    def wait_acks(self, count=50, timeout=90):
        pass

    def rto(self, tier, fault_at, until):
        return 2.0

    def stop(self):
        self.stopped = True

    def verify(self, tiers, acked_before=None):
        self.verified = tiers
        return {t: {"acked": 100, "lost": 0, "missing_sample": []} for t in tiers}


class FakeContainer:
    def __init__(self, ctx, name):
        self.ctx, self.name = ctx, name

    def kill(self):
        self.ctx.events.append(f"kill {self.name}")


class FakeCtx:
    def __init__(self):
        self.events: list[str] = []

    def container(self, name):
        return FakeContainer(self, name)

    def member_key(self, tier, container):
        return container.removeprefix("novaops-dev-")

    def wait_alert(self, alert, since, labels):
        self.events.append(f"alert {alert} {labels}")
        return 12.5

    def playbook(self, name, extra, result):
        self.events.append(f"playbook {name} {extra}")
        return 40.0


@pytest.fixture
def fake_load(monkeypatch):
    FakeLoad.instances = []
    monkeypatch.setattr(template, "Load", FakeLoad)
    monkeypatch.setattr(template.time, "sleep", lambda s: None)
    return FakeLoad


def test_kill_member_measures_rto_detection_mttr_and_losses(fake_load):
    ctx, result = FakeCtx(), Result("kill-x", "r.md", "recover.yml")
    body = template.kill_member(
        "episodic",
        lambda c: "novaops-dev-episodic-1",
        "MemberDown",
        lambda name: {"member": name},
        lambda c, name: f"{name} killed",
        role="the primary",
    )
    body(ctx, result)
    assert ctx.events == [
        "kill novaops-dev-episodic-1",
        "alert MemberDown {'service': 'episodic-1'}",
        "playbook recover.yml {'member': 'novaops-dev-episodic-1'}",
    ]
    assert result.alert == "MemberDown" and result.detection_s == 12.5
    assert result.rto_s is not None and 2.0 <= result.rto_s < 3.0
    assert result.mttr_s is not None and result.mttr_s < 5
    assert (result.acked, result.lost) == (100, 0) and fake_load.instances[0].verified == ["episodic"]
    assert fake_load.instances[0].stopped and fake_load.instances[0].tiers is None, "the workload on every tier"
    assert result.notes == ["novaops-dev-episodic-1 killed"]
    assert result.passed, result.failures


def test_kill_member_holds_the_targets(fake_load, monkeypatch):
    ctx, result = FakeCtx(), Result("kill-x", "r.md", "recover.yml")
    monkeypatch.setattr(ctx, "wait_alert", lambda *a: None)  # the alert never came
    monkeypatch.setattr(FakeLoad, "rto", lambda *a: None)  # writes never came back
    template.kill_member("t", lambda c: "m", "MemberDown", lambda n: {}, lambda c, n: "", rto_timeout=0.2)(ctx, result)
    assert result.failures == ["MemberDown did not reach the receiver", "RTO unbounded s > 10 s"]


def test_under_load_stops_the_workload_and_verifies_nothing_when_the_drill_fails(fake_load):
    result = Result("x", "r.md", None)
    with pytest.raises(RuntimeError), template.under_load(FakeCtx(), result, ["t"]):
        raise RuntimeError("the fault could not be injected")
    assert fake_load.instances[0].stopped and fake_load.instances[0].verified is None
    assert result.acked is None
