"""Alerting rules, their promtool tests, runbooks and the Alertmanager template, without Docker.

promtool itself runs in tests/ansible/test_promtool.py (marker docker) and in the role.
"""

from __future__ import annotations

import functools
import json
import re
from pathlib import Path

import jinja2
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
ALERTS_ROLE = ROOT / "ansible" / "roles" / "prometheus_alerts"
AM_ROLE = ROOT / "ansible" / "roles" / "alertmanager"
RULE_FILES = sorted((ALERTS_ROLE / "files" / "rules").glob("*.yml"))
TEST_FILES = sorted((ALERTS_ROLE / "files" / "tests").glob("*.yml"))
SEVERITIES = {"page", "ticket", "info"}


@functools.cache
def _load(path: Path):
    return yaml.load(path.read_text(), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))


def _rules():
    for path in RULE_FILES:
        for group in _load(path)["groups"]:
            for rule in group["rules"]:
                yield path, group["name"], rule


ALERTS = [(p, g, r) for p, g, r in _rules() if "alert" in r]
ALERT_NAMES = sorted({r["alert"] for _, _, r in ALERTS})


def test_there_are_rules_and_tests():
    assert len(RULE_FILES) >= 5 and len(TEST_FILES) >= 5
    assert len(ALERT_NAMES) >= 30


def test_role_defaults_list_every_file():
    defaults = _load(ALERTS_ROLE / "defaults" / "main.yml")
    assert sorted(defaults["prometheus_alerts_rule_files"]) == [p.name for p in RULE_FILES]
    assert sorted(defaults["prometheus_alerts_test_files"]) == [p.name for p in TEST_FILES]
    # Prometheus loads /etc/novaops/rules/*.yml: only rule files may live there.
    assert all(p.name.startswith("novaops-") for p in RULE_FILES)


def test_group_names_unique():
    names = [g["name"] for p in RULE_FILES for g in _load(p)["groups"]]
    assert len(names) == len(set(names))


@pytest.mark.parametrize("path,group,rule", ALERTS, ids=[f"{g}/{r['alert']}" for _, g, r in ALERTS])
def test_alert_has_required_fields(path, group, rule):
    assert "for" in rule and re.fullmatch(r"\d+[smh]", rule["for"]), "every alert needs for:"
    labels = rule.get("labels") or {}
    assert labels.get("severity") in SEVERITIES
    assert labels.get("tier"), "tier label (templated from the series or a tier name / all)"
    assert labels.get("service"), "service label"
    url = (rule.get("annotations") or {}).get("runbook_url", "")
    assert re.fullmatch(r"runbooks/[a-z0-9-]+\.md", url), f"repo-relative runbook path, got {url!r}"
    assert (ROOT / url).is_file(), f"{url} does not exist"
    assert (rule.get("annotations") or {}).get("summary")


def test_recording_rules_follow_naming():
    for _, _, rule in _rules():
        if "record" in rule:
            assert re.fullmatch(r"[a-z_]+:[a-z0-9_]+(:[a-z0-9_]+)?", rule["record"]), rule["record"]


def _cases():
    for path in TEST_FILES:
        doc = _load(path)
        for test in doc["tests"]:
            for case in test.get("alert_rule_test") or []:
                yield path, doc, case


CASES = list(_cases())


def test_test_files_point_at_shipped_rules():
    covered = set()
    for path in TEST_FILES:
        doc = _load(path)
        for rf in doc["rule_files"]:
            target = (path.parent / rf).resolve()
            assert target.is_file(), f"{path.name}: {rf}"
            covered.add(target)
    assert covered == {p.resolve() for p in RULE_FILES}


@pytest.mark.parametrize("name", ALERT_NAMES)
def test_every_alert_fires_and_stays_quiet_in_some_case(name):
    fires = [c for _, _, c in CASES if c["alertname"] == name and c.get("exp_alerts")]
    quiet = [c for _, _, c in CASES if c["alertname"] == name and not c.get("exp_alerts")]
    assert fires, f"{name}: no promtool case where it fires"
    assert quiet, f"{name}: no promtool case where it does not fire"


def test_expected_alerts_carry_the_rule_labels():
    by_name = {}
    for _, _, rule in ALERTS:
        by_name.setdefault(rule["alert"], []).append(rule)
    for path, _, case in CASES:
        for exp in case.get("exp_alerts") or []:
            labels = exp["exp_labels"]
            assert labels.get("severity") in {r["labels"]["severity"] for r in by_name[case["alertname"]]}, path.name
            assert "runbook_url" in (exp.get("exp_annotations") or {}), path.name


def test_runbooks_readme_lists_alert_runbooks():
    urls = {r["annotations"]["runbook_url"] for _, _, r in ALERTS}
    readme = (ROOT / "runbooks" / "README.md").read_text()
    for url in urls:
        assert Path(url).name in readme, f"runbooks/README.md does not list {url}"


# --- Alertmanager template ---------------------------------------------------------------


def _render_am(**overrides) -> dict:
    defaults = _load(AM_ROLE / "defaults" / "main.yml")
    values = {**defaults, "novaops_environment": "dev", "novaops_stack": "t", **overrides}
    env = jinja2.Environment(undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=False)
    env.filters["to_json"] = json.dumps
    env.filters["bool"] = lambda v: v if isinstance(v, bool) else str(v).lower() in ("true", "yes", "1")
    dev = values["alertmanager_dev_webhook"]
    if isinstance(dev, str) and "{{" in dev:
        values["alertmanager_dev_webhook"] = values["novaops_environment"] == "dev"
    values["alertmanager_dev_webhook_url"] = "http://t-alert-receiver:9095/alerts"
    enabled = []
    if not (values["alertmanager_dev_webhook"] and values["alertmanager_dev_webhook_only"]):
        enabled += ["pager"] if values["alertmanager_pager_routing_key"] else []
        enabled += ["chat"] if values["alertmanager_chat_webhook_url"] else []
        enabled += (
            ["email"]
            if (
                values["alertmanager_email_to"]
                and values["alertmanager_email_from"]
                and values["alertmanager_email_smarthost"]
            )
            else []
        )
    values["alertmanager_enabled_receivers"] = enabled
    text = env.from_string((AM_ROLE / "templates" / "alertmanager.yml.j2").read_text()).render(**values)
    return yaml.safe_load(text)


def _route_receivers(route):
    yield route["receiver"]
    for child in route.get("routes") or []:
        yield from _route_receivers(child)


@pytest.mark.parametrize(
    "overrides",
    [
        {},
        {"novaops_environment": "prod", "alertmanager_dev_webhook": False},
        {"alertmanager_pager_routing_key": "x", "alertmanager_chat_webhook_url": "x"},
        {
            "alertmanager_email_to": "a@b.invalid",
            "alertmanager_email_from": "c@b.invalid",
            "alertmanager_email_smarthost": "smtp.b.invalid:587",
            "alertmanager_email_auth_password": "x",
        },
        {"alertmanager_pager_routing_key": "x", "alertmanager_dev_webhook_only": True},
    ],
    ids=["dev-defaults", "prod-no-secrets", "pager-chat", "email", "dev-only"],
)
def test_alertmanager_template(overrides):
    cfg = _render_am(**overrides)
    names = [r["name"] for r in cfg["receivers"]]
    assert len(names) == len(set(names))
    assert set(_route_receivers(cfg["route"])) <= set(names), "every route names a defined receiver"
    assert cfg["route"]["group_by"] == ["alertname", "tier"]
    # Secrets are referenced by file, never inlined.
    text = json.dumps(cfg)
    assert '"x"' not in text
    for r in cfg["receivers"]:
        for pd in r.get("pagerduty_configs", []):
            assert "routing_key" not in pd and pd["routing_key_file"].startswith("/etc/novaops/")
        for sl in r.get("slack_configs", []):
            assert "api_url" not in sl and sl["api_url_file"].startswith("/etc/novaops/")
        for em in r.get("email_configs", []):
            assert "auth_password" not in em
    inhibit = cfg["inhibit_rules"]
    assert any(i["source_matchers"] == ['alertname="TierDown"'] and i["equal"] == ["tier"] for i in inhibit)
    assert any(
        i["source_matchers"] == ['severity="page"'] and set(i["equal"]) == {"alertname", "tier"} for i in inhibit
    )


def test_alertmanager_route_tests_cover_every_route():
    defaults = _load(AM_ROLE / "defaults" / "main.yml")
    tested = [tuple(c["expect"]) for c in defaults["alertmanager_route_tests"] if "expect" in c]
    for route in defaults["alertmanager_routes"]:
        assert tuple(route["receivers"]) in tested, route
    assert any("expect" not in c for c in defaults["alertmanager_route_tests"]), "the root route is tested too"
