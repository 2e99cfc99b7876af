"""Prometheus' and Alertmanager's basic auth: what the program renders, and that every client
(Prometheus itself, Grafana, status, drills, the health bench) sends the login it is given."""

from __future__ import annotations

import base64
import http.server
import json
import threading
from types import SimpleNamespace

import pulumi
import pytest
import yaml

from components import engines
from components.engines.monitoring import files
from components.model import build_topology
from components.stack_files import load_stack_file
from tests.unit.pulumi_harness import fake_bcrypt, reveal, run_program, uploads

LOGIN = ("operator", "op-secret-0123456789")


@pytest.fixture(scope="module")
def topology():
    return build_topology("dev", load_stack_file("dev"), lambda k: True)


def rendered(topology, kind: str):
    """A service's files rendered with recognisable passwords ("pw-<user>") and their hashes."""
    service = topology.monitoring[kind]
    users = files.all_web_users(topology)
    secrets = {f"hash:{u}": fake_bcrypt(f"pw-{u}") for u in users} | {f"password:{u}": f"pw-{u}" for u in users}
    secrets["admin"] = "pw-admin"
    return files.service_files(topology, service, secrets)


@pytest.mark.parametrize("kind", ["prometheus", "alertmanager"])
def test_web_config_holds_bcrypt_hashes_and_no_password(topology, kind):
    mf = rendered(topology, kind)
    users = yaml.safe_load(mf.files[files.WEB_CONFIG])["basic_auth_users"]
    assert set(users) == set(files.WEB_USERS[kind]) and "operator" in users
    assert all(h.startswith("$2") for h in users.values()), users
    assert not any(f"pw-{u}" in mf.files[files.WEB_CONFIG] for u in users)
    assert f"--web.config.file={files.WEB_CONFIG}" in mf.command
    assert {files.WEB_CONFIG, files.WEB_PASSWORD, files.WEB_NETRC} <= mf.secret_paths


def test_prometheus_runs_without_lifecycle_or_admin_api(topology):
    command = rendered(topology, "prometheus").command
    assert not [a for a in command if a.startswith(("--web.enable-lifecycle", "--web.enable-admin-api"))], command


def test_prometheus_logs_in_to_alertmanager_and_to_itself(topology):
    mf = rendered(topology, "prometheus")
    config = yaml.safe_load(mf.files["/etc/novaops/prometheus.yml"])
    login = {"username": "prometheus", "password_file": files.WEB_PASSWORD}
    assert [am["basic_auth"] for am in config["alerting"]["alertmanagers"]] == [login]
    jobs = {j["job_name"]: j for j in config["scrape_configs"]}
    assert jobs["prometheus"]["basic_auth"] == jobs["alertmanager"]["basic_auth"] == login
    assert "basic_auth" not in jobs["grafana"], "only the two servers behind basic auth get a login"
    assert mf.files[files.WEB_PASSWORD] == "pw-prometheus"
    assert "pw-" not in mf.files["/etc/novaops/prometheus.yml"], "the password stays in its own file"


def test_grafana_datasource_uses_its_own_basic_auth_login(topology):
    mf = rendered(topology, "grafana")
    path = f"{files.GRAFANA_PROVISIONING}/datasources/novaops.yml"
    (ds,) = yaml.safe_load(mf.files[path])["datasources"]
    assert ds["basicAuth"] is True and ds["basicAuthUser"] == "grafana"
    assert ds["secureJsonData"] == {"basicAuthPassword": "pw-grafana"}
    assert path in mf.secret_paths


@pytest.mark.parametrize("kind", ["prometheus", "alertmanager"])
def test_health_checks_read_the_login_from_a_file(topology, kind):
    # Their /-/ready answers 401 without a login (exporter-toolkit exempts no path).
    check = engines.kinds()[kind].healthcheck
    assert check[check.index("--netrc-file") + 1] == files.WEB_NETRC
    netrc = rendered(topology, kind).files[files.WEB_NETRC]
    assert netrc == f"machine 127.0.0.1 login {kind} password pw-{kind}\n"


@pulumi.runtime.test
def test_under_mocks_web_passwords_are_0600_files_and_a_secret_output():
    mocks, result, done = run_program("dev")

    def verify(_):
        web = {n: pw for n, pw in mocks.generated.items() if n.startswith("web-")}
        assert sorted(web) == [f"web-{u}-password" for u in ("alertmanager", "grafana", "operator", "prometheus")]
        for name in ("novaops-dev-prometheus", "novaops-dev-alertmanager"):
            c = mocks.container(name)
            shown = [*reveal(c.inputs.get("envs") or []), *reveal(c.inputs["command"])]
            shown += reveal(c.inputs["healthcheck"])["tests"]
            assert not any(pw in arg for pw in web.values() for arg in shown), name
            # Command and env come from the rendering with placeholder secrets: one there would
            # be the real password once rendered for real.
            assert not any("<password:" in arg or "<hash:" in arg for arg in shown), name
            up = uploads(c)
            assert all(up[p][1] and up[p][0]["permissions"] == "0600" for p in (files.WEB_CONFIG, files.WEB_NETRC))
            assert not any(pw in up[files.WEB_CONFIG][0]["content"] for pw in web.values())
        assert "web-operator-password" not in str(reveal(mocks.container("novaops-dev-prometheus").inputs))
        return pulumi.Output.from_input(result.outputs["monitoringOperatorPassword"]).is_secret()

    return done.apply(verify).apply(lambda secret: secret or pytest.fail("monitoringOperatorPassword not secret"))


def test_stackctl_writes_the_operator_login_for_ansible(tmp_path, monkeypatch):
    from tools import stackctl

    monkeypatch.setattr(stackctl, "STATE_DIR", tmp_path)
    outputs = {"sshPrivateKey": "k", "monitoringOperatorUser": LOGIN[0], "monitoringOperatorPassword": LOGIN[1]}
    stackctl.write_ansible_files("t", outputs)
    written = yaml.safe_load((tmp_path / "t" / "secrets.yml").read_text())
    assert written["novaops_monitoring_operator_user"] == LOGIN[0]
    assert written["novaops_monitoring_operator_password"] == LOGIN[1]
    netrc = (tmp_path / "t" / "monitoring.netrc").read_text()
    assert netrc == f"machine 127.0.0.1 login {LOGIN[0]} password {LOGIN[1]}\n"
    amtool = yaml.safe_load((tmp_path / "t" / "monitoring-http.yml").read_text())
    assert amtool == {"basic_auth": {"username": LOGIN[0], "password": LOGIN[1]}}
    for name in ("secrets.yml", "monitoring.netrc", "monitoring-http.yml"):
        assert (tmp_path / "t" / name).stat().st_mode & 0o077 == 0, name


# --------------------------------------------------------------------------- clients, against a fake server


class _Prometheus(http.server.BaseHTTPRequestHandler):
    """Answers like Prometheus behind basic auth: 401 without the operator's login."""

    expected = "Basic " + base64.b64encode(":".join(LOGIN).encode()).decode()

    def do_GET(self):
        if self.headers.get("Authorization") != self.expected:
            self.send_response(401)
            self.send_header("WWW-Authenticate", 'Basic realm="prometheus"')
            self.end_headers()
            return
        data = {"alerts": []} if self.path.startswith("/api/v1/alerts") else {"resultType": "vector", "result": []}
        body = json.dumps({"status": "success", "data": data}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def prometheus():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Prometheus)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server.server_address
    server.shutdown()


def test_status_sends_the_operator_login(prometheus):
    from tools import status

    base = "http://{}:{}".format(*prometheus)
    assert status.Sources(2, LOGIN).prometheus(base, "up") == []
    assert status.Sources(2, LOGIN).alerts(base) == []
    with pytest.raises(status.Unreachable, match="401"):
        status.Sources(2).prometheus(base, "up")


def test_status_takes_the_login_from_the_outputs(monkeypatch):
    from tools import status

    seen = []
    outputs = {"stack": "t", "monitoringOperatorUser": LOGIN[0], "monitoringOperatorPassword": LOGIN[1]}
    monkeypatch.setattr(status, "stack_outputs", lambda stack: outputs)
    monkeypatch.setattr(
        status, "collect", lambda out, src: seen.append(src.login) or status.Report(stack="t", tiers=[])
    )
    status.main(["--stack", "t"])
    assert seen == [LOGIN]


def test_drills_query_prometheus_with_the_login(prometheus):
    from tools.drills.runner import Ctx

    ctx = Ctx.__new__(Ctx)  # no docker: only the endpoints are read
    ctx.endpoints = SimpleNamespace(prometheus=prometheus, monitoring_login=LOGIN)
    assert ctx.prometheus_query("up") == []


def test_the_drills_endpoints_carry_the_login_of_the_outputs():
    from tools.novaload import endpoints

    assert endpoints.monitoring_login({"monitoringOperatorUser": "operator", "monitoringOperatorPassword": "x"}) == (
        "operator",
        "x",
    )
    assert (
        endpoints.monitoring_login({"monitoringOperatorUser": "operator", "monitoringOperatorPassword": "[secret]"})
        is None
    )


def test_health_bench_queries_with_the_login(prometheus):
    import urllib.error

    from tests.bench import health_bench

    base = "http://{}:{}".format(*prometheus)
    assert health_bench.query(base, "up", 0, LOGIN) == {}
    with pytest.raises(urllib.error.HTTPError, match="401"):
        health_bench.query(base, "up", 0)
