"""images/exporters/alert-receiver: run the script on a loopback port, no Docker."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "images" / "exporters" / "alert-receiver"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _payload(*alerts, status="firing"):
    return {
        "version": "4",
        "receiver": "dev-webhook",
        "status": status,
        "groupKey": "{}:{}",
        "alerts": [{"status": status, "labels": labels, "annotations": {}} for labels in alerts],
    }


@pytest.fixture
def receiver(tmp_path):
    port = _free_port()
    store = tmp_path / "alerts.jsonl"
    proc = subprocess.Popen(
        [sys.executable, str(SCRIPT), "--listen", f"127.0.0.1:{port}", "--store", str(store), "--keep", "3"],
        stderr=subprocess.PIPE,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    for _ in range(50):
        try:
            urllib.request.urlopen(base + "/-/healthy", timeout=1)
            break
        except OSError:
            time.sleep(0.1)
    yield proc, base, store
    if proc.poll() is None:
        proc.kill()
        proc.wait(5)


def _post(base, body) -> dict:
    req = urllib.request.Request(
        base + "/alerts", data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}, method="POST"
    )
    return json.load(urllib.request.urlopen(req, timeout=5))


def _get(base, path):
    return urllib.request.urlopen(base + path, timeout=5).read().decode()


def test_script_is_executable_stdlib_only():
    assert os.access(SCRIPT, os.X_OK)
    imports = [line for line in SCRIPT.read_text().splitlines() if line.startswith(("import ", "from "))]
    allowed = {
        "__future__",
        "argparse",
        "collections",
        "json",
        "os",
        "signal",
        "sys",
        "threading",
        "time",
        "http.server",
        "urllib.parse",
    }
    assert {line.split()[1] for line in imports} <= allowed


def test_receive_store_query_metrics_and_stop(receiver):
    proc, base, store = receiver
    assert _post(base, _payload({"alertname": "TierDown", "tier": "episodic"}, {"alertname": "Other"})) == {
        "received": 2
    }
    time.sleep(0.05)
    t = time.time()
    assert _post(base, _payload({"alertname": "TierDown", "tier": "episodic"}, status="resolved")) == {"received": 1}

    lines = [json.loads(line) for line in store.read_text().splitlines()]
    assert len(lines) == 3 and all("received_at" in r for r in lines)

    tier_down = json.loads(_get(base, "/alerts?alertname=TierDown"))
    assert [a["status"] for a in tier_down] == ["firing", "resolved"]
    assert len(json.loads(_get(base, f"/alerts?since={t}"))) == 1

    # Bounded memory: --keep 3.
    _post(base, _payload({"alertname": "A"}, {"alertname": "B"}))
    assert [a["labels"]["alertname"] for a in json.loads(_get(base, "/alerts"))] == ["TierDown", "A", "B"]

    metrics = _get(base, "/metrics")
    assert 'novaops_alert_receiver_received_total{alertname="TierDown",status="firing"} 1' in metrics
    assert 'novaops_alert_receiver_received_total{alertname="TierDown",status="resolved"} 1' in metrics

    with pytest.raises(urllib.error.HTTPError) as bad:
        urllib.request.urlopen(urllib.request.Request(base + "/alerts", data=b"not json", method="POST"), timeout=5)
    assert bad.value.code == 400

    proc.send_signal(signal.SIGTERM)
    assert proc.wait(10) == 0


def test_memory_restored_from_store(tmp_path):
    store = tmp_path / "alerts.jsonl"
    store.write_text(
        "".join(json.dumps({"received_at": i, "labels": {"alertname": f"A{i}"}}) + "\n" for i in range(10))
    )
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, str(SCRIPT), "--listen", f"127.0.0.1:{port}", "--store", str(store), "--keep", "4"],
        stderr=subprocess.DEVNULL,
    )
    try:
        for _ in range(50):
            try:
                got = json.loads(_get(f"http://127.0.0.1:{port}", "/alerts"))
                break
            except OSError:
                time.sleep(0.1)
        assert [a["labels"]["alertname"] for a in got] == ["A6", "A7", "A8", "A9"]
    finally:
        proc.terminate()
        assert proc.wait(10) == 0
