"""The Ansible side of the catalog promise: with a second Valkey tier and a second Patroni tier in the
catalog alone (tests/unit/second_tiers.py), the roles' variables, rendered by Ansible itself from the
role defaults/vars and the inventory components/inventory.py derives, cover the new tiers: restic
targets, pgBackRest stanzas, division grants (AGE grants follow the `age` extension, not a tier
name), Sentinel settings and HAProxy backends. No Docker: debug tasks only, nothing is connected to."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from components.inventory import render_inventory
from tests.unit.second_tiers import DIVISION, PATRONI_TIER, VALKEY_TIER, second_tiers_topology

ROOT = Path(__file__).resolve().parents[2]
ROLES = ROOT / "ansible" / "roles"


def _role_files(role: str, *parts: str) -> list[str]:
    return [str(p) for part in parts if (p := ROLES / role / part / "main.yml").exists()]


def _play(name: str, hosts: str, roles: list[tuple[str, tuple[str, ...]]], tasks: list[dict], **vars_: Any) -> dict:
    """A play that loads roles' defaults/vars as Ansible would and runs debug tasks only."""
    files = [f for role, parts in roles for f in _role_files(role, *parts)]
    return {"name": name, "hosts": hosts, "gather_facts": False, "vars_files": files, "vars": vars_, "tasks": tasks}


def _debug(name: str, msg: str, **extra: Any) -> dict:
    return {"name": name, "ansible.builtin.debug": {"msg": msg}, **extra}


def _template(role: str, name: str) -> str:
    return f"lookup('ansible.builtin.template', '{ROLES / role / 'templates' / name}')"


def _playbook(topology) -> list[dict]:
    secrets = {t: {"password": f"pw-{t}"} for t in topology.tiers}
    return [
        _play(
            "restic",
            "backup",
            [("restic_backup", ("defaults", "vars")), ("backup_metrics", ("defaults",))],
            [
                _debug("restic targets", "{{ restic_backup_targets }}"),
                _debug("restic cron", "{{ " + _template("restic_backup", "cron-restic.j2") + " }}"),
                _debug(
                    "restic scripts",
                    "{{ {'tier': item.tier, 'script': "
                    + _template("restic_backup", "restic-{{ item.engine }}.j2").replace(
                        "{{ item.engine }}", "' ~ item.engine ~ '"
                    )
                    + "} }}",
                    loop="{{ restic_backup_targets }}",
                    vars={"restic_backup_target": "{{ item }}"},
                ),
            ],
            novaops_tier_secrets=secrets,
        ),
        _play(
            "pgbackrest",
            "backup",
            [("pgbackrest", ("defaults", "vars"))],
            [
                _debug("pgbackrest tiers", "{{ pgbackrest_tiers }}"),
                _debug(
                    "pgbackrest repo conf",
                    "{{ " + _template("pgbackrest", "pgbackrest-repo.conf.j2") + " }}",
                    vars={"pgbackrest_repo_cipher_pass": "test-only"},
                ),
            ],
        ),
        _play(
            "audit",
            "backup:patroni",
            [("audit_log", ("defaults", "vars"))],
            [
                _debug(
                    "audit relay config",
                    "{{ "
                    + _template("audit_log", "rsyslog-receiver.conf.j2")
                    + " if audit_log_is_receiver else "
                    + _template("audit_log", "rsyslog-forwarder.conf.j2")
                    + " }}",
                ),
            ],
        ),
        _play(
            "division grants",
            "divisions",
            [("division_db_access", ("defaults", "vars"))],
            [
                _debug(
                    "division tiers",
                    "{{ {'tier': item, 'kind': division_db_access_kind, 'schemas': division_db_access_pg_schemas, "
                    "'role_configuration': division_db_access_pg_role_configuration, "
                    "'router': division_db_access_pg_router_host if division_db_access_kind == 'patroni' else none} }}",
                    loop="{{ division_db_access_uses }}",
                    vars={"division_db_access_tier": "{{ item }}"},
                ),
            ],
        ),
        _play(
            "sentinel",
            "valkey",
            [("valkey_sentinel", ("defaults", "vars"))],
            [
                _debug(
                    "sentinel config",
                    "{{ {'master': valkey_sentinel_master_name, 'members': groups[novaops_tier], "
                    "'quorum': valkey_sentinel_quorum, 'sentinel': valkey_sentinel_wanted_sentinel} }}",
                ),
            ],
        ),
        _play(
            "etcd",
            "etcd",
            [("etcd_cluster", ("defaults", "vars"))],
            [_debug("etcd grants", "{{ etcd_cluster_grants }}")],
        ),
        _play(
            "router",
            "routers",
            [("pg_router", ("defaults", "vars"))],
            [
                _debug(
                    "router config",
                    "{{ {'tier': pg_router_tier, 'members': pg_router_members, 'cfg': "
                    + _template("pg_router", "haproxy.cfg.j2")
                    + "} }}",
                ),
            ],
        ),
    ]


def _results(out: dict) -> dict[str, dict[str, Any]]:
    """task name -> host -> msg (or the list of msgs of a loop)."""
    res: dict[str, dict[str, Any]] = {}
    for play in out["plays"]:
        for task in play["tasks"]:
            for host, r in task["hosts"].items():
                assert not r.get("failed"), f"{task['task']['name']} on {host}: {r}"
                value = [i["msg"] for i in r["results"]] if "results" in r else r["msg"]
                res.setdefault(task["task"]["name"], {})[host] = value
    return res


@pytest.fixture(scope="module")
def rendered(tmp_path_factory) -> tuple[Any, dict[str, dict[str, Any]]]:
    topology = second_tiers_topology()
    tmp = tmp_path_factory.mktemp("ansible-vars")
    (tmp / "hosts.yml").write_text(yaml.safe_dump(render_inventory(topology), sort_keys=False))
    (tmp / "render.yml").write_text(yaml.safe_dump(_playbook(topology), sort_keys=False))
    env = dict(
        os.environ,
        ANSIBLE_STDOUT_CALLBACK="ansible.posix.json",
        ANSIBLE_CONFIG=str(ROOT / "ansible" / "ansible.cfg"),
        ANSIBLE_ROLES_PATH=str(ROLES),
        ANSIBLE_FORCE_COLOR="0",
        ANSIBLE_LOCAL_TEMP=str(tmp / "local"),
        ANSIBLE_HOME=str(tmp / "home"),
        PATH=f"{Path(sys.executable).parent}:{os.environ['PATH']}",
    )
    run = subprocess.run(
        [str(Path(sys.executable).parent / "ansible-playbook"), "-i", str(tmp / "hosts.yml"), str(tmp / "render.yml")],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.stdout.strip(), run.stderr
    out = json.loads(run.stdout[run.stdout.index("{") :])
    assert run.returncode == 0, json.dumps(out["stats"]) + run.stderr[-3000:]
    return topology, _results(out)


def _backup(topology, results: dict, task: str) -> Any:
    return results[task][topology.backup.container]


def test_every_valkey_etcd_and_nats_tier_is_a_restic_target(rendered):
    topology, results = rendered
    targets = {t["tier"]: t["engine"] for t in _backup(topology, results, "restic targets")}
    covered = {k: t.engine.name for k, t in topology.tiers.items() if t.engine.name in ("valkey", "etcd", "nats")}
    assert targets == covered and targets[VALKEY_TIER] == "valkey"
    cron = _backup(topology, results, "restic cron")
    for tier in covered:
        assert f"--job restic-{tier} " in cron or f"restic-{tier}.lock" in cron, cron
    scripts = {s["tier"]: s["script"] for s in _backup(topology, results, "restic scripts")}
    new = scripts[VALKEY_TIER]
    assert all(m.container in new for m in topology.tiers[VALKEY_TIER].members), new
    assert f"/etc/novaops-restic/{VALKEY_TIER}-password" in new and f"--tag {VALKEY_TIER} " in new
    assert not any(m.container in scripts["working"] for m in topology.tiers[VALKEY_TIER].members)


def test_every_patroni_tier_has_a_pgbackrest_stanza(rendered):
    topology, results = rendered
    patroni = sorted(k for k, t in topology.tiers.items() if t.router)
    assert _backup(topology, results, "pgbackrest tiers") == patroni and PATRONI_TIER in patroni
    conf = _backup(topology, results, "pgbackrest repo conf")
    assert f"[dev-{PATRONI_TIER}]" in conf
    assert all(m.container in conf for m in topology.tiers[PATRONI_TIER].members)


def test_every_patroni_member_forwards_its_audit_records_to_the_backup_host(rendered):
    """The receiver admits (TLS peer names) and stores exactly the Patroni members, the new tier's
    included; each member forwards to the backup host, verifying it by name, under its own name."""
    topology, results = rendered
    config = results["audit relay config"]
    members = sorted(m.container for t in topology.tiers.values() if t.router for m in t.members)
    assert {m.container for m in topology.tiers[PATRONI_TIER].members} <= set(members)
    receiver = _backup(topology, results, "audit relay config")
    peers = ", ".join(f'"{m}"' for m in members)
    assert f"tls.permittedPeer=[{peers}]" in receiver and f"$app-name == [{peers}]" in receiver, receiver
    assert 'type="imrelp"' in receiver and 'tls="on"' in receiver
    for member in members:
        forwarder = config[member]
        assert f'target="{topology.backup.container}"' in forwarder, forwarder
        assert f'tls.permittedPeer=["{topology.backup.container}"]' in forwarder
        assert f'tag="{member}"' in forwarder and 'contains "AUDIT: "' in forwarder
    assert set(config) == {*members, topology.backup.container}


def test_division_grants_follow_the_tiers_extensions(rendered):
    topology, results = rendered
    division = topology.divisions[DIVISION]
    grants = {g["tier"]: g for g in results["division tiers"][division.service.container]}
    assert set(grants) == set(division.uses) >= {VALKEY_TIER, PATRONI_TIER}
    for tier, g in grants.items():
        age = "age" in topology.tiers[tier].extensions
        assert ("ag_catalog" in g["schemas"]) == age, (tier, g)
        assert (g["role_configuration"] == {"session_preload_libraries": "age"}) == age, (tier, g)
        if topology.tiers[tier].router:
            assert g["router"] == topology.tiers[tier].router.container
    assert "ag_catalog" in grants[PATRONI_TIER]["schemas"] and grants[VALKEY_TIER]["kind"] == "valkey"


def test_every_valkey_member_gets_its_own_tiers_sentinel_config(rendered):
    topology, results = rendered
    config = results["sentinel config"]
    for tier in (t for t in topology.tiers.values() if t.engine.name == "valkey"):
        for member in tier.members:
            c = config[member.container]
            assert c["master"] == f"dev-{tier.key}"
            assert sorted(c["members"]) == sorted(m.container for m in tier.members)
            assert int(c["quorum"]) <= len(tier.members)
    assert {m.container for m in topology.tiers[VALKEY_TIER].members} <= set(config)


def test_every_router_fronts_its_own_tiers_members(rendered):
    topology, results = rendered
    config = results["router config"]
    for tier in (t for t in topology.tiers.values() if t.router):
        c = config[tier.router.container]
        assert c["tier"] == tier.key and sorted(c["members"]) == sorted(m.container for m in tier.members)
        for m in tier.members:
            assert f"server {m.key} {m.container}:5432" in c["cfg"], c["cfg"]
    assert topology.tiers[PATRONI_TIER].router.container in config


def test_every_etcd_user_gets_exactly_its_own_prefix(rendered):
    """One user per Patroni tier on its own /novaops/<stack>-<tier>/, one per division using the
    tier on /divisions/<division>/, nothing else (spelled out here, not taken from the code)."""
    topology, results = rendered
    grants = results["etcd grants"]
    for tier in (t for t in topology.tiers.values() if t.engine.name == "etcd"):
        patroni = [k for k, t in topology.tiers.items() if t.engine.name == "patroni" and tier.key in t.depends_on]
        divisions = [d.key for d in topology.divisions.values() if tier.key in d.uses]
        want = {f"patroni-dev-{k}": f"/novaops/dev-{k}/" for k in patroni}
        want |= {f"division-{d}": f"/divisions/{d}/" for d in divisions}
        for member in tier.members:
            got = {g["user"]: g["prefix"] for g in grants[member.container]}
            assert got == want, member.container
        assert PATRONI_TIER in patroni and "novacore-runtime" in divisions and "tool-ecosystem" not in divisions
        secrets = {g["client"]: (g["tier"], g["secret"]) for g in grants[tier.members[0].container] if "tier" in g}
        want = {k: (tier.key, f"dcs-{k}") for k in patroni}
        assert secrets == want, "each Patroni tier's password is the etcd tier's dcs-<client> secret"
