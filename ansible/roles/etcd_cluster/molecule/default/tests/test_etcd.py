"""The cluster the role checked: 3 started members, all healthy, one leader, auth on with exactly
root and the DCS client user (the stray one pruned), the client confined to its prefix."""

import json
import os
from pathlib import Path

import pytest
import testinfra.utils.ansible_runner

testinfra_hosts = testinfra.utils.ansible_runner.AnsibleRunner(os.environ["MOLECULE_INVENTORY_FILE"]).get_hosts(
    "coordination"
)

SECRETS = Path(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"]) / "secrets"
CTL = "etcdctl --endpoints=http://127.0.0.1:2379"
CLIENT, CLIENT_PREFIX = "patroni-molecule-client", "/novaops/molecule-client/"


def _password(name: str) -> str:
    # ansible's password lookup file: the password, then (maybe) " salt=..."
    return (SECRETS / name).read_text().split()[0]


def ctl(host, args: str, user: str = "root", password: str | None = None):
    password = _password("root") if password is None and user == "root" else password
    env = f"ETCDCTL_USER={user} ETCDCTL_PASSWORD={password} " if user else ""
    return host.run(f"{env}{CTL} {args}")


def test_three_started_members(host):
    members = json.loads(ctl(host, "member list -w json").stdout)["members"]
    assert sorted(m.get("name") for m in members) == ["mol-etcd-1", "mol-etcd-2", "mol-etcd-3"]


def test_one_leader(host):
    status = json.loads(ctl(host, "endpoint status --cluster -w json").stdout)
    assert len(status) == 3
    assert len({s["Status"]["leader"] for s in status}) == 1


def test_no_alarm(host):
    run = ctl(host, "alarm list")
    assert run.rc == 0 and run.stdout == ""


def test_auth_on_and_anonymous_refused(host):
    run = ctl(host, "get / --prefix --keys-only", user="")
    assert run.rc != 0 and "user name is empty" in run.stderr
    assert "Authentication Status: true" in ctl(host, "auth status").stdout


def test_users_are_root_and_the_client_only(host):
    users = json.loads(ctl(host, "user list -w json").stdout)["users"]
    assert sorted(users) == sorted(["root", CLIENT]), "the stray user is pruned"


@pytest.mark.parametrize("key,allowed", [(CLIENT_PREFIX + "leader", True), ("/novaops/molecule-other/leader", False)])
def test_the_client_is_confined_to_its_prefix(host, key, allowed):
    run = ctl(host, f"put {key} x", user=CLIENT, password=_password("dcs-molclient"))
    assert (run.rc == 0) == allowed, run.stderr
    if not allowed:
        assert "permission denied" in run.stderr


def test_a_wrong_password_is_refused(host):
    run = ctl(host, f"get {CLIENT_PREFIX} --prefix", user=CLIENT, password="wrong")
    assert run.rc != 0 and "authentication failed" in run.stderr
