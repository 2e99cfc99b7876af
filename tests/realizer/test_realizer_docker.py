"""Integration tests: the fixture project applied to the real local Docker engine.

Everything created carries novaops.realizer.stack=rtest*; the session fixture
`docker_client` removes such leftovers before and after. Traffic: none is sent
to the containers; ports are only inspected.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tools.realizer import RealizerError, load_outputs, realize, teardown

pytestmark = pytest.mark.docker

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
FIXTURE = os.path.join(HERE, "fixture")
FIXTURE_BAD = os.path.join(HERE, "fixture_bad")
STACK = "rtest"
LABEL = "novaops.realizer.stack"


class Lines(list):
    def __call__(self, line: str) -> None:
        self.append(line)


@pytest.fixture(scope="module")
def up(docker_client, tmp_path_factory):
    """One `up` of the fixture; the read-only tests below inspect what it made."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    state_dir = str(tmp_path_factory.mktemp("state"))
    lines = Lines()
    result = realize(FIXTURE, STACK, config={"localPort": port}, state_dir=state_dir, out=lines)
    yield {"result": result, "port": port, "state_dir": state_dir, "lines": lines, "client": docker_client}
    teardown(FIXTURE, STACK, delete_data=True, state_dir=state_dir, out=Lines())


def inspect(client, name):
    return client.api.inspect_container(name)


def test_explicit_names_and_labels(up):
    api = up["client"].api
    app = inspect(up["client"], "rtest-app")
    assert app["Name"] == "/rtest-app"
    assert app["Config"]["Labels"][LABEL] == STACK
    assert app["Config"]["Labels"]["novaops.role"] == "app"
    assert len(app["Config"]["Labels"]["novaops.realizer.spec-hash"]) == 64
    assert inspect(up["client"], "rtest-worker")["Config"]["Labels"][LABEL] == STACK
    front = api.inspect_network("rtest-front")
    assert front["Labels"] == {"novaops.role": "front", LABEL: STACK}
    back = api.inspect_network("rtest-back")
    assert back["Internal"] is True and back["Labels"][LABEL] == STACK
    assert api.inspect_volume("rtest-data")["Labels"][LABEL] == STACK


def test_ports_published_as_declared(up):
    bindings = inspect(up["client"], "rtest-app")["HostConfig"]["PortBindings"]
    assert bindings["8080/tcp"] == [{"HostIp": "127.0.0.1", "HostPort": str(up["port"])}]
    assert bindings["9090/tcp"][0]["HostIp"] == "0.0.0.0"  # no ip given: pulumi-docker's default


def test_limits_restart_and_healthcheck(up):
    app = inspect(up["client"], "rtest-app")
    assert app["HostConfig"]["Memory"] == 64 * 1024 * 1024
    assert app["HostConfig"]["RestartPolicy"] == {"Name": "unless-stopped", "MaximumRetryCount": 0}
    hc = app["Config"]["Healthcheck"]
    assert hc["Test"] == ["CMD", "test", "-f", "/etc/rtest/app.conf"]
    assert (hc["Interval"], hc["Timeout"], hc["StartPeriod"], hc["Retries"]) == (
        1_000_000_000,
        2_000_000_000,
        1_500_000_000,
        3,
    )
    worker = inspect(up["client"], "rtest-worker")
    assert worker["HostConfig"]["RestartPolicy"]["Name"] in ("", "no")
    assert worker["Config"]["Labels"]["novaops.realizer.destroy-grace-seconds"] == "1"


def test_networks_and_aliases(up):
    nets = inspect(up["client"], "rtest-app")["NetworkSettings"]["Networks"]
    assert set(nets) == {"rtest-front", "rtest-back"}
    assert {"app", "app-alias"} <= set(nets["rtest-front"]["Aliases"])
    assert "app-back" in nets["rtest-back"]["Aliases"]
    assert set(inspect(up["client"], "rtest-worker")["NetworkSettings"]["Networks"]) == {"rtest-front"}


def test_image_built_from_its_context(up):
    app = up["client"].containers.get("rtest-app")
    code, out = app.exec_run(["cat", "/opt/rtest/marker.txt"])
    assert code == 0 and b"built by the realizer fixture" in out


def test_uploads_content_mode_and_secret_not_in_inspect(up):
    password = load_outputs(FIXTURE, STACK, up["state_dir"], show_secrets=True)["password"]
    assert len(password) == 24
    app = up["client"].containers.get("rtest-app")
    code, out = app.exec_run(["stat", "-c", "%a %u %g", "/etc/rtest/app.conf", "/usr/local/bin/hello"])
    assert code == 0 and out.decode().split("\n")[:2] == ["640 0 0", "755 0 0"]
    code, out = app.exec_run(["cat", "/etc/rtest/app.conf"])
    assert code == 0 and out.decode() == f"greeting=hello from the stack file\npassword={password}\n"
    code, out = app.exec_run(["/usr/local/bin/hello"])
    assert code == 0 and out == b"hi\n"
    raw = json.dumps(inspect(up["client"], "rtest-app"))
    assert password not in raw
    assert "GREETING=hello from the stack file" in inspect(up["client"], "rtest-app")["Config"]["Env"]


def test_wait_until_healthy(up):
    assert inspect(up["client"], "rtest-app")["State"]["Health"]["Status"] == "healthy"
    assert any(line.startswith("healthy ") for line in up["lines"])
    assert up["result"].action_for("container", "rtest-app") == "created"


def test_outputs_saved_with_secrets_masked(up):
    outs = load_outputs(FIXTURE, STACK, up["state_dir"])
    assert outs["password"] == "[secret]"
    assert outs["appName"] == "rtest-app" and outs["limits"] == {"memoryMb": 64, "tags": ["a", "b"]}
    assert outs["sshPublicKey"].startswith("ssh-ed25519 ")


def test_lifecycle_reup_change_down(up):
    client, port, state_dir = up["client"], up["port"], up["state_dir"]
    cfg = {"localPort": port}
    first_id = inspect(client, "rtest-app")["Id"]
    worker_id = inspect(client, "rtest-worker")["Id"]
    password = load_outputs(FIXTURE, STACK, state_dir, show_secrets=True)["password"]

    # re-up: everything unchanged, same container, same password (state reused)
    lines = Lines()
    again = realize(FIXTURE, STACK, config=cfg, state_dir=state_dir, out=lines)
    assert again.count("created") == again.count("replaced") == again.count("deleted") == 0, lines
    assert any(ln.startswith("unchanged") and "rtest-app" in ln for ln in lines)
    assert inspect(client, "rtest-app")["Id"] == first_id
    assert again.outputs["password"] == password

    # a config change replaces the container that uses it, and only that one
    changed = realize(FIXTURE, STACK, config={**cfg, "greeting": "changed"}, state_dir=state_dir, out=Lines())
    assert changed.action_for("container", "rtest-app") == "replaced"
    assert changed.action_for("container", "rtest-worker") == "unchanged"
    assert inspect(client, "rtest-app")["Id"] != first_id
    assert inspect(client, "rtest-worker")["Id"] == worker_id
    code, out = client.containers.get("rtest-app").exec_run(["cat", "/etc/rtest/app.conf"])
    assert out.decode().startswith("greeting=changed\n")

    # down: containers and networks go, the volume (data) stays, generated secrets stay
    teardown(FIXTURE, STACK, state_dir=state_dir, out=Lines())
    assert client.api.containers(all=True, filters={"label": f"{LABEL}={STACK}"}) == []
    assert client.api.networks(filters={"label": f"{LABEL}={STACK}"}) == []
    assert client.api.inspect_volume("rtest-data")["Name"] == "rtest-data"

    back = realize(FIXTURE, STACK, config=cfg, state_dir=state_dir, out=Lines())
    assert back.action_for("volume", "rtest-data") == "unchanged"
    assert back.action_for("container", "rtest-app") == "created"
    assert back.outputs["password"] == password

    # down --delete-data: volumes go too, and the state with them
    teardown(FIXTURE, STACK, delete_data=True, state_dir=state_dir, out=Lines())
    assert client.api.volumes(filters={"label": f"{LABEL}={STACK}"}).get("Volumes") in (None, [])
    assert not os.path.exists(os.path.join(state_dir, STACK, "state.json"))


def test_unhealthy_container_fails_naming_it(docker_client, tmp_path):
    lines = Lines()
    with pytest.raises(RealizerError) as exc:
        realize(FIXTURE_BAD, "rtest-bad", config={"mode": "unhealthy"}, state_dir=str(tmp_path), out=lines)
    assert "rtest-bad-sick" in str(exc.value) and "unhealthy" in str(exc.value)
    text = "\n".join(lines)
    assert "sick-log-line" in text and "health check exit 1" in text
    teardown(FIXTURE_BAD, "rtest-bad", delete_data=True, state_dir=str(tmp_path), out=Lines())
    assert docker_client.api.containers(all=True, filters={"label": f"{LABEL}=rtest-bad"}) == []


def _cli(*args, env=None):
    return subprocess.run(
        [sys.executable, "-m", "tools.realizer", *args], cwd=REPO, capture_output=True, text=True, timeout=300, env=env
    )


def test_cli_up_outputs_down_and_error_exit(docker_client, tmp_path, free_port):
    env = {k: v for k, v in os.environ.items() if k != "PULUMI_CONFIG_PASSPHRASE"}
    env["PULUMI_CONFIG_PASSPHRASE"] = "rtest-passphrase"
    common = ["--project-dir", FIXTURE]
    sd = ["--stack", STACK, "--state-dir", str(tmp_path)]
    r = _cli(*common, "up", *sd, "--config", f"localPort={free_port}", env=env)
    assert r.returncode == 0, r.stderr
    assert "created    container       rtest-app" in r.stdout and "stack rtest:" in r.stdout
    state_text = (tmp_path / STACK / "state.json").read_text()
    assert "ciphertext" in state_text
    r = _cli(*common, "outputs", *sd, "--json", env=env)
    assert r.returncode == 0 and json.loads(r.stdout)["password"] == "[secret]"
    password = json.loads(_cli(*common, "outputs", *sd, "--json", "--show-secrets", env=env).stdout)["password"]
    assert password not in state_text  # encrypted at rest
    bad_env = dict(env, PULUMI_CONFIG_PASSPHRASE="wrong")
    r = _cli(*common, "outputs", *sd, "--show-secrets", env=bad_env)
    assert r.returncode == 1 and "wrong PULUMI_CONFIG_PASSPHRASE" in r.stderr
    r = _cli(*common, "down", *sd, env=env)
    assert r.returncode == 0 and "kept       volume          rtest-data" in r.stdout
    r = _cli(*common, "down", *sd, "--delete-data", env=env)
    assert r.returncode == 0 and "deleted    volume          rtest-data" in r.stdout
    # an unsupported input: non-zero exit, message naming the key and the container, nothing created
    r = _cli(
        "--project-dir",
        FIXTURE_BAD,
        "up",
        "--stack",
        "rtest-bad",
        "--state-dir",
        str(tmp_path),
        "--config",
        "mode=unknown-key",
        env=env,
    )
    assert r.returncode == 1 and "'gpus'" in r.stderr and "rtest-bad-c" in r.stderr
    assert docker_client.api.containers(all=True, filters={"label": f"{LABEL}=rtest-bad"}) == []
