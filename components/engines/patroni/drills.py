"""Patroni's drills: a primary killed per tier; on the first tier its partition, a point-in-time
restore and a damaged pgBackRest backup; on the smallest tier (cheapest to restart) the whole tier
down and its sync standby's disk full. Its WAL archiving is what the backup host's loss watches."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime

from components.model import Tier, Topology
from tools.drills.disk import FILLER, SmallDisk
from tools.drills.drills import stop_whole_tier
from tools.drills.runner import Ctx, DrillError, Result, log
from tools.drills.template import (
    LEADER_SYNC,
    TIER_DOWN,
    TIER_WIDE,
    Drill,
    Fault,
    Run,
    check_targets,
    kill_member,
    restore_into,
    scheduled_job,
    scratch_container,
    under_load,
)
from tools.http_json import http_json
from tools.novaload.load import read_ledger
from tools.wait import wait_for

PRIMARY_LOST = "failure-patroni-primary-lost.md"
RECOVER_MEMBER = "recover-patroni-member.yml"
MEMBER_DOWN = "PatroniMemberDown"
# psql as postgres over the member's local socket (docker exec): no password, no network.
LOCAL_PSQL = ("runuser", "-u", "postgres", "--", "psql", "-h", "/run/postgresql")
FENCE_INSERT = "INSERT INTO novaload.fence_probe DEFAULT VALUES"
PRIMARY_KILLED = Fault("primary killed")
DISK_FULL = Fault(
    "a replica's data volume full",
    breaks="that replica (it stops replaying); a two-member tier runs without a synchronous copy until it is back",
)


def drills(topology: Topology, tiers: list[Tier]) -> list[Drill]:
    first = tiers[0].key
    # The smallest tier: stopping it costs least to restart; its replica is the primary's only
    # synchronous partner (two members: the worst case for a full disk).
    smallest = min(tiers, key=lambda t: (len(t.members), t.key)).key
    out = [
        Drill(
            f"kill-primary-{t.key}",
            PRIMARY_LOST,
            RECOVER_MEMBER,
            ci=i == 0,
            body=kill_primary(t.key),
            tiers=(t.key,),
            order=LEADER_SYNC,
            fault=PRIMARY_KILLED,
        )
        for i, t in enumerate(tiers)
    ]
    return out + [
        Drill(
            f"partition-primary-{first}",
            "failure-patroni-partition.md",
            RECOVER_MEMBER,
            ci=False,
            body=partition_primary(first),
            tiers=(first,),
            order=TIER_WIDE,
            fault=Fault("primary cut off its network"),
        ),
        Drill(
            f"pitr-{first}",
            "failure-pitr.md",
            "recover-pitr.yml",
            ci=False,
            body=pitr(first),
            tiers=(first,),
            order=TIER_WIDE,
            fault=Fault(
                "data damaged by a bad write (restore to a time)", breaks="the data itself (a bad write or deletion)"
            ),
        ),
        Drill(
            f"tier-down-{smallest}",
            "alert-tier-down.md",
            "recover-tier.yml",
            ci=True,
            body=stop_whole_tier(smallest),
            tiers=(smallest,),
            order=TIER_WIDE,
            fault=TIER_DOWN,
        ),
        Drill(
            f"damage-backup-{first}",
            "alert-backup.md",
            "recover-backup-repo.yml",
            ci=False,
            body=damage_backup(first),
            tiers=(first,),
            order=TIER_WIDE,
            fault=Fault("a backup file corrupted", breaks="restores from that backup set"),
        ),
        Drill(
            f"disk-full-replica-{smallest}",
            "failure-member-disk-full.md",
            RECOVER_MEMBER,
            ci=True,
            body=fill_replica_disk(smallest, tiers[0].engine.data_path),
            tiers=(smallest,),
            order=TIER_WIDE,
            fault=DISK_FULL,
            alert="MemberDiskFull",
        ),
    ]


def archiving(tiers: list[Tier]) -> dict[str, Callable[[Ctx, str], int]]:
    """Every tier archives its WAL to the backup host continuously."""
    return {t.key: archive_failures for t in tiers}


# ---------------------------------------------------------------- the cluster, from Patroni's REST API


def cluster(ctx: Ctx, tier: str) -> dict:
    last: Exception | None = None
    for member in ctx.members(tier):
        try:
            return http_json(f"http://127.0.0.1:{ctx.port(tier, member, 'patroni')}/cluster", timeout=3)
        except Exception as exc:
            last = exc
    raise DrillError(f"{tier}: no Patroni member answers /cluster ({last!r})")


def leader(ctx: Ctx, tier: str) -> str:
    """Container name of the tier's current leader."""
    members = cluster(ctx, tier)["members"]
    leaders = [m["name"] for m in members if m["role"] == "leader" and m.get("state") == "running"]
    if len(leaders) != 1:
        raise DrillError(f"{tier}: expected one running leader, got {members}")
    by_name = {k: v["container"] for k, v in ctx.members(tier).items()}
    return by_name.get(leaders[0], leaders[0])


def healthy(ctx: Ctx, tier: str) -> bool:
    members = cluster(ctx, tier)["members"]
    running = [m for m in members if m.get("state") in ("running", "streaming")]
    return (
        len(running) == len(ctx.members(tier))
        and sum(m["role"] == "leader" for m in members) == 1
        and any(m["role"] == "sync_standby" and m.get("state") == "streaming" for m in members)
    )


def archive_failures(ctx: Ctx, tier: str) -> int:
    """pg_stat_archiver.failed_count on the tier's primary (local socket, through docker exec)."""
    ran = ctx.container(leader(ctx, tier)).exec_run(
        [*LOCAL_PSQL, "-d", "postgres", "-Atc", "SELECT failed_count FROM pg_stat_archiver"]
    )
    if ran.exit_code != 0:
        raise DrillError(f"pg_stat_archiver on {tier}: {ran.output.decode()[-300:]}")
    return int(ran.output.decode().strip() or 0)


# ---------------------------------------------------------------- the primary killed


def kill_primary(tier: str) -> Callable[[Ctx, Result], None]:
    return kill_member(
        tier,
        lambda ctx: leader(ctx, tier),
        MEMBER_DOWN,
        lambda name: {"member": name},
        lambda ctx, name: f"{name} killed, {leader(ctx, tier)} promoted; {name} back as replica",
        role="the primary",
    )


# ---------------------------------------------------------------- the primary partitioned


def reconnect(ctx: Ctx, container: str, networks: list[str]) -> None:
    if networks:
        log(f"reconnect {container} to {networks}")
    while networks:
        ctx.docker.networks.get(networks.pop(0)).connect(container)


class FenceProbe:
    """Writes on the old primary itself (local socket, through docker exec: it has no network);
    acknowledged = psql returned success within 10 s."""

    def __init__(self, container):
        self.container = container
        self.acked_after_cut = 0
        self.readonly_at: float | None = None
        self.stopped = False
        self.thread: threading.Thread | None = None
        self.insert = ["timeout", "10", *LOCAL_PSQL, "-d", "nova", "-v", "ON_ERROR_STOP=1", "-Atc", FENCE_INSERT]

    def create_table(self, name: str) -> None:
        created = self.container.exec_run(
            [
                "timeout",
                "60",
                *self.insert[2:-1],
                "CREATE TABLE IF NOT EXISTS novaload.fence_probe (at timestamptz NOT NULL DEFAULT now())",
            ]
        )
        if created.exit_code != 0:
            raise DrillError(f"fence probe table on {name}: {created.output.decode()[-300:]}")

    def start(self, cut_at: float) -> None:
        self.thread = threading.Thread(target=self.probe, args=(cut_at,), daemon=True)
        self.thread.start()

    def probe(self, cut_at: float) -> None:
        deadline = time.time() + 150
        while not self.stopped and time.time() < deadline:
            ran = self.container.exec_run(self.insert)
            out = ran.output.decode(errors="replace")
            if ran.exit_code == 0 and time.time() > cut_at + 0.5:
                self.acked_after_cut += 1
            elif "read-only" in out and self.readonly_at is None:
                self.readonly_at = time.time() - cut_at
            time.sleep(0.5)

    def stop(self, join: float | None = None) -> None:
        self.stopped = True
        if join and self.thread:
            self.thread.join(join)


def partition_primary(tier: str) -> Callable[[Ctx, Result], None]:
    def body(ctx: Ctx, result: Result) -> None:
        cut: list[str] = []
        old = ""
        fence: FenceProbe | None = None
        with under_load(ctx, result, [tier]) as run:
            try:
                old = leader(ctx, tier)
                service = ctx.member_key(tier, old)
                container = ctx.container(old)
                # Every network, its edge network included: the tier's members share that one too, so a
                # member left on any of them still reaches its replicas by name (no partition at all).
                networks = list(container.attrs["NetworkSettings"]["Networks"])
                fence = FenceProbe(container)
                fence.create_table(old)

                def disconnect() -> None:
                    for network in networks:
                        ctx.docker.networks.get(network).disconnect(old)
                        cut.append(network)

                run.fault(f"{tier}: disconnect {old} (the primary) from {networks}", disconnect)
                fence.start(run.applied_at)
                result.rto_s = run.rto(tier)
                run.detect(MEMBER_DOWN, {"service": service})
                wait_for(
                    lambda: fence.readonly_at is not None, 60, what=f"{old} refusing writes (demoted)", error=DrillError
                )
                fence.stop(join=10)
                reconnect(ctx, old, cut)
                run.recover({"member": old})
            finally:
                if fence:
                    fence.stop()
                reconnect(ctx, old, cut)  # whatever happened, the stack is left connected
        rewound = "pg_rewind" in ctx.container(old).logs(since=int(run.fault_at)).decode(errors="replace")
        result.notes.append(
            f"old primary {old}: {fence.acked_after_cut} writes acknowledged after the cut, "
            f"read-only {fence.readonly_at and round(fence.readonly_at, 1)} s after it; "
            f"rejoined as replica{' via pg_rewind' if rewound else ' (no pg_rewind in its log)'}"
        )
        if fence.acked_after_cut:
            result.fail(f"old primary acknowledged {fence.acked_after_cut} writes after the cut")
        check_targets(result)

    return body


# ---------------------------------------------------------------- point-in-time restore


def pitr(tier: str) -> Callable[[Ctx, Result], None]:
    def body(ctx: Ctx, result: Result) -> None:
        target = scratch_container(ctx, tier, "pitr")
        with under_load(ctx, result, None, tiers=[tier], duration=90) as run:
            time.sleep(5)
            target_at = time.time()
            log(f"{tier}: restore target {datetime.fromtimestamp(target_at, UTC).isoformat()}")
            time.sleep(10)
        header, acks, _, _ = read_ledger(run.load.ledger)
        before = {a["k"] for a in acks if a["t"] == tier and a["ack"] < target_at}
        after = {a["k"] for a in acks if a["t"] == tier and a["start"] > target_at}
        target_time = datetime.fromtimestamp(target_at, UTC).strftime("%Y-%m-%d %H:%M:%S.%f+00")
        with restore_into(
            ctx, result, target, {"tier": tier, "target_time": target_time, "restore_container": target}
        ) as restored:
            out = restored.exec_run(
                [
                    "psql",
                    "-h",
                    "/tmp",
                    "-U",
                    "postgres",
                    "-d",
                    "nova",
                    "-At",
                    "-c",
                    f"SELECT key FROM novaload.sessions WHERE run = '{header['run']}'",
                ],
                user="postgres",
            )
            if out.exit_code != 0:
                raise DrillError(f"query on {target} failed: {out.output.decode()[-500:]}")
            present = set(out.output.decode().split())
        result.acked = len(before)
        result.lost = len(before - present)
        leaked = len(after & present)
        result.notes.append(
            f"restored into fresh container {target} (removed after the check): {len(before)} rows "
            f"acknowledged before the target all {'present' if not result.lost else 'NOT present'}; "
            f"{leaked} of {len(after)} rows written after the target present (must be 0); "
            "MTTR = restore playbook wall time"
        )
        if leaked:
            result.fail(f"{leaked} rows from after the target time were restored")
        check_targets(result, rto=False, detection=False)

    return body


# ---------------------------------------------------------------- a damaged backup repository


def damage_backup(tier: str) -> Callable[[Ctx, Result], None]:
    def body(ctx: Ctx, result: Result) -> None:
        stanza = f"{ctx.stack}-{tier}"
        backup = ctx.container(ctx.topology.backup.container)
        verify_job = scheduled_job(ctx, "/etc/cron.d/novaops-pgbackrest", f"pgbackrest-{tier}-verify")
        # The largest file of the newest backup set: flip bytes in its middle (encrypted + compressed:
        # any change breaks its checksum in the manifest).
        find = backup.exec_run(
            [
                "sh",
                "-c",
                f"d=$(ls -d /srv/backup/pgbackrest/backup/{stanza}/2*F* | tail -1); "
                "find \"$d\" -type f -name '*.zst' -printf '%s %p\\n' | sort -n | tail -1",
            ]
        )
        size, path = find.output.decode().split()
        run = Run(ctx, result)
        run.fault(
            f"{tier}: corrupt {path} ({size} bytes) in the pgBackRest repository",
            lambda: backup.exec_run(
                ["sh", "-c", f"printf 'novaops-drill' | dd of={path} bs=1 seek={int(size) // 2} conv=notrunc"]
            ),
        )
        log(f"{tier}: run the scheduled verify job now: {verify_job}")
        ran = backup.exec_run(["sh", "-c", verify_job])
        result.notes.append(
            f"corrupted {path.rsplit('/', 3)[-3]}/.../{path.rsplit('/', 1)[-1]}; verify job exit "
            f"{ran.exit_code} (detection counts from the damage, with the verify job run right after "
            "it: in production it runs daily, pgbackrest_schedule_verify)"
        )
        if ran.exit_code == 0:
            result.fail("pgbackrest verify did not detect the damage")
        run.detect("BackupCheckFailed", {"target": tier, "check": "verify"})
        run.recover({"tool": "pgbackrest", "tier": tier}, settle=0)
        result.acked = result.lost = 0
        check_targets(result, rto=False, loss=False)

    return body


# ---------------------------------------------------------------- the sync standby's disk full


def fill_replica_disk(tier: str, data_path: str) -> Callable[[Ctx, Result], None]:
    """The sync standby's data volume fills up under the workload. The primary must stop waiting
    for it and go on accepting writes; MemberDiskFull must reach the receiver; recovery (free the
    space, recover-patroni-member.yml) must bring it back streaming."""

    def body(ctx: Ctx, result: Result) -> None:
        sync = [m["name"] for m in cluster(ctx, tier)["members"] if m["role"] == "sync_standby"]
        if not sync:
            raise DrillError(f"{tier}: no sync standby to fill ({cluster(ctx, tier)['members']})")
        # Patroni names members after their containers.
        victim = sync[0]
        service = ctx.member_key(tier, victim)
        disk = SmallDisk(ctx, victim, data_path)
        try:
            # Set-up, not timed: the member moves onto a small disk and must be sync standby again.
            size_mb = disk.shrink()
            log(f"{tier}: {victim} restarted on a {size_mb} MiB tmpfs")
            wait_for(
                lambda: (
                    healthy(ctx, tier)
                    and any(m["name"] == victim and m["role"] == "sync_standby" for m in cluster(ctx, tier)["members"])
                ),
                120,
                2,
                what=f"{victim} streaming as sync standby on the small disk",
                error=DrillError,
            )
            with under_load(ctx, result, [tier]) as run:
                run.fault(f"{tier}: fill {victim}'s data volume", disk.fill)
                first_ack = run.rto(tier)
                run.detect("MemberDiskFull", {"service": service})
                logs = ctx.container(victim).logs(since=int(run.fault_at)).decode(errors="replace")
                crashed = "No space left on device" in logs
                roles = {m["name"]: (m["role"], m.get("state")) for m in cluster(ctx, tier)["members"]}
                log(f"{tier}: runbook step 1, free the space (remove {FILLER})")
                disk.free()
                run.recover({"member": victim})
            # Writes are not refused here but may wait for the lost sync standby until Patroni
            # drops it: RTO is the longest wait of a write issued between the fault and recovery.
            fault_at, load = run.fault_at, run.load
            longest = load.longest_wait(tier, fault_at, fault_at + result.mttr_s) if result.mttr_s else None
            result.rto_s = max(first_ack, longest) if first_ack is not None and longest is not None else None
            failed = load.failed_after(tier, fault_at, fault_at + (result.mttr_s or 0))
            enospc = "No space left on device in its log (it crash-loops)" if crashed else "no ENOSPC in its log"
            result.notes.append(
                f"RTO = longest wait of a {tier} write issued during the fault ({failed} refused); "
                f"{victim} (sync standby) on a {size_mb} MiB tmpfs, filled: {enospc}; "
                f"members while full: {roles}"
            )
        finally:
            disk.restore()
            wait_for(
                lambda: healthy(ctx, tier),
                180,
                2,
                what=f"{tier} healthy with {victim} back on its volume",
                error=DrillError,
            )
        check_targets(result)

    return body
