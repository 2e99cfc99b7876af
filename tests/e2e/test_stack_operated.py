"""Ansible turns the provisioned stack into an operated one: site.yml converges, a second run
changes nothing, and testinfra verifies every host group. Runs after test_stack.py."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
import testinfra

from tests.e2e.conftest import ROOT, needs_converge, patroni_tiers
from tools.ansible_run import inventory_for

pytestmark = [pytest.mark.docker, pytest.mark.e2e, needs_converge]


def host(stack, name: str):
    # testinfra's ansible backend calls ansible-inventory from PATH: the venv's.
    venv_bin = str(Path(sys.executable).parent)
    if venv_bin not in os.environ["PATH"].split(os.pathsep):
        os.environ["PATH"] = f"{venv_bin}{os.pathsep}{os.environ['PATH']}"
    inventory = str(inventory_for(stack.name))
    # testinfra builds its own ssh command from the raw inventory and would not template
    # `{{ novaops_state_dir }}` in the key path; through Ansible itself, the vars are rendered.
    over_ssh = name in group_hosts(stack, "ssh_managed")
    return testinfra.get_host(
        f"ansible://{name}" + ("?force_ansible=True" if over_ssh else ""), ansible_inventory=inventory
    )


def group_hosts(stack, group: str) -> list[str]:
    from ansible.inventory.manager import InventoryManager
    from ansible.parsing.dataloader import DataLoader

    return sorted(h.name for h in InventoryManager(DataLoader(), [str(inventory_for(stack.name))]).get_hosts(group))


def test_site_converges_then_changes_nothing(converged):
    assert converged["first"], "no PLAY RECAP parsed"
    assert not any(h["failed"] or h["unreachable"] for h in converged["first"].values())
    changed = {name: h["changed"] for name, h in converged["second"].items() if h["changed"]}
    assert not changed, f"second run changed: {changed}\n{converged['second_output'][-6000:]}"


# ---------------------------------------------------------------- failover


@pytest.mark.parametrize("tier", patroni_tiers())
def test_patroni_tier_is_synchronous_with_a_sync_standby(stack, converged, tier):
    from tests.e2e.conftest import eventually
    from tests.e2e.test_stack import http_json, patroni_cluster

    first = next(iter(stack.members(tier)))
    config = http_json(stack.port(tier, first, "patroni"), "/config")
    assert config["synchronous_mode"] is True and config["postgresql"]["use_pg_rewind"] is True
    assert config["loop_wait"] + 2 * config["retry_timeout"] <= config["ttl"]
    members = eventually(
        lambda: (
            (m := patroni_cluster(stack, tier)["members"])
            and any(x["role"] == "sync_standby" and x.get("state") == "streaming" for x in m)
            and m
        ),
        120,
        what=f"{tier}: a streaming sync standby",
    )
    assert sum(m["role"] == "leader" for m in members) == 1


@pytest.mark.parametrize("tier", patroni_tiers())
def test_router_sends_5000_to_the_primary_and_5001_to_a_replica(stack, converged, tier):
    import psycopg

    router = stack.outputs["tiers"][tier]["router"]

    def in_recovery(endpoint: str) -> bool:
        host, port = endpoint.rsplit(":", 1)
        with psycopg.connect(
            host=host,
            port=int(port),
            user="postgres",
            password=stack.secret(tier, "superuser"),
            dbname="nova",
            connect_timeout=5,
        ) as conn:
            return conn.execute("select pg_is_in_recovery()").fetchone()[0]

    assert in_recovery(router["primary"]) is False
    assert in_recovery(router["replicas"]) is True


def test_sentinels_have_quorum_and_primaries_refuse_writes_without_replicas(stack, converged):
    import valkey

    members = list(stack.members("working"))
    for member in members:
        sentinel = valkey.Valkey(
            host="127.0.0.1",
            port=stack.port("working", member, "sentinel"),
            password=stack.secret("working", "password"),
            socket_timeout=5,
        )
        assert sentinel.execute_command("SENTINEL", "CKQUORUM", f"{stack.name}-working").decode().startswith("OK")
        node = valkey.Valkey(
            host="127.0.0.1",
            port=stack.port("working", member, "valkey"),
            password=stack.secret("working", "password"),
            socket_timeout=5,
        )
        assert node.config_get("min-replicas-to-write") == {"min-replicas-to-write": "1"}


def test_jetstream_streams_have_three_replicas(stack, converged):
    import asyncio

    import nats

    async def streams():
        member = next(iter(stack.members("streams")))
        nc = await nats.connect(
            f"nats://nova:{stack.secret('streams', 'password')}@127.0.0.1:{stack.port('streams', member, 'client')}",
            connect_timeout=5,
        )
        try:
            js = nc.jetstream(timeout=10)
            return {s.config.name: s.config.num_replicas for s in await js.streams_info()}
        finally:
            await nc.close()

    found = asyncio.run(asyncio.wait_for(streams(), 60))
    nova = {k: v for k, v in found.items() if k.startswith("NOVA_")}
    assert nova and set(nova.values()) == {3}, found


def test_etcd_members_healthy_with_one_leader(stack, converged):
    name = group_hosts(stack, "coordination")[0]
    # As root (auth is on), with the password the member holds (its auth.json): none in the command.
    root = """python3 -c 'import json; print(json.load(open("/etc/novaops/auth.json"))["root_password"])'"""
    out = host(stack, name).check_output(
        f"ETCDCTL_USER=root ETCDCTL_PASSWORD=$({root}) etcdctl --endpoints=http://127.0.0.1:2379 "
        "endpoint status --cluster -w json"
    )
    import json

    status = json.loads(out)
    assert len(status) == 3
    assert len({s["Status"]["leader"] for s in status}) == 1


# ---------------------------------------------------------------- division hosts


def test_division_hosts_are_hardened_and_have_connection_files(stack, converged):
    from ansible.inventory.manager import InventoryManager
    from ansible.parsing.dataloader import DataLoader
    from ansible.vars.manager import VariableManager

    inventory = InventoryManager(DataLoader(), [str(inventory_for(stack.name))])
    variables = VariableManager(loader=DataLoader(), inventory=inventory)
    for name in group_hosts(stack, "divisions"):
        uses = variables.get_vars(host=inventory.get_host(name))["novaops_division_uses"]
        files = " ".join(f"/home/novaops/.config/novaops/{tier}.env" for tier in uses)
        # One round trip per host (each command through Ansible costs seconds).
        out = host(stack, name).check_output(
            "sudo /usr/sbin/sshd -T"
            " | grep -E '^(passwordauthentication|permitrootlogin|kbdinteractiveauthentication) ';"
            " curl -fsS -o /dev/null http://127.0.0.1:9100/metrics && echo node_exporter=up;"
            f" stat -c 'file %n %a %U' {files}"
        )
        for line in (
            "passwordauthentication no",
            "permitrootlogin no",
            "kbdinteractiveauthentication no",
            "node_exporter=up",
        ):
            assert line in out, f"{name}: {line}\n{out}"
        for tier in uses:
            assert f"file /home/novaops/.config/novaops/{tier}.env 600 novaops" in out, f"{name}: {tier}.env\n{out}"


# ---------------------------------------------------------------- backup


def test_pgbackrest_has_a_backup_of_every_patroni_tier_and_check_passes(stack, converged):
    import json

    backup = host(stack, group_hosts(stack, "backup")[0])
    info = json.loads(backup.check_output("runuser -u pgbackrest -- pgbackrest info --output=json"))
    stanzas = {s["name"]: s for s in info}
    for tier in patroni_tiers(stack.name):
        stanza = stanzas.get(f"{stack.name}-{tier}")
        assert stanza and stanza["status"]["code"] == 0, f"{tier}: {stanza and stanza['status']}"
        assert any(b["type"] == "full" for b in stanza["backup"]), f"{tier}: no full backup"
        # check pushes a WAL segment through archive_command and finds it in the repository.
        run = backup.run(f"runuser -u pgbackrest -- pgbackrest --stanza={stack.name}-{tier} check")
        assert run.rc == 0, f"{tier}: pgbackrest check\n{run.stdout}{run.stderr}"


def test_restic_has_a_snapshot_of_each_target_and_check_passes(stack, converged):
    import json

    backup = host(stack, group_hosts(stack, "backup")[0])
    restic = "runuser -u backup -- sh -c '. /etc/novaops-restic/restic.env && restic {}'"
    snapshots = json.loads(backup.check_output(restic.format("snapshots --json --no-lock")))
    tags = {tag for snap in snapshots for tag in snap.get("tags") or []}
    paths = {p for snap in snapshots for p in snap["paths"]}
    assert snapshots, "no restic snapshot"
    print(f"restic snapshots: {len(snapshots)}, tags {sorted(tags)}, paths {sorted(paths)}")
    for target in ("working", "coordination", "streams"):
        assert any(target in t for t in tags | paths), f"no snapshot of {target}: tags {tags} paths {paths}"
    run = backup.run(restic.format("check"))
    assert run.rc == 0, f"restic check\n{run.stdout}{run.stderr}"


def test_backup_jobs_export_success_time_and_size(stack, converged):
    from tests.e2e.test_stack import http_json

    port = int(stack.outputs["monitoring"]["prometheus"].rsplit(":", 1)[1])
    from tests.e2e.conftest import eventually

    def series(metric: str) -> list[dict]:
        return http_json(port, f"/api/v1/query?query={metric}", auth=stack.monitoring_login)["data"]["result"]

    expected = set(patroni_tiers(stack.name)) | {"working", "coordination"}
    targets = eventually(
        lambda: (
            (t := {s["metric"].get("target", "") for s in series("novaops_backup_last_success_timestamp_seconds")})
            >= expected
            and t
        ),
        120,
        what=f"backup success metrics of {sorted(expected)} in Prometheus",
    )
    sizes = {s["metric"].get("target") for s in series("novaops_backup_last_size_bytes") if float(s["value"][1]) > 0}
    assert expected <= sizes, f"no size reported for {sorted(expected - sizes)}"
    print(f"backup targets reporting: {sorted(targets)}")


# ---------------------------------------------------------------- alerting


def test_every_alert_rule_is_loaded_and_alertmanager_is_ready(stack, converged):
    import urllib.request

    import yaml

    from tests.e2e.test_stack import http_json
    from tools.http_json import basic_auth

    declared = set()
    for path in (ROOT / "ansible/roles/prometheus_alerts/files").rglob("*.yml"):
        doc = yaml.safe_load(path.read_text()) or {}
        declared |= {r["alert"] for g in doc.get("groups", []) for r in g.get("rules", []) if "alert" in r}
    assert declared, "no alert rules found in the role"
    port = int(stack.outputs["monitoring"]["prometheus"].rsplit(":", 1)[1])
    groups = http_json(port, "/api/v1/rules", auth=stack.monitoring_login)["data"]["groups"]
    loaded = {r["name"] for g in groups for r in g["rules"] if r["type"] == "alerting"}
    assert declared <= loaded, f"not loaded: {sorted(declared - loaded)}"
    assert all(r["health"] == "ok" for g in groups for r in g["rules"]), "a rule fails to evaluate"
    am = int(stack.outputs["monitoring"]["alertmanager"].rsplit(":", 1)[1])
    ready = urllib.request.Request(
        f"http://127.0.0.1:{am}/-/ready", headers={"Authorization": basic_auth(*stack.monitoring_login)}
    )
    with urllib.request.urlopen(ready, timeout=5) as resp:
        assert resp.status == 200
