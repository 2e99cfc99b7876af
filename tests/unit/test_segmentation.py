"""Network segmentation (issue 12, item 1): docker networks are the only firewall between
containers, so who shares a network with whom is what a tenant on a division host can reach.

Proved for the dev, e2e and prod stack configs and for the second-tier test catalog. The
expectations are computed here from Kind data and the catalog (a tier's client endpoints are its
router when its engine has one, else its members), not from the model's own helpers."""

from __future__ import annotations

from unittest import mock

import pytest

from components import model
from components.model import Service, StackConfigError, Topology, build_topology
from components.stack_files import load_stack_file
from tests.unit.second_tiers import second_tiers_topology

STACKS = ["dev", "e2e", "prod", "second-tiers"]


def _topology(name: str) -> Topology:
    if name == "second-tiers":
        return second_tiers_topology()
    return build_topology(name, load_stack_file(name), lambda key: True)


@pytest.fixture(params=STACKS, scope="module")
def topology(request) -> Topology:
    return _topology(request.param)


def _shared(a: Service, b: Service) -> set[str]:
    return set(a.networks) & set(b.networks) if a.docker_host == b.docker_host else set()


def _peers(topology: Topology, svc: Service) -> dict[str, set[str]]:
    """key of every service ``svc`` shares a network with -> the networks they share."""
    return {s.key: _shared(svc, s) for s in topology.services() if s.key != svc.key and _shared(svc, s)}


def _joined_by(topology: Topology, host: str, network: str) -> set[str]:
    return {s.key for s in topology.services() if s.docker_host == host and network in s.networks}


def _clients(topology: Topology, tier_key: str) -> set[str]:
    tier = topology.tiers[tier_key]
    endpoints = [tier.router] if tier.engine.router else tier.members
    return {s.key for s in endpoints}


def _group(svc: Service) -> str:
    """A tier (members and router), one division host, the monitoring services or the backup host."""
    return svc.tier or (svc.key if svc.group == "divisions" else svc.group)


def _prometheus(topology: Topology) -> Service:
    return topology.monitoring["prometheus"]


def _reaches(topology: Topology, client: Service, target: Service) -> bool:
    """Same docker host: a shared network; another host: traffic goes through published ports."""
    return client.docker_host != target.docker_host or bool(_shared(client, target))


def test_each_division_shares_networks_exactly_with_the_client_endpoints_of_its_tiers(topology):
    for division in topology.divisions.values():
        svc = division.service
        peers = set(_peers(topology, svc)) - {_prometheus(topology).key}
        expected = {
            key
            for used in division.uses
            for key in _clients(topology, used)
            if topology.service(key).docker_host == svc.docker_host
        }
        assert peers == expected, f"{topology.stack} {division.key}"


def test_a_division_meets_prometheus_only_on_a_network_of_their_own(topology):
    prometheus = _prometheus(topology)
    for division in topology.divisions.values():
        for network in _shared(division.service, prometheus):
            joined = _joined_by(topology, prometheus.docker_host, network)
            assert joined == {division.key, prometheus.key}, f"{topology.stack} {network}"


def test_no_division_shares_a_network_with_what_it_must_not_reach(topology):
    routed_members = {m.key for t in topology.tiers.values() if t.engine.router for m in t.members}
    for division in topology.divisions.values():
        forbidden = {d for d in topology.divisions if d != division.key} | {topology.backup.key} | routed_members
        forbidden |= {k for k in topology.monitoring if k != "prometheus"}  # Alertmanager, receiver, exporters...
        peers = _peers(topology, division.service)
        assert not forbidden & set(peers), f"{topology.stack} {division.key}: {sorted(forbidden & set(peers))}"
        for tier in topology.tiers.values():
            assert tier.key not in division.service.networks, "divisions never join a tier network"


def test_the_monitoring_network_carries_monitoring_services_only(topology):
    for (host, key), _ in topology.networks.items():
        if key == "monitoring":
            assert _joined_by(topology, host, key) <= set(topology.monitoring), topology.stack


def test_edge_networks_carry_only_publishing_containers_of_one_group(topology):
    for (host, key), net in topology.networks.items():
        if net.internal:
            continue
        on = [s for s in topology.services() if s.docker_host == host and key in s.networks]
        assert on, f"{topology.stack} {key}: nobody publishes through it"
        assert all(any(p.host for p in s.ports) for s in on), f"{topology.stack} {key}"
        assert len({_group(s) for s in on}) == 1, f"{topology.stack} {key}: {[s.key for s in on]}"
    for svc in topology.services():
        if any(p.host for p in svc.ports):
            assert not topology.network(svc, svc.networks[0]).internal, f"{svc.key}: first network carries the ports"


def test_prometheus_reaches_every_direct_scrape_target(topology):
    prometheus = _prometheus(topology)
    for svc in topology.services():
        if any(s.via is None for s in svc.kind.scrapes) and svc.key != prometheus.key:
            assert _reaches(topology, prometheus, svc), f"{topology.stack} {svc.key}"


def test_exporters_reach_their_via_targets_and_the_prober_the_probed_members(topology):
    for svc in topology.services():
        for scrape in svc.kind.scrapes:
            if scrape.via:
                assert _reaches(topology, topology.monitoring[scrape.via], svc), f"{topology.stack} {svc.key}"
    prober = topology.monitoring["prober"]
    for tier in topology.tiers.values():
        if tier.engine.probe:
            assert all(_reaches(topology, prober, m) for m in tier.members), f"{topology.stack} {tier.key}"


def test_backup_host_and_dependent_tiers_reach_the_members_they_need(topology):
    for tier in topology.tiers.values():
        for member in tier.members:
            assert _reaches(topology, topology.backup, member), f"{topology.stack} backup -> {member.key}"
        for dep in tier.depends_on:
            for member in tier.members:
                for target in topology.tiers[dep].members:
                    assert _reaches(topology, member, target), f"{topology.stack} {member.key} -> {target.key}"


def test_endpoint_refuses_a_pair_that_shares_no_network():
    topology = _topology("dev")
    division = topology.divisions["tool-ecosystem"].service
    with pytest.raises(StackConfigError) as e:
        topology.endpoint(division, topology.backup, "ssh")
    assert e.value.problems[0][0] == "backup.networks"
    assert topology.endpoint(division, topology.tiers["episodic"].router, "primary")[1] == 5000


def _extra_networks(extra: dict[str, list[str]]):
    """While inside, the model adds ``extra[service key]`` to the networks that service joins."""
    original = model._Builder._service

    def service(self, key, group, kind, tier, index, host, memory_mb, ports, networks, edge):
        networks = [*networks, *extra.get(key, [])]
        return original(self, key, group, kind, tier, index, host, memory_mb, ports, networks, edge)

    return mock.patch.object(model._Builder, "_service", service)


@pytest.mark.parametrize(
    "extra, key",
    [
        ({"tool-ecosystem": ["monitoring"]}, "catalog:divisions.tool-ecosystem"),
        ({"episodic-1": ["div-tool-ecosystem"]}, "catalog:divisions.tool-ecosystem"),
        ({"novacore-runtime": ["div-tool-ecosystem"]}, "catalog:divisions.tool-ecosystem"),
        ({"backup": ["monitoring"]}, "catalog:backup"),
        ({"prometheus": ["div-novacore-runtime"]}, "catalog:divisions.novacore-runtime"),
    ],
)
def test_the_model_rejects_a_config_that_breaks_a_rule_naming_the_key(extra, key):
    with _extra_networks(extra), pytest.raises(StackConfigError) as e:
        build_topology("dev", load_stack_file("dev"), lambda k: True)
    assert key in {k for k, _ in e.value.problems}, e.value


def test_a_name_whose_network_is_another_groups_is_refused_naming_the_key():
    catalog = model.load_catalog()
    catalog["divisions"]["working"] = dict(catalog["divisions"]["tool-ecosystem"], publish={"ssh": 12209})
    with pytest.raises(StackConfigError) as e:
        build_topology("dev", {}, catalog=catalog)
    assert [k for k, _ in e.value.problems] == ["catalog:divisions.working"], e.value
