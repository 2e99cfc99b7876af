"""images/exporters/novaops-prober: its probes against small fake servers on loopback, its
rounds with fake probes, and the script end to end on a loopback port. No Docker."""

from __future__ import annotations

import importlib.machinery
import importlib.util
import json
import socket
import socketserver
import subprocess
import sys
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry, generate_latest

from components.engines import probing
from components.engines.etcd import probe as etcd_probe
from components.engines.nats import client as nats_client
from components.engines.nats import probe as nats_probe
from components.engines.patroni import probe as postgres_probe
from components.engines.valkey import probe as valkey_probe

SCRIPT = Path(__file__).resolve().parents[2] / "images" / "exporters" / "novaops-prober"


def _load():
    # The image has the NATS client and the shared probe module next to the script (novaops_nats.py,
    # novaops_probe.py); run as a script here, the symlinks in images/exporters stand in for them.
    sys.modules.setdefault("novaops_nats", nats_client)
    sys.modules.setdefault("novaops_probe", probing)
    loader = importlib.machinery.SourceFileLoader("novaops_prober", str(SCRIPT))
    spec = importlib.util.spec_from_loader("novaops_prober", loader)
    module = importlib.util.module_from_spec(spec)
    sys.modules["novaops_prober"] = module  # dataclasses resolve their module by name
    loader.exec_module(module)
    return module


prober = _load()


def target(protocol="valkey", port=1, **kw):
    base = {"tier": "t", "service": "t-1", "kind": protocol, "protocol": protocol, "host": "127.0.0.1", "port": port}
    return prober.Target(**{**base, **kw})


# --------------------------------------------------------------------------- fake servers


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True


@pytest.fixture
def tcp_server():
    servers = []

    def start(handle):
        handler = type("H", (socketserver.BaseRequestHandler,), {"handle": lambda self: handle(self.request)})
        server = _Server(("127.0.0.1", 0), handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return server.server_address[1]

    yield start
    for s in servers:
        s.shutdown()
        s.server_close()


def _lines(sock):
    buf = b""
    while True:
        chunk = sock.recv(4096)
        if not chunk:
            return
        buf += chunk
        while b"\r\n" in buf:
            line, buf = buf.split(b"\r\n", 1)
            yield line


def fake_valkey(password: str):
    def handle(sock):
        # RESP arrays: *N, then $len / value pairs; answers AUTH and PING like Valkey does.
        lines = _lines(sock)
        for header in lines:
            parts = [next(lines) for _ in range(int(header[1:]) * 2)][1::2]
            if parts[0] == b"AUTH":
                ok = parts[1].decode() == password
                sock.sendall(b"+OK\r\n" if ok else b"-WRONGPASS invalid username-password pair\r\n")
            elif parts[0] == b"PING":
                sock.sendall(b"+PONG\r\n")

    return handle


def fake_nats(user: str, password: str, async_info: bool = False):
    def handle(sock):
        sock.sendall(b'INFO {"server_id":"x","auth_required":true}\r\n')
        for line in _lines(sock):
            if line.startswith(b"CONNECT "):
                opts = json.loads(line[8:])
                if (opts.get("user"), opts.get("pass")) != (user, password):
                    sock.sendall(b"-ERR 'Authorization Violation'\r\n")
                    return
                if async_info:
                    sock.sendall(b'INFO {"connect_urls":[]}\r\nPING\r\n')
            elif line == b"PING":
                sock.sendall(b"PONG\r\n")

    return handle


def silent(sock):
    time.sleep(5)


@pytest.fixture
def etcd_server():
    servers = []

    def start(status: int, body: dict):
        seen = []

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def do_GET(self):
                seen.append((self.command, self.path))
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return server.server_address[1], seen

    yield start
    for s in servers:
        s.shutdown()
        s.server_close()


# --------------------------------------------------------------------------- probes


def test_valkey_probe_authenticates_then_pings(tcp_server):
    port = tcp_server(fake_valkey("s3cret"))
    valkey_probe.probe(target("valkey", port, password="s3cret"), 2)
    with pytest.raises(prober.ProbeFailed, match="AUTH answered -WRONGPASS"):
        valkey_probe.probe(target("valkey", port, password="wrong"), 2)


def test_nats_probe_needs_an_accepted_connect(tcp_server):
    port = tcp_server(fake_nats("nova", "pw"))
    nats_probe.probe(target("nats", port, user="nova", password="pw"), 2)
    with pytest.raises(prober.ProbeFailed, match="Authorization Violation"):
        nats_probe.probe(target("nats", port, user="nova", password="bad"), 2)
    # async INFO and a server PING before the PONG are part of the protocol
    async_port = tcp_server(fake_nats("nova", "pw", async_info=True))
    nats_probe.probe(target("nats", async_port, user="nova", password="pw"), 2)


def test_etcd_probe_reads_health_without_credentials(etcd_server):
    """/health needs no etcd user (auth on); it is false without a leader or quorum."""
    port, seen = etcd_server(200, {"health": "true", "reason": ""})
    etcd_probe.probe(target("etcd", port), 2)
    assert seen == [("GET", "/health")]
    port, _ = etcd_server(503, {"health": "false", "reason": "RAFT NO LEADER"})
    with pytest.raises(prober.ProbeFailed, match="HTTP 503.*NO LEADER"):
        etcd_probe.probe(target("etcd", port), 2)
    port, _ = etcd_server(200, {"health": "false", "reason": "ALARM NOSPACE"})
    with pytest.raises(prober.ProbeFailed, match="not healthy.*NOSPACE"):
        etcd_probe.probe(target("etcd", port), 2)


def test_postgres_probe_logs_in_and_selects_one(monkeypatch):
    import psycopg

    calls = {}

    class Conn:
        def __enter__(self):
            return self

        def __exit__(self, *a):
            return False

        def execute(self, sql):
            calls["sql"] = sql
            return type("Cur", (), {"fetchone": lambda self: (1,)})()

    monkeypatch.setattr(psycopg, "connect", lambda **kw: calls.setdefault("kw", kw) and Conn())
    postgres_probe.probe(target("postgres", 5432, user="monitor", password="pw", database="postgres"), 1.5)
    kw = calls["kw"]
    assert calls["sql"] == "select 1"
    assert (kw["user"], kw["password"], kw["dbname"], kw["port"]) == ("monitor", "pw", "postgres", 5432)
    assert kw["connect_timeout"] == 2 and kw["tcp_user_timeout"] == 1500
    assert "statement_timeout=1500" in kw["options"]


def test_postgres_probe_fails_on_a_closed_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    started = time.monotonic()
    result = prober.probe_once(target("postgres", port, user="monitor", password="pw", database="postgres"), 2)
    assert not result.success and "OperationalError" in result.error
    assert time.monotonic() - started < 3


def test_a_silent_server_fails_within_the_timeout(tcp_server):
    port = tcp_server(silent)
    started = time.monotonic()
    result = prober.probe_once(target("valkey", port, password="x"), 0.3)
    assert not result.success and "timed out" in result.error
    assert result.seconds == 0.3 and time.monotonic() - started < 1.5


# --------------------------------------------------------------------------- rounds and metrics


def _config(*targets, interval=5, timeout=0.5):
    return prober.Config(interval, timeout, tuple(targets))


def _samples(registry, name):
    out = {}
    for metric in registry.collect():
        for s in metric.samples:
            if s.name == name:
                out[tuple(sorted(s.labels.items()))] = s.value
    return out


def test_a_round_records_latency_and_success_per_service():
    fast, broken = target("valkey", service="w-1", tier="working"), target("etcd", service="c-1", tier="coordination")

    def ok(t, timeout):
        time.sleep(0.03)

    def refuse(t, timeout):
        raise ConnectionRefusedError("refused")

    logged = []
    registry = CollectorRegistry()
    # timeout 1.5 s: the failed probe is observed as 1.5 s, the 30 ms one well under 1 s even on a busy machine
    p = prober.Prober(
        _config(fast, broken, timeout=1.5), registry, probes={"valkey": ok, "etcd": refuse}, log=logged.append
    )
    for _ in range(2):
        p.run_round()
    success = _samples(registry, "novaops_probe_success")
    assert success[(("kind", "valkey"), ("service", "w-1"), ("tier", "working"))] == 1
    assert success[(("kind", "etcd"), ("service", "c-1"), ("tier", "coordination"))] == 0
    buckets = {
        (dict(k)["service"], dict(k)["le"]): v
        for k, v in _samples(registry, "novaops_probe_duration_seconds_bucket").items()
    }
    assert {le for _, le in buckets} >= {"0.005", "0.01", "0.02", "0.05", "0.1", "0.25", "0.5", "1.0", "+Inf"}
    assert buckets[("w-1", "0.02")] == 0 and buckets[("w-1", "1.0")] == 2
    # a failed probe counts as the full timeout: never under 100 ms
    assert buckets[("c-1", "1.0")] == 0 and buckets[("c-1", "2.5")] == 2
    assert len(logged) == 1 and "c-1" in logged[0] and "refused" in logged[0], "logged once, when it starts failing"
    text = generate_latest(registry).decode()
    assert 'novaops_probe_duration_seconds_count{kind="etcd",service="c-1",tier="coordination"} 2.0' in text


def test_a_hung_probe_does_not_hold_up_the_round():
    release = threading.Event()

    def hang(t, timeout):
        release.wait(10)

    p = prober.Prober(
        _config(target("nats", service="s-1"), interval=5, timeout=0.2),
        CollectorRegistry(),
        probes={"nats": hang},
        log=lambda line: None,
    )
    started = time.monotonic()
    (result,) = p.run_round()
    release.set()
    assert not result.success and "did not return" in result.error
    assert time.monotonic() - started < 5


def test_recovery_is_logged():
    state = {"up": False}

    def flaky(t, timeout):
        if not state["up"]:
            raise OSError("down")

    logged = []
    p = prober.Prober(
        _config(target("etcd", service="c-2")), CollectorRegistry(), probes={"etcd": flaky}, log=logged.append
    )
    p.run_round()
    state["up"] = True
    p.run_round()
    p.run_round()
    assert [line.split(": ", 1)[1].split(" ")[0] for line in logged] == ["c-2", "c-2"] and "recovered" in logged[1]


@pytest.mark.parametrize(
    "data,problem",
    [
        ({"targets": []}, "targets: must be a non-empty list"),
        ({"interval_seconds": 2, "timeout_seconds": 2, "targets": [{}]}, "timeout_seconds (2) must be shorter"),
        (
            {
                "targets": [
                    {"tier": "w", "service": "w-1", "kind": "valkey", "protocol": "valkey", "host": "h", "port": 1}
                ]
            },
            "targets[0] (w-1): a valkey probe needs password",
        ),
        (
            {
                "targets": [
                    {"tier": "w", "service": "w-1", "kind": "valkey", "protocol": "redis", "host": "h", "port": 1}
                ]
            },
            "targets[0] (w-1): unknown protocol 'redis'",
        ),
        (
            {
                "targets": [
                    {"tier": "c", "service": "c-1", "kind": "etcd", "protocol": "etcd", "host": "h", "port": 99999}
                ]
            },
            "targets[0] (c-1): port must be",
        ),
        (
            {"targets": [{"tier": "c", "service": "c-1", "kind": "etcd", "protocol": "etcd", "port": 1}]},
            "targets[0] (c-1): missing host",
        ),
        (
            {
                "targets": [{"tier": "c", "service": "c-1", "kind": "etcd", "protocol": "etcd", "host": "h", "port": 1}]
                * 2
            },
            "targets[1] (c-1): service 'c-1' is listed twice",
        ),
    ],
)
def test_bad_config_names_the_culprit(data, problem):
    with pytest.raises(prober.ConfigError) as err:
        prober.parse_config(data)
    assert problem in str(err.value)


# --------------------------------------------------------------------------- the script


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_script_serves_probe_metrics(tmp_path, etcd_server, tcp_server):
    etcd_port, _ = etcd_server(200, {"health": "true", "reason": ""})
    valkey_port = tcp_server(fake_valkey("pw"))
    config = tmp_path / "prober.json"
    config.write_text(
        json.dumps(
            {
                "interval_seconds": 1,
                "timeout_seconds": 0.5,
                "targets": [
                    {
                        "tier": "coordination",
                        "service": "coordination-1",
                        "kind": "etcd",
                        "protocol": "etcd",
                        "host": "127.0.0.1",
                        "port": etcd_port,
                    },
                    {
                        "tier": "working",
                        "service": "working-1",
                        "kind": "valkey",
                        "protocol": "valkey",
                        "host": "127.0.0.1",
                        "port": valkey_port,
                        "password": "wrong",
                    },
                ],
            }
        )
    )
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, str(SCRIPT), "--config", str(config), "--listen", f"127.0.0.1:{port}"],
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        text = ""
        deadline = time.monotonic() + 30  # generous: CI machines may be busy
        while time.monotonic() < deadline and text.count("novaops_probe_success{") < 2:
            try:
                text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2).read().decode()
            except OSError:
                pass
            time.sleep(0.2)
        assert 'novaops_probe_success{kind="etcd",service="coordination-1",tier="coordination"} 1.0' in text
        assert 'novaops_probe_success{kind="valkey",service="working-1",tier="working"} 0.0' in text
        assert (
            'novaops_probe_duration_seconds_bucket{kind="etcd",le="0.1",service="coordination-1",tier="coordination"}'
        ) in text
    finally:
        proc.terminate()
        _, err = proc.communicate(timeout=10)
    assert proc.returncode == 0, err
    assert "working-1" in err and "WRONGPASS" in err and "password" not in err.replace("username-password", "")


def test_script_refuses_a_bad_config(tmp_path):
    config = tmp_path / "prober.json"
    config.write_text(
        json.dumps(
            {
                "targets": [
                    {"tier": "w", "service": "w-9", "kind": "nats", "protocol": "nats", "host": "h", "port": 4222}
                ]
            }
        )
    )
    run = subprocess.run(
        [sys.executable, str(SCRIPT), "--config", str(config)], capture_output=True, text=True, timeout=30
    )
    assert run.returncode == 1
    assert "targets[0] (w-9): a nats probe needs user, password" in run.stderr


def test_a_staggered_round_spreads_the_probes_over_the_interval():
    # All at once, the probes queue behind each other for the CPU and measure their own contention.
    targets = [target("valkey", service=f"w-{i}") for i in range(4)]
    started: list[float] = []

    def ok(t, timeout):
        started.append(time.monotonic())

    p = prober.Prober(
        _config(*targets, interval=1, timeout=0.2), CollectorRegistry(), probes={"valkey": ok}, stagger=True
    )
    assert p.start_offsets() == pytest.approx([0.0, 0.2, 0.4, 0.6])
    begin = time.monotonic()
    results = p.run_round()
    assert all(r.success for r in results) and len(results) == 4
    gaps = [b - a for a, b in zip(sorted(started), sorted(started)[1:], strict=False)]
    assert min(gaps) > 0.15 and time.monotonic() - begin < 1.5
    assert prober.Prober(_config(*targets), CollectorRegistry(), probes={"valkey": ok}).start_offsets() == [0.0] * 4
