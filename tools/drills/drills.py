"""The drills. Each injects one fault under the workload, measures detection / RTO / losses,
recovers with the playbook its runbook names, and leaves the stack healthy.

Tiers and members come from the stack outputs (never restated): one primary-kill drill per
Patroni tier, the Valkey drills for each Valkey tier, and so on.
"""
from __future__ import annotations

import os
import subprocess
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Callable

from tools.drills.runner import (TARGET_DETECTION_S, TARGET_MTTR_S, TARGET_RTO_S, Ctx, DrillError, Load, Result,
                                 log, wait_for)


@dataclass(frozen=True)
class Drill:
    name: str
    runbook: str            # runbooks/<file>
    playbook: str | None    # ansible/playbooks/<file>, the one the runbook names
    ci: bool                # part of the CI subset (tests/e2e/test_drills.py)
    run: Callable[[Ctx, Result], None]
    alert: str | None = None   # the alert it waits for, where its runbook covers several


def member_key(ctx: Ctx, tier: str, container: str) -> str:
    return next(k for k, m in ctx.members(tier).items() if m["container"] == container)


def check_targets(result: Result, rto: bool = True, loss: bool = True, detection: bool = True) -> None:
    if detection and (result.detection_s is None or result.detection_s > TARGET_DETECTION_S):
        result.fail(f"detection {result.detection_s:.1f} s > {TARGET_DETECTION_S:.0f} s" if result.detection_s
                    else f"{result.alert} did not reach the receiver")
    if rto and (result.rto_s is None or result.rto_s > TARGET_RTO_S):
        result.fail(f"RTO {'unbounded' if result.rto_s is None else f'{result.rto_s:.1f}'} s > {TARGET_RTO_S:.0f} s")
    if loss and result.lost:
        result.fail(f"{result.lost} acknowledged writes lost")
    if result.mttr_s is None or result.mttr_s > TARGET_MTTR_S:
        result.fail(f"MTTR {'unbounded' if result.mttr_s is None else f'{result.mttr_s:.1f}'} s >= {TARGET_MTTR_S:.0f} s")


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
        wait_for(lambda: load.rto(tier, applied_at, time.time()) is not None, timeout, 0.5,
                 what=f"{tier}: writes acknowledged again")
    except DrillError:
        return None
    return load.rto(tier, applied_at, time.time()) + applied_at - (since if since is not None else applied_at)


def kill_and_time_writes(ctx: Ctx, container: str, load: Load, watched: list[str], result: Result) -> float:
    """Kill ``container``; result.rto_s = the worst of ``watched`` tiers' time to the next acknowledged
    write (None if one never came back within 60 s). Returns the fault's start."""
    fault_at = time.time()
    ctx.container(container).kill()
    killed_at = time.time()
    rtos = {t: wait_rto(load, t, killed_at, timeout=60, since=fault_at) for t in watched}
    known = [v for v in rtos.values() if v is not None]
    result.rto_s = max(known) if len(known) == len(rtos) else None
    return fault_at


# ---------------------------------------------------------------- Patroni primary killed


def kill_patroni_primary(tier: str) -> Callable[[Ctx, Result], None]:
    def run(ctx: Ctx, result: Result) -> None:
        result.tiers = [tier]
        load = Load(ctx, result.drill)
        try:
            load.wait_acks(300)
            leader = ctx.patroni_leader(tier)
            service = member_key(ctx, tier, leader)
            log(f"{tier}: docker kill {leader} (the primary)")
            fault_at = time.time()
            ctx.container(leader).kill()
            # RTO counts writes started once the kill has returned (the API call itself takes time).
            result.rto_s = wait_rto(load, tier, time.time(), since=fault_at)
            result.alert = "PatroniMemberDown"
            result.detection_s = ctx.wait_alert("PatroniMemberDown", fault_at, {"service": service})
            ctx.playbook(result.playbook, {"member": leader}, result)
            result.mttr_s = time.time() - fault_at
            time.sleep(3)
        finally:
            load.stop()
        record_losses(result, load, [tier])
        new_leader = ctx.patroni_leader(tier)
        result.notes.append(f"{leader} killed, {new_leader} promoted; {leader} back as replica")
        check_targets(result)
    return run


# ---------------------------------------------------------------- Valkey master killed


def kill_valkey_master(tier: str) -> Callable[[Ctx, Result], None]:
    def run(ctx: Ctx, result: Result) -> None:
        result.tiers = [tier]
        load = Load(ctx, result.drill)
        try:
            load.wait_acks(300)
            master = ctx.valkey_master(tier)
            service = member_key(ctx, tier, master)
            log(f"{tier}: docker kill {master} (the master)")
            fault_at = time.time()
            ctx.container(master).kill()
            result.rto_s = wait_rto(load, tier, time.time(), since=fault_at)
            result.alert = "ValkeyMemberDown"
            result.detection_s = ctx.wait_alert("ValkeyMemberDown", fault_at, {"service": service})
            ctx.playbook(result.playbook, {"member": master}, result)
            result.mttr_s = time.time() - fault_at
            time.sleep(3)
        finally:
            load.stop()
        record_losses(result, load, [tier])
        result.notes.append(f"{master} killed, Sentinel promoted {ctx.valkey_master(tier)}; Valkey replicates "
                            "asynchronously: writes acknowledged by the old master in its last moments may be lost "
                            "(bounded by min-replicas-max-lag)")
        check_targets(result, loss=False)
    return run


# ---------------------------------------------------------------- PostgreSQL primary partitioned


def reconnect(ctx: Ctx, container: str, networks: list[str]) -> None:
    if networks:
        log(f"reconnect {container} to {networks}")
    while networks:
        ctx.docker.networks.get(networks.pop(0)).connect(container)


def partition_patroni_primary(tier: str) -> Callable[[Ctx, Result], None]:
    def run(ctx: Ctx, result: Result) -> None:
        result.tiers = [tier]
        load = Load(ctx, result.drill)
        fence = {"acked_after_cut": 0, "readonly_at": None, "stop": False}
        cut: list[str] = []
        leader = ""
        try:
            load.wait_acks(300)
            leader = ctx.patroni_leader(tier)
            service = member_key(ctx, tier, leader)
            container = ctx.container(leader)
            # Every network, the edge bridge included: all containers share it, so a member left on
            # it still reaches etcd and its replicas by name (no partition at all).
            networks = list(container.attrs["NetworkSettings"]["Networks"])
            insert = ["timeout", "10", "runuser", "-u", "postgres", "--", "psql", "-h", "/run/postgresql", "-d", "nova",
                      "-v", "ON_ERROR_STOP=1", "-Atc", "INSERT INTO novaload.fence_probe DEFAULT VALUES"]
            created = container.exec_run(["timeout", "60", *insert[2:-1], "CREATE TABLE IF NOT EXISTS novaload.fence_probe "
                                                        "(at timestamptz NOT NULL DEFAULT now())"])
            if created.exit_code != 0:
                raise DrillError(f"fence probe table on {leader}: {created.output.decode()[-300:]}")

            def probe(cut_at: float) -> None:
                # Writes on the old primary itself (local socket, through docker exec: it has no
                # network); acknowledged = psql returned success within 10 s.
                deadline = time.time() + 150
                while not fence["stop"] and time.time() < deadline:
                    ran = container.exec_run(insert)
                    out = ran.output.decode(errors="replace")
                    if ran.exit_code == 0 and time.time() > cut_at + 0.5:
                        fence["acked_after_cut"] += 1
                    elif "read-only" in out and fence["readonly_at"] is None:
                        fence["readonly_at"] = time.time() - cut_at
                    time.sleep(0.5)

            log(f"{tier}: disconnect {leader} (the primary) from {networks}")
            fault_at = time.time()
            for network in networks:
                ctx.docker.networks.get(network).disconnect(leader)
                cut.append(network)
            cut_at = time.time()
            prober = threading.Thread(target=probe, args=(cut_at,), daemon=True)
            prober.start()
            result.rto_s = wait_rto(load, tier, cut_at, since=fault_at)
            result.alert = "PatroniMemberDown"
            result.detection_s = ctx.wait_alert("PatroniMemberDown", fault_at, {"service": service})
            wait_for(lambda: fence["readonly_at"] is not None, 60, what=f"{leader} refusing writes (demoted)")
            fence["stop"] = True
            prober.join(10)
            reconnect(ctx, leader, cut)
            ctx.playbook(result.playbook, {"member": leader}, result)
            result.mttr_s = time.time() - fault_at
            time.sleep(3)
        finally:
            fence["stop"] = True
            reconnect(ctx, leader, cut)   # whatever happened, the stack is left connected
            load.stop()
        record_losses(result, load, [tier])
        rewound = "pg_rewind" in ctx.container(leader).logs(since=int(fault_at)).decode(errors="replace")
        result.notes.append(f"old primary {leader}: {fence['acked_after_cut']} writes acknowledged after the cut, "
                            f"read-only {fence['readonly_at'] and round(fence['readonly_at'], 1)} s after it; "
                            f"rejoined as replica{' via pg_rewind' if rewound else ' (no pg_rewind in its log)'}")
        if fence["acked_after_cut"]:
            result.fail(f"old primary acknowledged {fence['acked_after_cut']} writes after the cut")
        check_targets(result)
    return run


# ---------------------------------------------------------------- a whole tier stopped


def stop_whole_tier(tier: str) -> Callable[[Ctx, Result], None]:
    def run(ctx: Ctx, result: Result) -> None:
        result.tiers = [tier]
        members = [m["container"] for m in ctx.members(tier).values()]
        load = Load(ctx, result.drill)
        try:
            load.wait_acks(300)
            # Killed together (host or power loss): a graceful stop of a Patroni primary takes seconds
            # longer than its replicas', and a member down alone is rightly a member alert.
            log(f"{tier}: docker kill {' '.join(members)} (all at once)")
            fault_at = time.time()
            stoppers = [threading.Thread(target=ctx.container(m).kill) for m in members]
            for t in stoppers:
                t.start()
            for t in stoppers:
                t.join(30)
            stopped_at = time.time()
            result.alert = "TierDown"
            result.detection_s = ctx.wait_alert("TierDown", fault_at, {"tier": tier})
            # Inhibition: member alerts of the tier must not reach the receiver (give them a group_wait + margin).
            time.sleep(30)
            others = sorted({a["labels"]["alertname"] for a in ctx.received_alerts(fault_at)
                             if a["labels"].get("tier") == tier and a["labels"]["alertname"] != "TierDown"
                             and a.get("status") == "firing"})
            leaked = [name for name in others if name.endswith("MemberDown")]
            result.notes.append(f"member alerts of tier {tier} at the receiver: {leaked or 'none (inhibited)'}; "
                                f"other alerts of the tier delivered: {[n for n in others if n not in leaked] or 'none'}")
            if leaked:
                result.fail(f"not inhibited: {leaked}")
            ctx.playbook(result.playbook, {"tier": tier}, result)
            result.mttr_s = time.time() - fault_at
            result.rto_s = wait_rto(load, tier, stopped_at, since=fault_at)
            time.sleep(3)
        finally:
            load.stop()
        record_losses(result, load, [tier])
        # The tier is down until an operator acts: RTO includes the recovery, so only MTTR is held to a target.
        check_targets(result, rto=False)
    return run


# ---------------------------------------------------------------- point-in-time restore


def pitr(tier: str) -> Callable[[Ctx, Result], None]:
    def run(ctx: Ctx, result: Result) -> None:
        result.tiers = [tier]
        target = f"novaops-{ctx.stack}-{tier}-pitr"
        load = Load(ctx, result.drill, tiers=[tier], duration=90)
        try:
            load.wait_acks(300)
            time.sleep(5)
            target_at = time.time()
            log(f"{tier}: restore target {datetime.fromtimestamp(target_at, timezone.utc).isoformat()}")
            time.sleep(10)
        finally:
            load.stop()
        from tools.novaload.load import read_ledger
        header, acks, _, _ = read_ledger(load.ledger)
        before = {a["k"] for a in acks if a["t"] == tier and a["ack"] < target_at}
        after = {a["k"] for a in acks if a["t"] == tier and a["start"] > target_at}
        started = time.time()
        ctx.playbook(result.playbook, {"tier": tier, "target_time": datetime.fromtimestamp(target_at, timezone.utc)
                                       .strftime("%Y-%m-%d %H:%M:%S.%f+00"), "restore_container": target}, result)
        result.mttr_s = time.time() - started
        try:
            out = ctx.container(target).exec_run(
                ["psql", "-h", "/tmp", "-U", "postgres", "-d", "nova", "-At", "-c",
                 f"SELECT key FROM novaload.sessions WHERE run = '{header['run']}'"], user="postgres")
            if out.exit_code != 0:
                raise DrillError(f"query on {target} failed: {out.output.decode()[-500:]}")
            restored = set(out.output.decode().split())
        finally:
            ctx.docker.containers.get(target).remove(force=True, v=True)
        result.acked = len(before)
        result.lost = len(before - restored)
        leaked = len(after & restored)
        result.notes.append(f"restored into fresh container {target} (removed after the check): {len(before)} rows "
                            f"acknowledged before the target all {'present' if not result.lost else 'NOT present'}; "
                            f"{leaked} of {len(after)} rows written after the target present (must be 0); "
                            "MTTR = restore playbook wall time")
        if leaked:
            result.fail(f"{leaked} rows from after the target time were restored")
        check_targets(result, rto=False, detection=False)
    return run


# ---------------------------------------------------------------- a NATS node / an etcd member lost


def nats_stream_leader(ctx: Ctx, tier: str, stream: str) -> str:
    """Container name of the node leading ``stream`` (JetStream's own /jsz), else the meta leader."""
    from tools.drills.runner import http_json
    for member in ctx.members(tier):
        try:
            jsz = http_json("127.0.0.1", ctx.port(tier, member, "monitor"), "/jsz?accounts=true&streams=true", timeout=3)
        except Exception:  # noqa: BLE001 - ask the next node
            continue
        for account in jsz.get("account_details") or []:
            for detail in account.get("stream_detail") or []:
                if detail.get("name") == stream and (detail.get("cluster") or {}).get("leader"):
                    return detail["cluster"]["leader"]
        if (jsz.get("meta_cluster") or {}).get("leader"):
            return jsz["meta_cluster"]["leader"]
    raise DrillError(f"{tier}: no NATS node answers /jsz")


def lose_cluster_member(tier: str, engine: str) -> Callable[[Ctx, Result], None]:
    alert = {"nats": "NatsMemberDown", "etcd": "EtcdMemberDown"}[engine]

    def run(ctx: Ctx, result: Result) -> None:
        from tools.novaload.tiers import NATS_STREAM
        result.tiers = [tier]
        # etcd has no workload of its own: its clients are the Patroni tiers, which must keep writing.
        watched = [tier] if engine == "nats" else ctx.tiers("patroni")
        load = Load(ctx, result.drill)
        try:
            load.wait_acks(300)
            victim = (nats_stream_leader(ctx, tier, NATS_STREAM) if engine == "nats"
                      else f"novaops-{ctx.stack}-{tier}-{len(ctx.members(tier))}")
            service = member_key(ctx, tier, victim)
            log(f"{tier}: docker kill {victim}")
            fault_at = kill_and_time_writes(ctx, victim, load, watched, result)
            result.alert = alert
            result.detection_s = ctx.wait_alert(alert, fault_at, {"service": service})
            ctx.playbook(result.playbook, {"tier": tier}, result)
            result.mttr_s = time.time() - fault_at
            time.sleep(3)
        finally:
            load.stop()
        record_losses(result, load, watched)
        result.notes.append(f"{victim} killed" + (" (leader of " + NATS_STREAM + ")" if engine == "nats" else "")
                            + f"; RTO = worst of {', '.join(watched)}")
        check_targets(result, rto=engine == "nats")
    return run


# ---------------------------------------------------------------- a damaged backup repository


def scheduled_job(ctx: Ctx, cron_file: str, job: str, marker: str | None = None) -> str:
    """The command line cron runs for ``job`` (schedule, user and output redirection removed); the
    line is the one holding ``--job <job> ``, or ``marker`` when given."""
    backup = ctx.container(f"novaops-{ctx.stack}-backup")
    text = backup.exec_run(["cat", cron_file]).output.decode()
    for line in text.splitlines():
        if (marker or f"--job {job} ") in line and not line.lstrip().startswith("#"):
            return " ".join(line.split()[6:]).replace(" >/dev/null 2>&1", "")
    raise DrillError(f"{cron_file} on the backup host has no job {job}")


def damage_pgbackrest(tier: str) -> Callable[[Ctx, Result], None]:
    def run(ctx: Ctx, result: Result) -> None:
        result.tiers = [tier]
        stanza = f"{ctx.stack}-{tier}"
        backup = ctx.container(f"novaops-{ctx.stack}-backup")
        verify_job = scheduled_job(ctx, "/etc/cron.d/novaops-pgbackrest", f"pgbackrest-{tier}-verify")
        # The largest file of the newest backup set: flip bytes in its middle (encrypted + compressed:
        # any change breaks its checksum in the manifest).
        find = backup.exec_run(["sh", "-c", f"d=$(ls -d /srv/backup/pgbackrest/backup/{stanza}/2*F* | tail -1); "
                                            "find \"$d\" -type f -name '*.zst' -printf '%s %p\\n' | sort -n | tail -1"])
        size, path = find.output.decode().split()
        log(f"{tier}: corrupt {path} ({size} bytes) in the pgBackRest repository")
        fault_at = time.time()
        backup.exec_run(["sh", "-c", f"printf 'novaops-drill' | dd of={path} bs=1 seek={int(size) // 2} conv=notrunc"])
        log(f"{tier}: run the scheduled verify job now: {verify_job}")
        ran = backup.exec_run(["sh", "-c", verify_job])
        result.notes.append(f"corrupted {path.rsplit('/', 3)[-3]}/.../{path.rsplit('/', 1)[-1]}; verify job exit {ran.exit_code} "
                            "(detection counts from the damage, with the verify job run right after it: "
                            "in production it runs daily, pgbackrest_schedule_verify)")
        if ran.exit_code == 0:
            result.fail("pgbackrest verify did not detect the damage")
        result.alert = "BackupCheckFailed"
        result.detection_s = ctx.wait_alert("BackupCheckFailed", fault_at, {"target": tier, "check": "verify"})
        ctx.playbook(result.playbook, {"tool": "pgbackrest", "tier": tier}, result)
        result.mttr_s = time.time() - fault_at
        result.acked = result.lost = 0
        check_targets(result, rto=False, loss=False)
    return run


# ---------------------------------------------------------------- the backup host lost


def archiver_failures(ctx: Ctx, tier: str) -> int:
    """pg_stat_archiver.failed_count on the tier's primary (local socket, through docker exec)."""
    ran = ctx.container(ctx.patroni_leader(tier)).exec_run(
        ["runuser", "-u", "postgres", "--", "psql", "-h", "/run/postgresql", "-d", "postgres", "-Atc",
         "SELECT failed_count FROM pg_stat_archiver"])
    if ran.exit_code != 0:
        raise DrillError(f"pg_stat_archiver on {tier}: {ran.output.decode()[-300:]}")
    return int(ran.output.decode().strip() or 0)


def lose_backup_host() -> Callable[[Ctx, Result], None]:
    """The backup host killed under the workload: backups and WAL archiving stop (the stale-backup
    fear). Writes must go on (archiving is asynchronous); BackupHostDown must reach the receiver;
    recovery must prove archiving caught up (pgbackrest check on every tier)."""
    def run(ctx: Ctx, result: Result) -> None:
        tiers = ctx.tiers("patroni")
        result.tiers = tiers
        backup = f"novaops-{ctx.stack}-backup"
        failed_before = {t: archiver_failures(ctx, t) for t in tiers}
        load = Load(ctx, result.drill, tiers=tiers)
        try:
            load.wait_acks(300)
            log(f"docker kill {backup} (the backup host)")
            fault_at = kill_and_time_writes(ctx, backup, load, tiers, result)
            result.alert = "BackupHostDown"
            result.detection_s = ctx.wait_alert("BackupHostDown", fault_at, {})
            failed_during = {t: archiver_failures(ctx, t) - failed_before[t] for t in tiers}
            ctx.playbook(result.playbook, {}, result)
            result.mttr_s = time.time() - fault_at
            time.sleep(3)
        finally:
            if ctx.container(backup).status != "running":   # whatever happened, the host is left running
                ctx.container(backup).start()
            load.stop()
        record_losses(result, load, tiers)
        result.notes.append(f"WAL archive attempts that failed while the host was down: {failed_during}; "
                            "recovery ran every tier's scheduled pgbackrest check (a forced WAL switch archived) "
                            "and restic check; RTO = worst time to the next acknowledged write of the Patroni tiers")
        check_targets(result)
    return run


# ---------------------------------------------------------------- a replica's disk full


FILLER = "novaops-drill-filler"


class SmallDisk:
    """The member's data volume moved onto a tmpfs of its used size + ``headroom_mb`` for the
    drill, and back onto the docker host's disk after it (docker keeps the volume; its directory
    gets the tmpfs bind-mounted over it while the container is stopped). A real volume shares the
    docker host's disk, which a drill must not fill. Needs root on the docker host itself."""

    def __init__(self, ctx: Ctx, container: str, headroom_mb: int = 256):
        self.ctx, self.container, self.headroom_mb = ctx, container, headroom_mb
        from components.kinds import DATABASE_ENGINES
        data_path = DATABASE_ENGINES["patroni"].data_path
        mounts = [m for m in ctx.container(container).attrs["Mounts"] if m.get("Destination") == data_path]
        if not mounts or mounts[0].get("Type") != "volume":
            raise DrillError(f"{container}: no data volume at {data_path}")
        self.source = mounts[0]["Source"]       # the volume's directory on the docker host
        self.tmpfs = f"/run/{container}-drill-disk"
        if os.geteuid() != 0 or not os.path.isdir(self.source):
            raise DrillError(f"{container}: the disk-full drill mounts a small tmpfs over {self.source}: it needs "
                             "root on the docker host itself (not a remote DOCKER_HOST)")
        if os.path.ismount(self.source) or os.path.ismount(self.tmpfs):
            raise DrillError(f"{self.source} or {self.tmpfs} is a mount point already (a drill left it?): "
                             "stop the member, copy the tmpfs back, umount both")

    @staticmethod
    def sh(*argv: str) -> str:
        ran = subprocess.run(argv, capture_output=True, text=True, timeout=300)
        if ran.returncode != 0:
            raise DrillError(f"{' '.join(argv)}: {ran.stderr.strip()[-300:]}")
        return ran.stdout

    def shrink(self) -> int:
        """Stop the member, copy its volume onto the tmpfs, start it there. Returns the tmpfs size (MiB)."""
        container = self.ctx.container(self.container)
        container.stop(timeout=30)
        used_mb = int(self.sh("du", "-sxm", self.source).split()[0])
        size_mb = used_mb + self.headroom_mb
        os.makedirs(self.tmpfs, exist_ok=True)
        self.sh("mount", "-t", "tmpfs", "-o", f"size={size_mb}m,mode=0755", "tmpfs", self.tmpfs)
        self.sh("cp", "-a", f"{self.source}/.", f"{self.tmpfs}/")
        self.sh("mount", "--bind", self.tmpfs, self.source)
        container.start()
        return size_mb

    def fill(self) -> None:
        """Write a file next to data/ until the volume is full (dd stops at ENOSPC)."""
        subprocess.run(["dd", "if=/dev/zero", f"of={self.source}/{FILLER}", "bs=1M", "status=none"],
                       capture_output=True, timeout=120)

    def free(self) -> None:
        if os.path.exists(f"{self.source}/{FILLER}"):
            os.remove(f"{self.source}/{FILLER}")

    def restore(self) -> None:
        """Stop the member, copy the tmpfs back over the volume's directory, start it."""
        if not os.path.ismount(self.tmpfs):
            return
        self.free()
        container = self.ctx.container(self.container)
        container.stop(timeout=30)
        if os.path.ismount(self.source):
            self.sh("umount", self.source)
        if os.path.ismount(self.source):    # never delete through the bind mount
            raise DrillError(f"{self.source} still a mount point; the data is in {self.tmpfs}")
        self.sh("find", self.source, "-mindepth", "1", "-delete")
        self.sh("cp", "-a", f"{self.tmpfs}/.", f"{self.source}/")
        self.sh("umount", self.tmpfs)
        os.rmdir(self.tmpfs)
        container.start()


def fill_replica_disk(tier: str) -> Callable[[Ctx, Result], None]:
    """The sync standby's data volume fills up under the workload. The primary must stop waiting
    for it and go on accepting writes; MemberDiskFull must reach the receiver; recovery (free the
    space, recover-patroni-member.yml) must bring it back streaming."""
    def run(ctx: Ctx, result: Result) -> None:
        result.tiers = [tier]
        sync = [m["name"] for m in ctx.patroni_cluster(tier)["members"] if m["role"] == "sync_standby"]
        if not sync:
            raise DrillError(f"{tier}: no sync standby to fill ({ctx.patroni_cluster(tier)['members']})")
        # Patroni names members after their containers.
        victim = sync[0]
        service = member_key(ctx, tier, victim)
        disk = SmallDisk(ctx, victim)
        try:
            # Set-up, not timed: the member moves onto a small disk and must be sync standby again.
            size_mb = disk.shrink()
            log(f"{tier}: {victim} restarted on a {size_mb} MiB tmpfs")
            wait_for(lambda: ctx.patroni_healthy(tier) and any(
                m["name"] == victim and m["role"] == "sync_standby" for m in ctx.patroni_cluster(tier)["members"]),
                120, 2, what=f"{victim} streaming as sync standby on the small disk")
            load = Load(ctx, result.drill)
            try:
                load.wait_acks(300)
                log(f"{tier}: fill {victim}'s data volume")
                fault_at = time.time()
                disk.fill()
                first_ack = wait_rto(load, tier, time.time(), since=fault_at)
                result.alert = "MemberDiskFull"
                result.detection_s = ctx.wait_alert("MemberDiskFull", fault_at, {"service": service})
                crashed = "No space left on device" in ctx.container(victim).logs(since=int(fault_at)).decode(errors="replace")
                roles = {m["name"]: (m["role"], m.get("state")) for m in ctx.patroni_cluster(tier)["members"]}
                log(f"{tier}: runbook step 1, free the space (remove {FILLER})")
                disk.free()
                ctx.playbook(result.playbook, {"member": victim}, result)
                result.mttr_s = time.time() - fault_at
                time.sleep(3)
            finally:
                load.stop()
            # Writes are not refused here but may wait for the lost sync standby until Patroni
            # drops it: RTO is the longest wait of a write issued between the fault and recovery.
            longest = load.longest_wait(tier, fault_at, fault_at + result.mttr_s) if result.mttr_s else None
            result.rto_s = max(first_ack, longest) if first_ack is not None and longest is not None else None
            failed = load.failed_after(tier, fault_at, fault_at + (result.mttr_s or 0))
            record_losses(result, load, [tier])
            result.notes.append(f"RTO = longest wait of a {tier} write issued during the fault ({failed} refused); "
                                f"{victim} (sync standby) on a {size_mb} MiB tmpfs, filled: "
                                f"{'No space left on device in its log (it crash-loops)' if crashed else 'no ENOSPC in its log'}; "
                                f"members while full: {roles}")
        finally:
            disk.restore()
            wait_for(lambda: ctx.patroni_healthy(tier), 180, 2, what=f"{tier} healthy with {victim} back on its volume")
        check_targets(result)
    return run


# ---------------------------------------------------------------- restore from restic


def restic_restore(tier: str, engine: str) -> Callable[[Ctx, Result], None]:
    def run(ctx: Ctx, result: Result) -> None:
        result.tiers = [tier]
        target = f"novaops-{ctx.stack}-{tier}-restore"
        backup = ctx.container(f"novaops-{ctx.stack}-backup")
        # JetStream: one cron line snapshots every stream (restic-streams), one restic tag per stream.
        job = scheduled_job(ctx, "/etc/cron.d/novaops-restic", f"restic-{tier}",
                            marker="/restic-streams" if engine == "nats" else None)
        load = Load(ctx, result.drill, tiers=[tier] if engine in ("valkey", "nats") else ctx.tiers("patroni")[:1],
                    duration=120)
        try:
            load.wait_acks(300)
            snapshot_at = time.time()
            log(f"{tier}: the scheduled restic job now: {job}")
            ran = backup.exec_run(["sh", "-c", job])
            if ran.exit_code != 0:
                raise DrillError(f"restic job for {tier} failed: {ran.output.decode()[-800:]}")
            time.sleep(2)
        finally:
            load.stop()
        from tools.novaload.tiers import NATS_STREAM
        started = time.time()
        ctx.playbook(result.playbook, {"target": tier, "restore_container": target,
                                       **({"stream": NATS_STREAM} if engine == "nats" else {})}, result)
        result.mttr_s = time.time() - started
        try:
            restored = ctx.container(target)
            if engine == "nats":
                from tools.novaload.load import read_ledger
                header, acks, _, _ = read_ledger(load.ledger)
                before = {(a["ref"], a["k"]) for a in acks if a["t"] == tier and a["ack"] < snapshot_at}
                # Every message of the restored stream, read from the backup host over the tier network.
                out = backup.exec_run(["nats-js-snapshot", "--server", f"{target}:4222", "--timeout", "30",
                                       "dump", NATS_STREAM], demux=True)
                stdout, stderr = (part or b"" for part in out.output)
                if out.exit_code != 0:
                    raise DrillError(f"dump of the restored {NATS_STREAM} failed: {stderr.decode()[-500:]}")
                present = set()
                for line in stdout.decode(errors="replace").splitlines():
                    seq, _, data = line.split("\t", 2)
                    present.add((f"{NATS_STREAM}:{seq}", data))
                result.acked, result.lost = len(before), len(before - present)
                result.notes.append(f"{NATS_STREAM} snapshot restored into {target} (single node, --replicas 1): "
                                    f"{len(before) - result.lost} of {len(before)} events acknowledged before the "
                                    f"snapshot present with the same sequence and payload; {len(present)} messages in all")
            elif engine == "valkey":
                from tools.novaload.load import read_ledger
                header, acks, _, _ = read_ledger(load.ledger)
                # The RDB comes from a replica: allow one second of replication before the job started.
                before = {a["ref"] for a in acks if a["t"] == tier and a["ack"] < snapshot_at - 1}
                out = restored.exec_run(["valkey-cli", "-p", "6379", "--scan", "--pattern", f"novaload:{header['run']}:*"])
                present = set(out.output.decode().split())
                result.acked, result.lost = len(before), len(before - present)
                result.notes.append(f"RDB snapshot restored into {target}: {len(before) - result.lost} of {len(before)} keys "
                                    "acknowledged >1 s before the snapshot present")
            else:
                out = restored.exec_run(["etcdctl", "--endpoints=http://127.0.0.1:2379", "get", "--prefix", "--keys-only", "/"])
                keys = out.output.decode().split()
                scopes = [t for t in ctx.tiers("patroni") if not any(f"/{ctx.stack}-{t}/" in k for k in keys)]
                result.acked, result.lost = len(ctx.tiers("patroni")), len(scopes)
                result.notes.append(f"etcd snapshot restored into {target} (new one-member cluster): {len(keys)} keys; "
                                    f"Patroni scopes missing: {scopes or 'none'} (acked/lost count Patroni scopes)")
        finally:
            ctx.docker.containers.get(target).remove(force=True, v=True)
        check_targets(result, rto=False, detection=False)
    return run


def catalog(tiers: dict[str, tuple[str, int]]) -> list[Drill]:
    """Every drill, in the order the runner takes them. ``tiers``: tier -> (engine, members), in
    catalog order (from the stack outputs, or from the catalog for the runbook tests)."""
    patroni = [t for t, (engine, _) in tiers.items() if engine == "patroni"]
    # The smallest Patroni tier: stopping it costs least to restart.
    smallest = min(patroni, key=lambda t: (tiers[t][1], t)) if patroni else ""
    valkey = [t for t, (engine, _) in tiers.items() if engine == "valkey"]
    clustered = [(t, engine) for t, (engine, _) in tiers.items() if engine in ("nats", "etcd")]
    drills: list[Drill] = []
    for i, tier in enumerate(patroni):
        drills.append(Drill(f"kill-primary-{tier}", "failure-patroni-primary-lost.md", "recover-patroni-member.yml",
                            ci=i == 0, run=kill_patroni_primary(tier)))
    for tier in valkey:
        drills.append(Drill(f"kill-master-{tier}", "failure-valkey-master-lost.md", "recover-valkey.yml",
                            ci=True, run=kill_valkey_master(tier)))
    if patroni:
        drills.append(Drill(f"partition-primary-{patroni[0]}", "failure-patroni-partition.md",
                            "recover-patroni-member.yml", ci=False, run=partition_patroni_primary(patroni[0])))
        drills.append(Drill(f"pitr-{patroni[0]}", "failure-pitr.md", "recover-pitr.yml", ci=False, run=pitr(patroni[0])))
        drills.append(Drill(f"tier-down-{smallest}", "alert-tier-down.md", "recover-tier.yml", ci=True,
                            run=stop_whole_tier(smallest)))
        drills.append(Drill(f"damage-backup-{patroni[0]}", "alert-backup.md", "recover-backup-repo.yml", ci=False,
                            run=damage_pgbackrest(patroni[0])))
        # Its replica is the primary's only synchronous partner (two members: the worst case).
        drills.append(Drill(f"disk-full-replica-{smallest}", "failure-member-disk-full.md", "recover-patroni-member.yml",
                            ci=True, run=fill_replica_disk(smallest), alert="MemberDiskFull"))
        drills.append(Drill("backup-host-lost", "alert-host-down.md", "recover-backup-host.yml", ci=False,
                            run=lose_backup_host(), alert="BackupHostDown"))
    for tier, engine in [(t, "valkey") for t in valkey] + clustered:
        drills.append(Drill(f"restic-restore-{tier}", "failure-restic-restore.md", "recover-restic-restore.yml", ci=False,
                            run=restic_restore(tier, engine)))
    for tier, engine in clustered:
        drills.append(Drill(f"lose-member-{tier}", "alert-member-down.md", "recover-tier.yml", ci=False,
                            run=lose_cluster_member(tier, engine)))
    return drills


def stack_tiers(ctx: Ctx) -> dict[str, tuple[str, int]]:
    return {k: (t["engine"], len(t["members"])) for k, t in ctx.outputs["tiers"].items()}


def topology_tiers(stack: str) -> dict[str, tuple[str, int]]:
    from components.model import build_topology
    from components.stack_files import load_stack_file
    return {k: (t.engine.name, len(t.members)) for k, t in build_topology(stack, load_stack_file(stack)).tiers.items()}
