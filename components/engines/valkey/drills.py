"""Valkey's drills: the master killed (Sentinel promotes a replica) and a restore of the tier's
RDB snapshot from restic, for every Valkey tier."""

from __future__ import annotations

from collections.abc import Callable

from components.engines.valkey import KIND
from components.model import Tier, Topology
from tools.drills.drills import Restored, restic_restore_drill
from tools.drills.runner import Ctx, DrillError, Result
from tools.drills.template import LEADER_ASYNC, Drill, Fault, kill_member
from tools.novaload.load import read_ledger


def drills(topology: Topology, tiers: list[Tier]) -> list[Drill]:
    out = []
    for tier in (t.key for t in tiers):
        out.append(
            Drill(
                f"kill-master-{tier}",
                "failure-valkey-master-lost.md",
                "recover-valkey.yml",
                ci=True,
                body=kill_master(tier),
                tiers=(tier,),
                order=LEADER_ASYNC,
                fault=Fault("master killed"),
            )
        )
        out.append(restic_restore_drill(tier, restored_keys(tier), load_tiers=[tier]))
    return out


def archiving(tiers: list[Tier]) -> dict[str, Callable[[Ctx, str], int]]:
    """No tier archives continuously: its RDB snapshot goes to the backup host when restic's job runs."""
    return {}


def master(ctx: Ctx, tier: str) -> str:
    """Container name of the tier's master, as a Sentinel names it."""
    import valkey

    endpoint = ctx.endpoints.tiers[tier]
    for host, port in endpoint.sentinels:
        try:
            sentinel = valkey.Valkey(host=host, port=port, password=endpoint.password, socket_timeout=3)
            name, _ = sentinel.execute_command("SENTINEL", "GET-MASTER-ADDR-BY-NAME", endpoint.master_name)
            return name.decode()
        except Exception:
            continue
    raise DrillError(f"{tier}: no Sentinel answers")


def kill_master(tier: str) -> Callable[[Ctx, Result], None]:
    def note(ctx: Ctx, name: str) -> str:
        return (
            f"{name} killed, Sentinel promoted {master(ctx, tier)}; Valkey replicates asynchronously: writes "
            "acknowledged by the old master in its last moments may be lost (bounded by min-replicas-max-lag)"
        )

    return kill_member(
        tier,
        lambda ctx: master(ctx, tier),
        "ValkeyMemberDown",
        lambda name: {"member": name},
        note,
        role="the master",
        loss=False,
    )


def restored_keys(tier: str) -> Callable[[Ctx, Result, Restored], None]:
    """The workload's keys acknowledged before the snapshot must be in the restored RDB."""

    def check(ctx: Ctx, result: Result, restored: Restored) -> None:
        header, acks, _, _ = read_ledger(restored.ledger)
        # The RDB comes from a replica: allow one second of replication before the job started.
        before = {a["ref"] for a in acks if a["t"] == tier and a["ack"] < restored.snapshot_at - 1}
        out = restored.container.exec_run(
            ["valkey-cli", "-p", str(KIND.ports["valkey"]), "--scan", "--pattern", f"novaload:{header['run']}:*"]
        )
        present = set(out.output.decode().split())
        result.acked, result.lost = len(before), len(before - present)
        result.notes.append(
            f"RDB snapshot restored into {restored.name}: {len(before) - result.lost} of "
            f"{len(before)} keys acknowledged >1 s before the snapshot present"
        )

    return check
