"""etcd's drills: a member killed (quorum kept) while its DCS clients go on writing, and a restore
of its snapshot from restic, for every etcd tier. etcd has no workload of its own: the tiers
that keep their leader keys in it are what must keep working."""

from __future__ import annotations

from collections.abc import Callable

from components.engines import part
from components.engines.etcd import KIND
from components.model import Tier, Topology
from tools.drills.drills import Restored, restic_restore_drill
from tools.drills.runner import Ctx, Result
from tools.drills.template import Drill, kill_member, lose_member_drill


def drills(topology: Topology, tiers: list[Tier]) -> list[Drill]:
    out = []
    for tier in tiers:
        clients = topology.dcs_clients(tier)
        keys = [t.key for t in clients]
        scopes = {t.key: part(t.engine.name, "files").dcs_scope(topology, t) for t in clients}
        out.append(restic_restore_drill(tier.key, restored_scopes(tier.key, scopes), load_tiers=keys[:1]))
        out.append(lose_member_drill(tier.key, lose_member(tier.key, keys)))
    return out


def archiving(tiers: list[Tier]) -> dict[str, Callable[[Ctx, str], int]]:
    """No tier archives continuously: its snapshot goes to the backup host when restic's job runs."""
    return {}


def lose_member(tier: str, clients: list[str]) -> Callable[[Ctx, Result], None]:
    # The tier's last member.
    return kill_member(
        tier,
        lambda ctx: list(ctx.members(tier).values())[-1]["container"],
        "EtcdMemberDown",
        lambda name: {"tier": tier},
        lambda ctx, name: f"{name} killed; RTO = worst of {', '.join(clients)}",
        watched=clients,
        rto_timeout=60,
        rto=False,
    )


def restored_scopes(tier: str, scopes: dict[str, str]) -> Callable[[Ctx, Result, Restored], None]:
    """Every DCS client's scope (tier -> scope) must have keys in the restored snapshot."""

    def check(ctx: Ctx, result: Result, restored: Restored) -> None:
        out = restored.container.exec_run(
            ["etcdctl", f"--endpoints=http://127.0.0.1:{KIND.ports['client']}", "get", "--prefix", "--keys-only", "/"],
            environment=root_login(ctx, tier),
        )
        keys = out.output.decode().split()
        missing = [t for t, scope in scopes.items() if not any(f"/{scope}/" in k for k in keys)]
        result.acked, result.lost = len(scopes), len(missing)
        result.notes.append(
            f"etcd snapshot restored into {restored.name} (new one-member cluster): {len(keys)} keys; "
            f"Patroni scopes missing: {missing or 'none'} (acked/lost count Patroni scopes)"
        )

    return check


def root_login(ctx: Ctx, tier: str) -> dict[str, str]:
    """etcdctl's environment as root: a snapshot keeps its auth store (auth on, users), so the
    restored cluster wants root too. In the environment, never on the command line."""
    return {"ETCDCTL_USER": "root", "ETCDCTL_PASSWORD": ctx.outputs["tierSecrets"][tier]["root"]}
