"""Patroni's control planes are authenticated in what the program renders: every Patroni member of
the dev, e2e and prod stacks and of the second-tier test catalog gets REST API basic auth (and
patronictl's copy of it) and its tier's own etcd login, from its tier's secrets."""

from __future__ import annotations

import json

import pulumi
import pytest
import yaml

from components.engines import part
from components.member_files import config_path
from components.model import Topology, build_topology
from components.stack_files import load_stack_file
from tests.unit.pulumi_harness import run_program, uploads
from tests.unit.second_tiers import PATRONI_TIER, second_tiers_topology


def _topologies() -> dict[str, Topology]:
    out = {stack: build_topology(stack, load_stack_file(stack)) for stack in ("dev", "e2e", "prod")}
    out["second-tiers"] = second_tiers_topology()
    return out


TOPOLOGIES = _topologies()


def _fake_secrets(tier) -> dict[str, str]:
    """The tier's own secrets, and (a DCS client) its DCS password under DCS_SECRET."""
    out = {s.name: f"{tier.key}-{s.name}-pw" for s in tier.secrets}
    if tier.engine.dcs_engine:
        out[part(tier.engine.name, "files").DCS_SECRET] = f"{tier.key}-dcs-pw"
    return out


@pytest.mark.parametrize("name", sorted(TOPOLOGIES))
def test_every_patroni_member_authenticates_rest_api_and_etcd(name):
    topology = TOPOLOGIES[name]
    tiers = [t for t in topology.tiers.values() if t.engine.name == "patroni"]
    assert tiers and (name != "second-tiers" or PATRONI_TIER in {t.key for t in tiers})
    for tier in tiers:
        secrets = _fake_secrets(tier)
        for member in tier.members:
            files = part(tier.engine.name, "files").member_files(topology, tier, member, secrets)
            cfg = yaml.safe_load(files.files[config_path("patroni.yml")])
            api = {"username": "novaops", "password": f"{tier.key}-restapi-pw"}
            assert cfg["restapi"]["authentication"] == api, member.container
            assert cfg["ctl"]["authentication"] == api, member.container
            etcd = cfg["etcd3"]
            login = (f"patroni-{topology.stack}-{tier.key}", f"{tier.key}-dcs-pw")
            assert (etcd["username"], etcd["password"]) == login, member.container
            assert config_path("patroni.yml") in files.secret_paths
            assert not any("pw" in arg for arg in files.command), "no secret on the command line"


@pytest.mark.parametrize("name", sorted(TOPOLOGIES))
def test_the_etcd_tier_holds_its_clients_passwords_and_creates_their_users_at_bootstrap(name):
    """Root and one secret per client tier; every member's auth.json (0600, a secret file, never on the
    command line) lists exactly the clients' users on their own prefixes, with those passwords."""
    topology = TOPOLOGIES[name]
    for tier in (t for t in topology.tiers.values() if t.engine.name == "etcd"):
        clients = [t.key for t in topology.tiers.values() if t.engine.dcs_engine == "etcd" and tier.key in t.depends_on]
        assert clients, tier.key
        assert [s.name for s in tier.secrets] == ["root", *(f"dcs-{c}" for c in clients)]
        secrets = {s.name: f"{s.name}-pw" for s in tier.secrets}
        for member in tier.members:
            files = part("etcd", "files").member_files(topology, tier, member, secrets)
            path = config_path("auth.json")
            assert path in files.secret_paths and path in files.command
            auth = json.loads(files.files[path])
            assert auth["root_password"] == "root-pw"
            got = {u["user"]: (u["prefix"], u["password"]) for u in auth["users"]}
            stack = topology.stack
            assert got == {f"patroni-{stack}-{c}": (f"/novaops/{stack}-{c}/", f"dcs-{c}-pw") for c in clients}
            assert not any("-pw" in arg for arg in files.command)


@pulumi.runtime.test
def test_under_mocks_each_patroni_tier_logs_in_with_the_password_its_etcd_tier_creates():
    mocks, _, done = run_program("dev")

    def verify(_):
        topology = TOPOLOGIES["dev"]
        etcd = topology.tiers["coordination"]
        auth = json.loads(uploads(mocks.container(etcd.members[0].container))[config_path("auth.json")][0]["content"])
        created = {u["user"]: u["password"] for u in auth["users"]}
        for tier in (t for t in topology.tiers.values() if t.engine.name == "patroni"):
            assert mocks.generated[f"coordination-dcs-{tier.key}-password"] == created[f"patroni-dev-{tier.key}"]
            up = uploads(mocks.container(tier.members[0].container))[config_path("patroni.yml")]
            assert up[1], "patroni.yml travels as a secret"
            login = yaml.safe_load(up[0]["content"])["etcd3"]
            assert (login["username"], login["password"]) == (f"patroni-dev-{tier.key}", created[login["username"]])
        assert len(created) == 4 and len(set(created.values())) == 4, "one distinct password per client tier"

    return done.apply(verify)
