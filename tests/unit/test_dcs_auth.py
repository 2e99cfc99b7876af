"""Patroni's control planes are authenticated in what the program renders: every Patroni member of
the dev, e2e and prod stacks and of the second-tier test catalog gets REST API basic auth (and
patronictl's copy of it) and its tier's own etcd login, from its tier's secrets."""

from __future__ import annotations

import pytest
import yaml

from components.engines import part
from components.engines.patroni import config as patroni_config
from components.member_files import config_path
from components.model import Topology, build_topology
from components.stack_files import load_stack_file
from tests.unit.second_tiers import PATRONI_TIER, second_tiers_topology


def _topologies() -> dict[str, Topology]:
    out = {stack: build_topology(stack, load_stack_file(stack)) for stack in ("dev", "e2e", "prod")}
    out["second-tiers"] = second_tiers_topology()
    return out


TOPOLOGIES = _topologies()


def _fake_secrets(tier) -> dict[str, str]:
    return {name: f"{tier.key}-{name}-pw" for name in tier.engine.secrets}


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
            if patroni_config.ETCD_LOGIN:
                assert (etcd["username"], etcd["password"]) == login, member.container
            else:  # held back (patroni#3525): no login at all, not a partial one
                assert "username" not in etcd and "password" not in etcd, member.container
            assert config_path("patroni.yml") in files.secret_paths
            assert not any("pw" in arg for arg in files.command), "no secret on the command line"
