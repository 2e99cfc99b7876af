"""inventories/ is derived from the catalog and stack config, and committed up to date."""

from __future__ import annotations

import pytest
import yaml

from components.inventory import inventory_hosts, inventory_path, inventory_text, main
from components.model import build_topology
from components.stack_files import load_stack_file


@pytest.mark.parametrize("stack", ["dev", "e2e", "prod"])
def test_committed_inventory_is_current(stack):
    assert inventory_path(stack).read_text() == inventory_text(stack), "run `make inventory` and commit inventories/"


@pytest.mark.parametrize("stack", ["dev", "e2e", "prod"])
def test_every_host_is_reachable_one_way(stack):
    inv = yaml.safe_load(inventory_text(stack))["all"]["children"]
    docker_hosts = set(inv["docker_managed"]["hosts"])
    ssh_hosts = set(inv["ssh_managed"]["hosts"])
    assert not docker_hosts & ssh_hosts
    topology = build_topology(stack, load_stack_file(stack))
    assert docker_hosts | ssh_hosts == {s.container for s in topology.services()}
    assert ssh_hosts == {s.container for s in topology.services() if s.group in ("divisions", "backup")}


def test_check_mode_reports_stale_inventory(tmp_path, monkeypatch, capsys):
    import components.inventory as inventory

    monkeypatch.setattr(inventory, "inventory_path", lambda stack: tmp_path / stack / "hosts.yml")
    monkeypatch.setattr(inventory, "ROOT", tmp_path)
    assert main(["dev", "--check"]) == 1
    assert "stale inventory" in capsys.readouterr().err
    assert main(["dev"]) == 0 and main(["dev", "--check"]) == 0


def test_prod_inventory_reaches_containers_through_their_docker_host():
    inv = yaml.safe_load(inventory_text("prod"))
    episodic = inv["all"]["children"]["databases"]["children"]["patroni"]["children"]["episodic"]["hosts"]
    assert episodic["novaops-prod-episodic-1"]["ansible_docker_host"] == "ssh://deploy@db-a.novaops.internal"
    assert inventory_hosts(inv) == {s.container for s in build_topology("prod", load_stack_file("prod")).services()}
