"""Verify: every shipped rule is loaded by the running Prometheus and the unit tests pass."""

import json
from pathlib import Path

import yaml

ROLE = Path(__file__).resolve().parents[3]
NETRC = "/etc/novaops/web.netrc"  # prepare.yml's login: Prometheus asks for basic auth
RULE_FILES = sorted((ROLE / "files" / "rules").glob("*.yml"))


def _rules_in_repo():
    alerts, records = set(), set()
    for path in RULE_FILES:
        for group in yaml.safe_load(path.read_text())["groups"]:
            for rule in group["rules"]:
                (alerts if "alert" in rule else records).add(rule.get("alert") or rule["record"])
    return alerts, records


def _get(host, path):
    out = host.check_output(f"curl -fsS --netrc-file {NETRC} http://127.0.0.1:9090{path}")
    return json.loads(out)["data"]


def test_rule_files_deployed(host):
    for path in RULE_FILES:
        f = host.file(f"/etc/novaops/rules/{path.name}")
        assert f.exists and f.user == "prometheus" and f.mode == 0o600
    assert host.file("/etc/novaops/rules-tests/availability.yml").exists


def test_every_rule_loaded(host):
    data = _get(host, "/api/v1/rules")
    loaded = [r for g in data["groups"] for r in g["rules"]]
    alerts, records = _rules_in_repo()
    assert {r["name"] for r in loaded if r["type"] == "alerting"} == alerts
    assert {r["name"] for r in loaded if r["type"] == "recording"} == records
    assert all(r["health"] != "err" for r in loaded), [r for r in loaded if r["health"] == "err"]
    assert {g["file"] for g in data["groups"]} == {f"/etc/novaops/rules/{p.name}" for p in RULE_FILES}


def test_reload_succeeded(host):
    assert _get(host, "/api/v1/status/runtimeinfo")["reloadConfigSuccess"] is True


def test_lifecycle_is_off_and_a_login_is_required(host):
    assert host.run("curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1:9090/api/v1/rules").stdout == "401"
    quit_ = host.run(
        f"curl -s -o /dev/null -w '%{{http_code}}' --netrc-file {NETRC} -X POST http://127.0.0.1:9090/-/quit"
    )
    assert quit_.stdout == "403", "the lifecycle API is off: the role reloads with SIGHUP"


def test_promtool_unit_tests_pass(host):
    cmd = host.run("cd /etc/novaops/rules-tests && promtool test rules *.yml")
    assert cmd.rc == 0, cmd.stdout + cmd.stderr
