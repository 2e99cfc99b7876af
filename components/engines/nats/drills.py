"""NATS's drills: the node leading the workload's JetStream stream killed (quorum kept) and a
restore of the stream's snapshot from restic, for every NATS tier."""

from __future__ import annotations

from collections.abc import Callable

from components.engines.nats import KIND
from components.engines.nats.workload import NATS_STREAM
from components.model import Tier, Topology
from tools.drills.drills import Restored, restic_restore_drill
from tools.drills.runner import Ctx, DrillError, Result
from tools.drills.template import Drill, kill_member, lose_member_drill
from tools.http_json import http_json
from tools.novaload.load import read_ledger


def drills(topology: Topology, tiers: list[Tier]) -> list[Drill]:
    out = []
    for tier in (t.key for t in tiers):
        # One cron line runs the tier's script (restic_backup's restic-<tier>), which snapshots every
        # stream, one restic tag per stream.
        out.append(
            restic_restore_drill(
                tier,
                restored_stream(tier),
                load_tiers=[tier],
                marker=f"/restic-{tier}",
                extra={"stream": NATS_STREAM},
            )
        )
        out.append(lose_member_drill(tier, lose_stream_leader(tier)))
    return out


def archiving(tiers: list[Tier]) -> dict[str, Callable[[Ctx, str], int]]:
    """No tier archives continuously: its snapshot goes to the backup host when restic's job runs."""
    return {}


def stream_leader(ctx: Ctx, tier: str, stream: str) -> str:
    """Container name of the node leading ``stream`` (JetStream's own /jsz), else the meta leader."""
    for member in ctx.members(tier):
        try:
            jsz = http_json(
                f"http://127.0.0.1:{ctx.port(tier, member, 'monitor')}/jsz?accounts=true&streams=true", timeout=3
            )
        except Exception:
            continue
        for account in jsz.get("account_details") or []:
            for detail in account.get("stream_detail") or []:
                if detail.get("name") == stream and (detail.get("cluster") or {}).get("leader"):
                    return detail["cluster"]["leader"]
        if (jsz.get("meta_cluster") or {}).get("leader"):
            return jsz["meta_cluster"]["leader"]
    raise DrillError(f"{tier}: no NATS node answers /jsz")


def lose_stream_leader(tier: str) -> Callable[[Ctx, Result], None]:
    return kill_member(
        tier,
        lambda ctx: stream_leader(ctx, tier, NATS_STREAM),
        "NatsMemberDown",
        lambda name: {"tier": tier},
        lambda ctx, name: f"{name} killed (leader of {NATS_STREAM}); RTO = worst of {tier}",
        rto_timeout=60,
    )


def restored_stream(tier: str) -> Callable[[Ctx, Result, Restored], None]:
    """Every event acknowledged before the snapshot must be in the restored stream, same sequence and payload."""

    def check(ctx: Ctx, result: Result, restored: Restored) -> None:
        _, acks, _, _ = read_ledger(restored.ledger)
        before = {(a["ref"], a["k"]) for a in acks if a["t"] == tier and a["ack"] < restored.snapshot_at}
        # Every message of the restored stream, read from the backup host over the tier network.
        out = restored.backup.exec_run(
            [
                "nats-js-snapshot",
                "--server",
                f"{restored.name}:{KIND.ports['client']}",
                "--timeout",
                "30",
                "dump",
                NATS_STREAM,
            ],
            demux=True,
        )
        stdout, stderr = (part or b"" for part in out.output)
        if out.exit_code != 0:
            raise DrillError(f"dump of the restored {NATS_STREAM} failed: {stderr.decode()[-500:]}")
        present = set()
        for line in stdout.decode(errors="replace").splitlines():
            seq, _, data = line.split("\t", 2)
            present.add((f"{NATS_STREAM}:{seq}", data))
        result.acked, result.lost = len(before), len(before - present)
        result.notes.append(
            f"{NATS_STREAM} snapshot restored into {restored.name} (single node, --replicas 1): "
            f"{len(before) - result.lost} of {len(before)} events acknowledged before the "
            f"snapshot present with the same sequence and payload; {len(present)} messages in all"
        )

    return check
