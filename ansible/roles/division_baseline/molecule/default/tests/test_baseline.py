"""division_baseline: effective sshd config, key-only logins for the login group, time, locale, node exporter."""

import pytest

SSH = (
    "ssh -i /root/molecule_key -o BatchMode=yes -o StrictHostKeyChecking=no "
    "-o UserKnownHostsFile=/dev/null -o ConnectTimeout=5 {opts} {user}@127.0.0.1 true"
)


@pytest.fixture(scope="module")
def sshd_t(host):
    with host.sudo():
        out = host.check_output("/usr/sbin/sshd -T")
    return set(out.splitlines())


@pytest.mark.parametrize(
    "line",
    [
        "passwordauthentication no",
        "kbdinteractiveauthentication no",
        "permitrootlogin no",
        "permitemptypasswords no",
        "pubkeyauthentication yes",
        "x11forwarding no",
        "allowgroups novaops-ssh",
        "maxauthtries 3",
        "logingracetime 30",
        "allowtcpforwarding no",
        "authenticationmethods publickey",
    ],
)
def test_sshd_effective(sshd_t, line):
    assert line in sshd_t


def test_dropin(host):
    f = host.file("/etc/ssh/sshd_config.d/05-novaops-baseline.conf")
    assert f.exists and f.user == "root" and f.mode == 0o644


def test_sshd_listener_survived_reload(host):
    # Same listener under tini, reloaded in place (SIGHUP), never restarted.
    pid = host.file("/run/sshd.pid").content_string.strip()
    assert host.check_output(f"ps -o ppid= -p {pid}").strip() == "1"
    assert "[listener]" in host.check_output(f"ps -o args= -p {pid}")


@pytest.mark.parametrize("user", ["novaops", "alice"])
def test_key_login_allowed(host, user):
    assert host.run(SSH.format(opts="", user=user)).rc == 0


@pytest.mark.parametrize("user", ["mallory", "root", "bob"])
def test_login_refused(host, user):
    # mallory has a valid key but is not in the login group; root is refused; bob has no key.
    res = host.run(SSH.format(opts="", user=user))
    assert res.rc == 255 and "Permission denied" in res.stderr


def test_no_password_method(host):
    res = host.run(SSH.format(opts="-o PreferredAuthentications=password,keyboard-interactive", user="alice"))
    assert res.rc == 255 and "Permission denied (publickey)" in res.stderr


def test_operators(host):
    alice = host.user("alice")
    assert "novaops-ssh" in alice.groups and alice.shell == "/bin/bash"
    assert host.file("/etc/sudoers.d/novaops-operator-alice").mode == 0o440
    assert host.run("su -s /bin/sh alice -c 'sudo -n true'").rc == 0
    assert "novaops-ssh" in host.user("novaops").groups
    assert "novaops-ssh" in host.user("bob").groups
    assert not host.file("/etc/sudoers.d/novaops-operator-bob").exists
    assert not host.user("carol").exists
    assert "novaops-ssh" not in host.user("mallory").groups


def test_timezone(host):
    lt = host.file("/etc/localtime")
    assert lt.is_symlink and lt.linked_to.endswith("UTC")
    assert host.file("/etc/timezone").content_string == "UTC\n"
    assert host.check_output("date +%Z") == "UTC"


def test_locale(host):
    assert "LANG=C.UTF-8" in host.file("/etc/default/locale").content_string.splitlines()
    assert "en_US.utf8" in host.check_output("locale -a").splitlines()


def test_node_exporter(host):
    out = host.check_output("curl -fsS http://127.0.0.1:9100/metrics")
    assert "node_exporter_build_info" in out
    assert host.process.filter(user="prometheus", comm="prometheus-node")
