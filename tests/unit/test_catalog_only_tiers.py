"""A second Valkey tier and a second Patroni tier, added to the catalog alone (tests/unit/second_tiers.py),
get everything the first ones get: containers in the declared Pulumi graph, scrape targets, probes,
exporter logins, Sentinel and DCS wiring, inventory groups. The dashboards, status, drills, novaload
and Ansible-variable suites check their own layer with the same catalog."""

from __future__ import annotations

import json

import pulumi
import yaml

from components.engines.monitoring.files import scrape_targets
from components.inventory import inventory_hosts, render_inventory
from tests.unit.pulumi_harness import reveal, run_program, uploads
from tests.unit.second_tiers import PATRONI_TIER, VALKEY_TIER, catalog_replaced, second_tiers_topology

NEW_TIERS = (VALKEY_TIER, PATRONI_TIER)


def _file(container, path: str) -> str:
    return uploads(container)[path][0]["content"]


def _program():
    with catalog_replaced():
        mocks, result, done = run_program("dev")
    return mocks, done


def _labels(c) -> dict:
    return {lbl["label"]: lbl["value"] for lbl in c.inputs.get("labels", [])}


@pulumi.runtime.test
def test_new_tiers_are_declared_with_members_router_network_and_secrets():
    mocks, done = _program()
    topology = second_tiers_topology()

    def verify(_):
        names = {c.inputs["name"] for c in mocks.containers()}
        for tier in NEW_TIERS:
            t = topology.tiers[tier]
            wanted = {m.container for m in t.members} | ({t.router.container} if t.router else set())
            assert wanted <= names, f"{tier}: {sorted(wanted - names)} not declared"
            assert f"novaops-dev-{tier}" in {n.inputs["name"] for n in mocks.of_type("docker:index/network:Network")}
            secrets = {r.name for r in mocks.of_type("random:index/randomPassword:RandomPassword")}
            assert {f"{tier}-{s.name}-password" for s in t.secrets} <= secrets
        assert topology.tiers[PATRONI_TIER].router is not None
        per_tier = {}
        for c in mocks.containers():
            per_tier.setdefault(_labels(c).get("novaops.tier"), []).append(c)
        assert len(per_tier[VALKEY_TIER]) == 3 and len(per_tier[PATRONI_TIER]) == 3  # 2 members + router

    return done.apply(verify)


@pulumi.runtime.test
def test_new_tiers_are_wired_sentinel_dcs_and_extensions():
    mocks, done = _program()

    def verify(_):
        sentinel = _file(mocks.container(f"novaops-dev-{VALKEY_TIER}-2"), "/etc/novaops/sentinel.conf")
        assert f"sentinel monitor dev-{VALKEY_TIER} novaops-dev-{VALKEY_TIER}-1 6379 2" in sentinel
        valkey = _file(mocks.container(f"novaops-dev-{VALKEY_TIER}-3"), "/etc/novaops/valkey.conf")
        assert f"replicaof novaops-dev-{VALKEY_TIER}-1 6379" in valkey
        patroni = yaml.safe_load(_file(mocks.container(f"novaops-dev-{PATRONI_TIER}-1"), "/etc/novaops/patroni.yml"))
        assert patroni["scope"] == f"dev-{PATRONI_TIER}"
        assert all(h.startswith("novaops-dev-coordination-") for h in patroni["etcd3"]["hosts"])
        params = patroni["bootstrap"]["dcs"]["postgresql"]["parameters"]
        assert params["shared_preload_libraries"] == "pgaudit,age"

    return done.apply(verify)


@pulumi.runtime.test
def test_new_tiers_are_scraped_probed_and_logged_into_by_the_exporters():
    mocks, done = _program()

    def verify(_):
        prom = yaml.safe_load(_file(mocks.container("novaops-dev-prometheus"), "/etc/novaops/prometheus.yml"))
        targets = set(scrape_targets(prom))
        for tier in NEW_TIERS:
            t = second_tiers_topology().tiers[tier]
            for m in t.members:
                for scrape in t.engine.scrapes:
                    assert (scrape.job or t.engine.name, m.container) in targets, (tier, m.key, scrape)
        prober = json.loads(_file(mocks.container("novaops-dev-prober"), "/etc/novaops/prober.json"))
        probed = {(p["tier"], p["service"]) for p in prober["targets"]}
        assert {(VALKEY_TIER, f"{VALKEY_TIER}-{i}") for i in (1, 2, 3)} <= probed
        assert {(PATRONI_TIER, f"{PATRONI_TIER}-{i}") for i in (1, 2)} <= probed
        assert all(p.get("password") for p in prober["targets"] if p["tier"] in NEW_TIERS)
        vk = json.loads(
            reveal(_file(mocks.container("novaops-dev-valkey-exporter"), "/etc/novaops/valkey-passwords.json"))
        )
        assert {f"redis://novaops-dev-{VALKEY_TIER}-{i}:6379" for i in (1, 2, 3)} <= set(vk)
        pg = yaml.safe_load(
            _file(mocks.container("novaops-dev-postgres-exporter"), "/etc/novaops/postgres_exporter.yml")
        )
        assert PATRONI_TIER in pg["auth_modules"]

    return done.apply(verify)


def test_new_tiers_are_in_the_generated_inventory():
    topology = second_tiers_topology()
    inventory = render_inventory(topology)
    hosts = inventory_hosts(inventory)
    for tier in NEW_TIERS:
        t = topology.tiers[tier]
        assert {m.container for m in t.members} <= hosts
        engine_group = inventory["all"]["children"]["databases"]["children"][t.engine.name]["children"]
        assert tier in engine_group
    assert topology.tiers[PATRONI_TIER].router.container in hosts
