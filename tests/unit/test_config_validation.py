"""Bad stack config is rejected before any resource exists, naming the key and the problem."""

from __future__ import annotations

import copy

import pulumi
import pytest

from components.model import StackConfigError, build_topology, load_catalog
from tests.unit.pulumi_harness import run_program


def problems(config=None, catalog=None, secret=()):
    with pytest.raises(StackConfigError) as err:
        build_topology("dev", config or {}, lambda k: k in secret, catalog)
    return err.value.problems


def catalog_with(edit):
    cat = copy.deepcopy(load_catalog())
    edit(cat)
    return cat


def assert_problem(found, key, *words):
    matching = [p for k, p in found if k == key]
    assert matching, f"no problem reported for {key}; got {found}"
    assert any(all(w in p for w in words) for p in matching), f"{key}: {matching} lacks {words}"


CASES = [
    ("unknown tier", {"tiers": {"episodik": {"members": 3}}}, None, "novaops:tiers.episodik", ["unknown tier"]),
    ("zero replicas", {"tiers": {"episodic": {"members": 0}}}, None, "novaops:tiers.episodic.members", ["at least 1"]),
    (
        "replicas not a number",
        {"tiers": {"graph": {"members": "two"}}},
        None,
        "novaops:tiers.graph.members",
        ["whole number"],
    ),
    ("even etcd", {"tiers": {"coordination": {"members": 4}}}, None, "novaops:tiers.coordination.members", ["odd"]),
    ("even nats", {"tiers": {"streams": {"members": 2}}}, None, "novaops:tiers.streams.members", ["odd"]),
    (
        "valkey below sentinel quorum",
        {"tiers": {"working": {"members": 2}}},
        None,
        "novaops:tiers.working.members",
        ["at least 3"],
    ),
    (
        "port used twice",
        {"tiers": {"semantic": {"publish": {"postgres": 15433}}}},
        None,
        "novaops:tiers.semantic.publish.postgres",
        ["15433", "already published by episodic-2:postgres"],
    ),
    (
        "port out of range",
        {"tiers": {"temporal": {"publish": {"patroni": 80}}}},
        None,
        "novaops:tiers.temporal.publish.patroni",
        ["1024 to 65535"],
    ),
    (
        "publishing a port the engine lacks",
        {"tiers": {"working": {"publish": {"http": 18080}}}},
        None,
        "novaops:tiers.working.publish.http",
        ["no port 'http'"],
    ),
    ("publish on every interface", {"publishAddress": "0.0.0.0"}, None, "novaops:publishAddress", ["every interface"]),
    ("publish on a public address", {"publishAddress": "8.8.8.8"}, None, "novaops:publishAddress", ["public address"]),
    ("publish address not an IP", {"publishAddress": "localhost:80"}, None, "novaops:publishAddress", ["IP address"]),
    (
        "missing secret",
        {"tiers": {"episodic": {"secrets": {"superuser": {"fromConfig": "episodicSuperuser"}}}}},
        None,
        "novaops:episodicSuperuser",
        ["missing secret", "pulumi config set --secret"],
    ),
    (
        "secret in plain text",
        {
            "episodicSuperuser": "hunter2",
            "tiers": {"episodic": {"secrets": {"superuser": {"fromConfig": "episodicSuperuser"}}}},
        },
        None,
        "novaops:episodicSuperuser",
        ["plain text"],
    ),
    (
        "secret the engine does not have",
        {"tiers": {"coordination": {"secrets": {"password": {"fromConfig": "x"}}}}},
        None,
        "novaops:tiers.coordination.secrets.password",
        ["no secret 'password'"],
    ),
    (
        "unknown extension",
        {"tiers": {"semantic": {"extensions": ["vector", "postgis"]}}},
        None,
        "novaops:tiers.semantic.extensions",
        ["postgis"],
    ),
    (
        "memory below minimum",
        {"tiers": {"episodic": {"memoryMb": 32}}},
        None,
        "novaops:tiers.episodic.memoryMb",
        ["below"],
    ),
    (
        "override of a fixed key",
        {"tiers": {"episodic": {"engine": "etcd"}}},
        None,
        "novaops:tiers.episodic.engine",
        ["cannot be overridden"],
    ),
    ("unknown config key", {"tier": {}}, None, "novaops:tier", ["unknown config key"]),
    ("unknown environment", {"environment": "staging"}, None, "novaops:environment", ["'dev' or 'prod'"]),
    (
        "placement on an undeclared host",
        {"placement": {"episodic": "db-z"}},
        None,
        "novaops:placement.episodic",
        ["db-z", "not declared"],
    ),
    (
        "placement of an unknown tier",
        {"placement": {"vectors": "local"}},
        None,
        "novaops:placement.vectors",
        ["unknown tier"],
    ),
    (
        "docker host URL scheme",
        {"dockerHosts": {"a": {"url": "http://a:2375", "address": "10.0.0.1"}}},
        None,
        "novaops:dockerHosts.a.url",
        ["ssh://"],
    ),
    (
        "grafana other than 11",
        {"grafana": {"image": "grafana/grafana-oss:10.4.0"}},
        None,
        "novaops:grafana.image",
        ["Grafana 11"],
    ),
    (
        "unknown engine",
        {},
        lambda c: c["tiers"]["graph"].update(engine="neo4j"),
        "catalog:tiers.graph.engine",
        ["unknown engine 'neo4j'"],
    ),
    (
        "network of an undeclared tier",
        {},
        lambda c: c["tiers"]["episodic"].update(dependsOn=["coordination", "cache"]),
        "catalog:tiers.episodic.dependsOn",
        ["'cache' is not declared", "network"],
    ),
    (
        "division uses an undeclared tier",
        {},
        lambda c: c["divisions"]["tool-ecosystem"].update(uses=["search"]),
        "catalog:divisions.tool-ecosystem.uses",
        ["'search' is not declared"],
    ),
    (
        "patroni without a DCS",
        {},
        lambda c: c["tiers"]["graph"].update(dependsOn=[]),
        "catalog:tiers.graph.dependsOn",
        ["needs a etcd tier"],
    ),
    (
        "duplicate tier number",
        {},
        lambda c: c["tiers"]["graph"].update(number=2),
        "catalog:tiers.graph.number",
        ["already tier 'episodic'"],
    ),
]


@pytest.mark.parametrize("config,edit,key,words", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_rejected_with_key_and_problem(config, edit, key, words):
    found = problems(config, catalog_with(edit) if edit else None)
    assert_problem(found, key, *words)


def test_every_problem_is_reported_at_once():
    found = problems(
        {"tiers": {"coordination": {"members": 2}, "streams": {"members": 4}}, "publishAddress": "0.0.0.0"}
    )
    assert {k for k, _ in found} >= {
        "novaops:tiers.coordination.members",
        "novaops:tiers.streams.members",
        "novaops:publishAddress",
    }
    assert "3 problem(s)" in str(StackConfigError(found[:3]))


def test_cross_host_traffic_needs_published_ports():
    hosts = {"a": {"url": "ssh://ops@a", "address": "10.0.0.1"}, "b": {"url": "ssh://ops@b", "address": "10.0.0.2"}}
    found = problems(
        {
            "dockerHosts": hosts,
            "placement": {"coordination": "b"},
            "tiers": {"coordination": {"publish": {"client": None}}},
        }
    )
    assert_problem(found, "coordination-1.publish.client", "depends on coordination")


def test_secret_from_config_is_accepted_when_secret():
    topo = build_topology(
        "dev",
        {
            "episodicSuperuser": "[secret]",
            "tiers": {"episodic": {"secrets": {"superuser": {"fromConfig": "episodicSuperuser"}}}},
        },
        lambda k: k == "novaops:episodicSuperuser",
    )
    sources = {s.name: s.config_key for s in topo.tiers["episodic"].secrets}
    assert sources == {
        "superuser": "novaops:episodicSuperuser",
        **{n: None for n in ("replication", "rewind", "monitor", "restapi")},
    }


def test_program_registers_nothing_when_config_is_bad():
    from components.stack import build_stack, load_topology
    from tests.unit.pulumi_harness import RecordingMocks, configure

    configure("dev", {"tiers": {"coordination": {"members": 2}}})
    mocks = RecordingMocks()
    pulumi.runtime.set_mocks(mocks, project="novaops", stack="dev", preview=False)
    with pytest.raises(StackConfigError, match=r"novaops:tiers.coordination.members"):
        build_stack(load_topology())
    assert mocks.resources == []


@pulumi.runtime.test
def test_prod_places_tiers_on_ssh_docker_hosts():
    mocks, result, done = run_program("prod")

    def verify(_):
        providers = {r.name: r.inputs["host"] for r in mocks.of_type("pulumi:providers:docker")}
        assert providers == {
            "docker-db-a": "ssh://deploy@db-a.novaops.internal",
            "docker-db-b": "ssh://deploy@db-b.novaops.internal",
            "docker-ops": "ssh://deploy@ops.novaops.internal",
        }
        by_name = {c.inputs["name"]: c for c in mocks.containers()}
        assert "docker-db-a" in by_name["novaops-prod-episodic-1"].provider
        assert "docker-db-b" in by_name["novaops-prod-temporal-1"].provider
        ips = {p["ip"] for c in mocks.containers() for p in c.inputs.get("ports", [])}
        assert ips == {"10.40.0.11", "10.40.0.12", "10.40.0.13"}
        # temporal (db-b) reaches etcd (db-a) through db-a's published client port
        import yaml

        from tests.unit.pulumi_harness import uploads

        conf = yaml.safe_load(uploads(by_name["novaops-prod-temporal-1"])["/etc/novaops/patroni.yml"][0]["content"])
        assert sorted(conf["etcd3"]["hosts"]) == ["10.40.0.11:12379", "10.40.0.11:12380", "10.40.0.11:12381"]
        assert by_name["novaops-prod-episodic-1"].inputs["memory"] == 4096

    return done.apply(verify)


def test_prober_on_another_docker_host_needs_published_probe_ports():
    from components.stack_files import load_stack_file

    config = copy.deepcopy(load_stack_file("prod"))
    config["tiers"]["working"]["publish"] = {"valkey": None}  # Valkey no longer published on db-a
    with pytest.raises(StackConfigError) as err:
        build_topology("prod", config)
    found = err.value.problems
    assert_problem(found, "working-1.publish.valkey", "must be published", "the prober checks it")
