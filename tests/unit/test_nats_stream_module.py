"""ansible/roles/nats_jetstream/library/nats_stream.py without a network: protocol parsing,
credentials from a rendered nats.conf, and the create/update/idempotence logic against a
scripted in-memory JetStream server."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import pytest

from components.engines.nats import client as nats_client

ROOT = Path(__file__).resolve().parents[2]
# Ansible ships the role's module_utils (novaops_nats, a symlink to the engine's client) with the module.
sys.modules.setdefault("ansible.module_utils.novaops_nats", nats_client)
_SPEC = importlib.util.spec_from_file_location(
    "nats_stream", ROOT / "ansible" / "roles" / "nats_jetstream" / "library" / "nats_stream.py"
)
ns = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(ns)


# ---------------------------------------------------------------- parser


def test_parser_frames_split_at_every_byte():
    stream = (
        b'INFO {"server_id":"X","headers":true,"auth_required":true}\r\n'
        b"PING\r\n+OK\r\nPONG\r\n"
        b"MSG _INBOX.a.1 1 12\r\nhello\r\nworld\r\n"
        b"MSG foo 2 _INBOX.r 0\r\n\r\n"
        b"HMSG _INBOX.a.2 1 16 18\r\nNATS/1.0 503\r\n\r\n{}\r\n"
        b"-ERR 'Authorization Violation'\r\n"
    )
    parser = ns.ProtocolParser()
    frames = []
    for i in range(len(stream)):
        frames.extend(parser.feed(stream[i : i + 1]))
    assert frames == [
        ("INFO", {"server_id": "X", "headers": True, "auth_required": True}),
        ("PING",),
        ("+OK",),
        ("PONG",),
        ("MSG", "_INBOX.a.1", "1", None, b"hello\r\nworld"),  # CRLF inside a payload is data
        ("MSG", "foo", "2", "_INBOX.r", b""),
        ("HMSG", "_INBOX.a.2", "1", None, b"NATS/1.0 503\r\n\r\n", b"{}"),
        ("-ERR", "Authorization Violation"),
    ]


def test_parser_whole_buffer_and_tabs():
    frames = ns.ProtocolParser().feed(b"MSG\tsubj\t9\t3\r\nabc\r\npong\r\n")
    assert frames == [("MSG", "subj", "9", None, b"abc"), ("PONG",)]


@pytest.mark.parametrize(
    "data, message",
    [
        (b"MSG a 1 3\r\nabcd\r\n", "not followed by CRLF"),
        (b"MSG a 1 x\r\n", "bad size"),
        (b"MSG a\r\n", "bad MSG line"),
        (b"HMSG a 1 9 3\r\n", "header length exceeds"),
        (b"WAT\r\n", "unexpected line"),
        (b"INFO {not json\r\n", "INFO is not JSON"),
    ],
)
def test_parser_rejects_garbage(data, message):
    with pytest.raises(ns.NatsError, match=message):
        ns.ProtocolParser().feed(data)


def test_parse_headers_and_pub_frame():
    assert ns.parse_headers(b"NATS/1.0 503 No Responders\r\nA: b\r\n\r\n") == (503, "No Responders", {"A": "b"})
    assert ns.parse_headers(b"NATS/1.0\r\nNats-Msg-Id: 7\r\n\r\n") == (None, "", {"Nats-Msg-Id": "7"})
    assert ns.pub_frame("$JS.API.STREAM.INFO.S", "_INBOX.x.1", b"") == b"PUB $JS.API.STREAM.INFO.S _INBOX.x.1 0\r\n\r\n"


# ---------------------------------------------------------------- credentials, durations


@pytest.mark.parametrize(
    "value, nanos",
    [
        (5, 5),
        ("120000000000", 120 * 10**9),
        ("2m", 120 * 10**9),
        ("1h30m", 5400 * 10**9),
        ("500ms", 5 * 10**8),
        ("7d", 7 * 86400 * 10**9),
        ("1.5s", 15 * 10**8),
    ],
)
def test_parse_duration(value, nanos):
    assert ns.parse_duration(value) == nanos


@pytest.mark.parametrize("value", ["2 minutes", "m2", "", True, "3x"])
def test_parse_duration_rejects(value):
    with pytest.raises(ns.NatsError, match="duration"):
        ns.parse_duration(value)


# ---------------------------------------------------------------- client against a fake server

SERVER_DEFAULTS = {
    "retention": "limits",
    "max_consumers": -1,
    "max_msgs": -1,
    "max_bytes": -1,
    "max_age": 0,
    "max_msg_size": -1,
    "storage": "file",
    "discard": "old",
    "num_replicas": 1,
    "duplicate_window": 120 * 10**9,
    "allow_direct": False,
}


class FakeJetStream:
    """A socket whose peer is a scripted NATS server with a JetStream API (replies in small chunks)."""

    def __init__(self, password="s3cret", chunk=7, jetstream=True, create_error=None):
        self.password, self.chunk, self.jetstream, self.create_error = password, chunk, jetstream, create_error
        self.out = b""
        self.buf = b""
        self.streams: dict[str, dict] = {}
        self.requests: list[str] = []
        self.closed = False
        self.connect_opts = None

    def accept(self):
        """A new client connection: the server speaks first."""
        self.out = b'INFO {"server_id":"FAKE","headers":true,"auth_required":true,"max_payload":1048576}\r\n'
        self.buf = b""
        return self

    # socket API
    def settimeout(self, _):
        pass

    def close(self):
        self.closed = True

    def recv(self, _n):
        if not self.out:
            raise TimeoutError()
        data, self.out = self.out[: self.chunk], self.out[self.chunk :]
        return data

    def sendall(self, data):
        self.buf += data
        while b"\r\n" in self.buf:
            line, rest = self.buf.split(b"\r\n", 1)
            op, _, args = line.decode().partition(" ")
            if op == "PUB":
                subject, reply, size = args.split()
                if len(rest) < int(size) + 2:
                    return
                payload, self.buf = rest[: int(size)], rest[int(size) + 2 :]
                self._request(subject, reply, payload)
                continue
            self.buf = rest
            if op == "CONNECT":
                self.connect_opts = json.loads(args)
                if self.connect_opts.get("pass") != self.password:
                    self.out += b"-ERR 'Authorization Violation'\r\n"
            elif op == "PING":
                self.out += b"PONG\r\n"

    def _reply(self, reply, body):
        data = json.dumps(body).encode()
        self.out += b"PING\r\n" + b"MSG %s 1 %d\r\n%s\r\n" % (reply.encode(), len(data), data)

    def _request(self, subject, reply, payload):
        self.requests.append(subject)
        if not self.jetstream:
            self.out += b"HMSG %s 1 16 16\r\nNATS/1.0 503\r\n\r\n\r\n" % reply.encode()
            return
        verb, name = subject.split(".")[3:5]
        if verb == "INFO":
            if name in self.streams:
                self._reply(
                    reply,
                    {
                        "type": "io.nats.jetstream.api.v1.stream_info_response",
                        "config": self.streams[name],
                        "cluster": {"leader": "n1"},
                    },
                )
            else:
                self._reply(reply, {"error": {"code": 404, "err_code": 10059, "description": "stream not found"}})
        elif verb in ("CREATE", "UPDATE"):
            if self.create_error:
                self._reply(reply, {"error": self.create_error})
                return
            config = json.loads(payload)
            self.streams[name] = {**SERVER_DEFAULTS, **config}
            self._reply(reply, {"config": self.streams[name], "cluster": {"leader": "n1"}})


WANTED = {
    "subjects": ["nova.events.>"],
    "num_replicas": 3,
    "storage": "file",
    "retention": "limits",
    "discard": "old",
    "max_age": "7d",
    "max_bytes": 1 << 30,
    "duplicate_window": "2m",
}


def _params(**over):
    params = {
        "name": "NOVA_EVENTS",
        "config": dict(WANTED),
        "host": "127.0.0.1",
        "port": 4222,
        "user": "nova",
        "password": "s3cret",
        "password_file": None,
        "timeout": 1.0,
        "wait": 0,
    }
    params.update(over)
    return params


def _connect_to(server):
    def connect(host, port, user, password, timeout):
        client = ns.NatsClient(server.accept(), timeout)
        client.handshake(user, password)
        return client

    return connect


def test_create_then_idempotent_then_update():
    server = FakeJetStream()
    changed, action, diff, info = ns.run(_params(), False, connect=_connect_to(server))
    assert (changed, action) == (True, "created")
    assert server.streams["NOVA_EVENTS"]["max_age"] == 7 * 86400 * 10**9
    assert server.streams["NOVA_EVENTS"]["num_replicas"] == 3
    assert server.connect_opts["user"] == "nova" and server.connect_opts["headers"] is True
    assert server.closed

    server.closed = False
    changed, action, diff, _ = ns.run(
        _params(config=dict(WANTED, subjects=["nova.events.>"])), False, connect=_connect_to(server)
    )
    assert (changed, action, diff) == (False, "none", {})
    assert server.requests[-1] == "$JS.API.STREAM.INFO.NOVA_EVENTS"

    server.streams["NOVA_EVENTS"]["allow_direct"] = True  # set by someone else: kept on update
    changed, action, diff, _ = ns.run(
        _params(config=dict(WANTED, max_bytes=2 << 30)), False, connect=_connect_to(server)
    )
    assert (changed, action) == (True, "updated")
    assert diff == {"max_bytes": [1 << 30, 2 << 30]}
    assert server.streams["NOVA_EVENTS"]["max_bytes"] == 2 << 30
    assert server.streams["NOVA_EVENTS"]["allow_direct"] is True


def test_check_mode_changes_nothing():
    server = FakeJetStream()
    changed, action, _, info = ns.run(_params(), True, connect=_connect_to(server))
    assert (changed, action, info) == (True, "create", None)
    assert server.streams == {} and server.requests == ["$JS.API.STREAM.INFO.NOVA_EVENTS"]


def test_api_error_is_reported_with_its_description():
    server = FakeJetStream(create_error={"code": 500, "err_code": 10023, "description": "insufficient resources"})
    with pytest.raises(
        ns.NatsError,
        match=r"STREAM.CREATE.NOVA_EVENTS failed: insufficient resources "
        r"\(code 500, err_code 10023\)",
    ):
        ns.run(_params(), False, connect=_connect_to(server))


def test_bad_password_and_no_jetstream():
    with pytest.raises(ns.NatsError, match="Authorization Violation"):
        ns.run(_params(password="wrong"), False, connect=_connect_to(FakeJetStream()))
    with pytest.raises(ns.TransientError, match="no responders"):
        ns.run(_params(), False, connect=_connect_to(FakeJetStream(jetstream=False)))


def test_transient_errors_are_retried_within_the_wait_budget():
    now = [0.0]
    servers = [FakeJetStream(jetstream=False), FakeJetStream(jetstream=False), FakeJetStream()]
    result = ns.run(
        _params(wait=10),
        False,
        connect=lambda *a: _connect_to(servers.pop(0))(*a),
        clock=lambda: now[0],
        sleep=lambda s: now.__setitem__(0, now[0] + s),
    )
    assert result[1] == "created" and now[0] == 2.0
    now[0] = 0.0
    with pytest.raises(ns.TransientError):
        ns.run(
            _params(wait=3),
            False,
            connect=lambda *a: _connect_to(FakeJetStream(jetstream=False))(*a),
            clock=lambda: now[0],
            sleep=lambda s: now.__setitem__(0, now[0] + s),
        )


def test_no_suitable_peers_is_retried_then_reported():
    # Right after the cluster starts, an R3 stream cannot be placed until every peer has joined.
    placement = {"code": 400, "err_code": 10005, "description": "no suitable peers for placement"}
    now = [0.0]
    servers = [FakeJetStream(create_error=placement), FakeJetStream()]
    result = ns.run(
        _params(wait=10),
        False,
        connect=lambda *a: _connect_to(servers.pop(0))(*a),
        clock=lambda: now[0],
        sleep=lambda s: now.__setitem__(0, now[0] + s),
    )
    assert result[1] == "created" and now[0] > 0
    now[0] = 0.0
    with pytest.raises(ns.TransientError, match="no suitable peers for placement"):
        ns.run(
            _params(wait=3),
            False,
            connect=lambda *a: _connect_to(FakeJetStream(create_error=placement))(*a),
            clock=lambda: now[0],
            sleep=lambda s: now.__setitem__(0, now[0] + s),
        )


def test_password_read_from_password_file(tmp_path):
    password_file = tmp_path / "nats-password"
    password_file.write_text("s3cret\n")
    server = FakeJetStream()
    ns.run(_params(password=None, password_file=str(password_file)), False, connect=_connect_to(server))
    assert server.connect_opts["user"] == "nova" and server.connect_opts["pass"] == "s3cret"
    with pytest.raises(ns.NatsError, match="cannot read password_file"):
        ns.run(_params(password=None, password_file=str(tmp_path / "missing")), False, connect=_connect_to(server))
    with pytest.raises(ns.NatsError, match="give password, or password_file"):
        ns.run(_params(password=None), False, connect=_connect_to(server))


@pytest.mark.parametrize("name", ["", "A.B", "A B", "A*", "A>"])
def test_invalid_stream_names(name):
    with pytest.raises(ns.NatsError, match="invalid stream name"):
        ns.run(_params(name=name), False, connect=_connect_to(FakeJetStream()))


def test_timeout_waiting_for_reply_is_transient():
    class Silent(FakeJetStream):
        def _request(self, subject, reply, payload):
            self.requests.append(subject)

    now = [0.0]

    class Client(ns.NatsClient):
        def __init__(self, sock, timeout):
            super().__init__(sock, timeout, clock=lambda: now.__setitem__(0, now[0] + 0.2) or now[0])

    def connect(host, port, user, password, timeout):
        client = Client(Silent(chunk=4096).accept(), timeout)
        client.handshake(user, password)
        return client

    with pytest.raises(ns.TransientError, match="timed out .* reply to \\$JS.API.STREAM.INFO.NOVA_EVENTS"):
        ns.run(_params(), False, connect=connect)
