"""components/engines/nats/client.py (the one NATS client) and nats-js-snapshot, its user in the backup
image, against a small fake NATS server on loopback. No Docker."""

from __future__ import annotations

import base64
import importlib.machinery
import importlib.util
import json
import socket
import socketserver
import sys
import threading
from pathlib import Path

import pytest

from components.engines.nats import client as nats

SNAPSHOT_SCRIPT = Path(__file__).resolve().parents[2] / "images" / "backup" / "nats-js-snapshot"


def _load_snapshot_tool():
    sys.modules.setdefault("novaops_nats", nats)  # next to the script in the image
    loader = importlib.machinery.SourceFileLoader("nats_js_snapshot", str(SNAPSHOT_SCRIPT))
    spec = importlib.util.spec_from_loader("nats_js_snapshot", loader)
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    return module


snapshot_tool = _load_snapshot_tool()


class FakeNats:
    """A NATS server speaking the text protocol; ``on_pub(server, subject, reply, payload)`` answers."""

    def __init__(self, on_pub, password="pw"):
        self.on_pub, self.password = on_pub, password
        self.subs: dict[str, str] = {}  # sid -> subject
        self.log: list[str] = []
        self.conn = None

    def send(self, data: bytes) -> None:
        self.conn.sendall(data)

    def msg(self, subject: str, payload: bytes = b"", reply: str | None = None) -> None:
        sid = next((sid for sid, pattern in self.subs.items() if _matches(pattern, subject)), "0")
        head = f"MSG {subject} {sid} {reply} {len(payload)}" if reply else f"MSG {subject} {sid} {len(payload)}"
        self.send(head.encode() + b"\r\n" + payload + b"\r\n")

    def handle(self, conn) -> None:
        self.conn = conn
        self.send(b'INFO {"server_id":"FAKE","headers":true,"auth_required":true}\r\n')
        buf = b""
        while True:
            data = conn.recv(1 << 16)
            if not data:
                return
            buf += data
            while b"\r\n" in buf:
                line, rest = buf.split(b"\r\n", 1)
                op, _, args = line.decode().partition(" ")
                if op == "PUB":
                    parts = args.split()
                    size = int(parts[-1])
                    if len(rest) < size + 2:
                        break
                    payload, buf = rest[:size], rest[size + 2 :]
                    self.log.append(parts[0])
                    self.on_pub(self, parts[0], parts[1] if len(parts) == 3 else None, payload)
                    continue
                buf = rest
                if op == "CONNECT":
                    if json.loads(args).get("pass") != self.password:
                        self.send(b"-ERR 'Authorization Violation'\r\n")
                        return
                elif op == "PING":
                    self.send(b"PONG\r\n")
                elif op == "SUB":
                    subject, sid = args.split()
                    self.subs[sid] = subject
                elif op == "UNSUB":
                    self.subs.pop(args.strip(), None)


def _matches(pattern: str, subject: str) -> bool:
    p, s = pattern.split("."), subject.split(".")
    return len(p) == len(s) and all(a in ("*", b) for a, b in zip(p, s, strict=True))


@pytest.fixture
def serve():
    servers = []

    def start(fake: FakeNats) -> str:
        class Server(socketserver.ThreadingTCPServer):
            daemon_threads = allow_reuse_address = True

        server = Server(
            ("127.0.0.1", 0),
            type("H", (socketserver.BaseRequestHandler,), {"handle": lambda self: fake.handle(self.request)}),
        )
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"127.0.0.1:{server.server_address[1]}"

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def _closed_port() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"127.0.0.1:{s.getsockname()[1]}"


def echo(server, subject, reply, payload):
    if reply:
        server.msg(reply, payload.upper())


# --------------------------------------------------------------------------- client


def test_the_first_server_that_answers_is_used(serve):
    address = serve(FakeNats(echo))
    client = nats.NatsClient.connect([_closed_port(), address], "nova", "pw", 2, name="test")
    assert client.request("x.y", b"hi") == b"HI"
    client.close()
    with pytest.raises(nats.TransientError, match="no NATS server answered"):
        nats.NatsClient.connect([_closed_port()], "nova", "pw", 2)
    with pytest.raises(nats.NatsError, match="Authorization Violation"):
        nats.NatsClient.connect([address], "nova", "wrong", 2)


def test_messages_of_other_subscriptions_wait_for_next_msg_and_late_replies_are_dropped(serve):
    def reply_after_noise(server, subject, reply, payload):
        server.msg("feed.1", b"chunk-1")
        server.msg(reply.rsplit(".", 1)[0] + ".999", b"a late reply to an older request")
        server.msg(reply, b"answer")

    client = nats.NatsClient.connect([serve(FakeNats(reply_after_noise))], "nova", "pw", 2)
    client.subscribe("feed.*")
    assert client.request("q") == b"answer"
    msg = client.next_msg()
    assert (msg.subject, msg.payload, msg.reply) == ("feed.1", b"chunk-1", None)
    with pytest.raises(nats.TransientError, match="timed out"):
        nats.NatsClient.connect([serve(FakeNats(lambda *a: None))], "nova", "pw", 0.3).request("q")


def test_a_503_is_no_responders_and_other_statuses_fail(serve):
    def status(server, subject, reply, payload):
        code = b"503" if subject == "js" else b"408 Request Timeout"
        head = b"NATS/1.0 " + code + b"\r\n\r\n"
        server.send(b"HMSG %s 1 %d %d\r\n%s\r\n" % (reply.encode(), len(head), len(head), head))

    client = nats.NatsClient.connect([serve(FakeNats(status))], "nova", "pw", 2)
    with pytest.raises(nats.TransientError, match="no responders for js"):
        client.request("js")
    with pytest.raises(nats.NatsError, match="other answered 408 Request Timeout"):
        client.request("other")


# --------------------------------------------------------------------------- nats-js-snapshot


class FakeJetStream:
    """STREAM.NAMES / SNAPSHOT (chunks to the deliver subject, each acked before the next) / RESTORE /
    INFO / MSG.GET, as nats-server answers them."""

    def __init__(self, chunks):
        self.chunks, self.acks, self.restored = list(chunks), 0, b""
        self.deliver = None

    def __call__(self, server, subject, reply, payload):
        api = subject.split(".")
        if subject == "$JS.API.STREAM.NAMES":
            server.msg(reply, json.dumps({"streams": ["EVENTS"], "total": 1}).encode())
        elif api[:4] == ["$JS", "API", "STREAM", "SNAPSHOT"]:
            self.deliver = json.loads(payload)["deliver_subject"]
            server.msg(
                reply, json.dumps({"config": {"name": "EVENTS", "num_replicas": 3}, "state": {"messages": 2}}).encode()
            )
            self._next_chunk(server)
        elif subject.startswith("$JS.SNAPSHOT.ACK."):
            self.acks += 1
            self._next_chunk(server)
        elif api[:4] == ["$JS", "API", "STREAM", "RESTORE"]:
            self.restore_request = json.loads(payload)
            server.msg(reply, json.dumps({"deliver_subject": "$JS.RESTORE.IN"}).encode())
        elif subject == "$JS.RESTORE.IN":
            self.restored += payload
            body = {"config": self.restore_request["config"], "state": {"messages": 2}} if not payload else {}
            server.msg(reply, json.dumps(body).encode() if body else b"")
        elif api[:4] == ["$JS", "API", "STREAM", "INFO"]:
            server.msg(reply, json.dumps({"state": {"first_seq": 1, "last_seq": 3}}).encode())
        elif api[:5] == ["$JS", "API", "STREAM", "MSG", "GET"]:
            seq = json.loads(payload)["seq"]
            found = {"message": {"subject": f"nova.events.{seq}", "data": base64.b64encode(b"m%d" % seq).decode()}}
            server.msg(reply, json.dumps(found if seq != 2 else {"error": {"err_code": 10037}}).encode())

    def _next_chunk(self, server):
        if self.chunks:
            server.msg(self.deliver, self.chunks.pop(0), reply=f"$JS.SNAPSHOT.ACK.EVENTS.{len(self.chunks)}")
        else:
            server.msg(self.deliver)  # empty, no reply subject: the end


def test_snapshot_restore_dump_and_list(serve, tmp_path):
    js = FakeJetStream([b"part-one|", b"part-two"])
    conn = nats.NatsClient.connect([serve(FakeNats(js))], "nova", "pw", 2, name="nats-js-snapshot")
    assert snapshot_tool.stream_names(conn) == ["EVENTS"]
    path = str(tmp_path / "EVENTS.snap")
    assert snapshot_tool.snapshot(conn, "EVENTS", path, 30) == len(b"part-one|part-two")
    assert Path(path).read_bytes() == b"part-one|part-two" and js.acks == 2
    meta = json.loads(Path(f"{path}.json").read_text())
    assert meta["config"]["num_replicas"] == 3 and meta["snapshot_bytes"] == 17

    info = snapshot_tool.restore(conn, "EVENTS", path, 1, 30, chunk_size=5)
    assert js.restored == b"part-one|part-two" and js.restore_request["config"]["num_replicas"] == 1
    assert info["state"] == {"messages": 2}
    assert list(snapshot_tool.dump(conn, "EVENTS")) == [(1, "nova.events.1", b"m1"), (3, "nova.events.3", b"m3")]


def test_snapshot_cli_reports_errors_on_stderr(serve, tmp_path, capsys):
    password = tmp_path / "pw"
    password.write_text("wrong\n")
    address = serve(FakeNats(FakeJetStream([])))
    assert snapshot_tool.main(["--server", address, "--user", "nova", "--password-file", str(password), "list"]) == 1
    assert "nats-js-snapshot: error: NATS server error: Authorization Violation" in capsys.readouterr().err
    password.write_text("pw\n")
    assert snapshot_tool.main(["--server", address, "--user", "nova", "--password-file", str(password), "list"]) == 0
    assert capsys.readouterr().out == "EVENTS\n"
