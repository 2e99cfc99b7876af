"""Verify: config loaded, routing and inhibition as designed, delivery to the dev webhook."""

import json
import time
import uuid

testinfra_hosts = ["ansible://novaops-molecule-alertmanager"]

AM = "http://127.0.0.1:9093"
# prepare.yml's login: Alertmanager asks for basic auth on every path.
CURL = "curl --netrc-file /etc/novaops/web.netrc"
AMTOOL = f"amtool --alertmanager.url={AM} --http.config.file=/etc/novaops/amtool-http.yml"
RECEIVER = "http://novaops-molecule-alert-receiver:9095"


def _json(host, cmd):
    return json.loads(host.check_output(cmd))


def test_files(host):
    cfg = host.file("/etc/novaops/alertmanager.yml")
    assert cfg.user == "prometheus" and cfg.mode == 0o600
    assert "molecule-throwaway" not in cfg.content_string  # secrets live in files of their own
    for name in ("pager-routing-key", "chat-webhook-url", "email-auth-password"):
        f = host.file(f"/etc/novaops/alertmanager-secrets/{name}")
        assert f.user == "prometheus" and f.mode == 0o600


def test_config_loaded(host):
    status = _json(host, f"{CURL} -fsS {AM}/api/v2/status")
    original = status["config"]["original"]
    for needle in ("dev-webhook", "routing_key_file", "api_url_file", "auth_password_file", "TierDown"):
        assert needle in original
    assert "molecule-throwaway" not in original
    assert host.run(f"{CURL} -fsS {AM}/-/ready").rc == 0


def test_routes(host):
    cases = {
        "severity=page tier=episodic alertname=TierDown": "dev-webhook,pager",
        "severity=ticket tier=episodic alertname=PatroniMemberDown": "dev-webhook,chat",
        "severity=ticket tier=all alertname=BackupHostDown": "dev-webhook,email",
        "severity=info tier=all alertname=Info": "dev-webhook,null",
    }
    for labels, expected in cases.items():
        out = host.check_output(
            f"amtool config routes test --config.file=/etc/novaops/alertmanager.yml {labels} 2>/dev/null"
        )
        assert out.strip() == expected, labels


def test_delivery_and_inhibition(host):
    tier = f"molecule-{uuid.uuid4().hex[:8]}"
    since = int(time.time()) - 5
    host.check_output(f"{AMTOOL} alert add alertname=TierDown severity=page tier={tier} service={tier}")
    host.check_output(f"{AMTOOL} alert add alertname=PatroniMemberDown severity=ticket tier={tier} service={tier}-1")
    # Another tier: TierDown inhibits everything else in its own tier.
    host.check_output(f"{AMTOOL} alert add alertname=MoleculeDelivery severity=info tier={tier}-b service=molecule")

    deadline = time.monotonic() + 90
    got = []
    while time.monotonic() < deadline:
        got = _json(host, f"curl -fsS '{RECEIVER}/alerts?alertname=MoleculeDelivery&since={since}'")
        if any(a["labels"].get("tier") == f"{tier}-b" for a in got):
            break
        time.sleep(3)
    assert any(a["labels"].get("tier") == f"{tier}-b" and a["status"] == "firing" for a in got), got

    alerts = _json(host, f"{CURL} -fsS -G {AM}/api/v2/alerts --data-urlencode 'filter=tier=\"{tier}\"'")
    by_name = {a["labels"]["alertname"]: a for a in alerts}
    assert by_name["PatroniMemberDown"]["status"]["inhibitedBy"], by_name["PatroniMemberDown"]
    assert not by_name["TierDown"]["status"]["inhibitedBy"]

    metrics = host.check_output(f"curl -fsS {RECEIVER}/metrics")
    assert 'novaops_alert_receiver_received_total{alertname="MoleculeDelivery",status="firing"}' in metrics


def test_a_silence_needs_the_login(host):
    bare = host.run(f"amtool --alertmanager.url={AM} silence add alertname=Molecule -c molecule -d 1m")
    assert bare.rc != 0 and "401" in bare.stderr + bare.stdout
    silence = host.check_output(f"{AMTOOL} silence add alertname=Molecule -c molecule -d 1m").strip()
    host.check_output(f"{AMTOOL} silence expire {silence}")
