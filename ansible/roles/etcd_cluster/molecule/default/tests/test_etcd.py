"""The cluster the role checked: 3 started members, all healthy, one leader, nothing changed."""

import json
import os

import testinfra.utils.ansible_runner

testinfra_hosts = testinfra.utils.ansible_runner.AnsibleRunner(os.environ["MOLECULE_INVENTORY_FILE"]).get_hosts(
    "coordination"
)

CTL = "etcdctl --endpoints=http://127.0.0.1:2379"


def test_three_started_members(host):
    members = json.loads(host.check_output(f"{CTL} member list -w json"))["members"]
    assert sorted(m.get("name") for m in members) == ["mol-etcd-1", "mol-etcd-2", "mol-etcd-3"]


def test_one_leader(host):
    status = json.loads(host.check_output(f"{CTL} endpoint status --cluster -w json"))
    assert len(status) == 3
    assert len({s["Status"]["leader"] for s in status}) == 1


def test_no_alarm(host):
    assert host.check_output(f"{CTL} alarm list") == ""
