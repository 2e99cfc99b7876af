"""The one NATS client of the project: the NATS text protocol over one TCP connection.

Python 3 standard library only, because it runs where nothing else is installed: inside the
images (nats-js-snapshot in the backup image, novaops-prober in the exporters image; the build
copies it next to them as ``novaops_nats.py``) and on managed nodes as the Ansible module_utils
``novaops_nats`` of the nats_jetstream role (a symlink to this file). Debian packages neither
natscli nor nats-py.

One connection: INFO -> CONNECT (user/pass) -> PING/PONG; requests go out with a reply subject
under one private inbox (one wildcard subscription, made at the first request). Every wait is
bounded by ``timeout``: a silent server is a ``TransientError``, never a hang.
"""

from __future__ import annotations

import json
import secrets
import socket
import time

CRLF = b"\r\n"
MAX_CONTROL_LINE = 64 * 1024
MAX_PAYLOAD = 8 * 1024 * 1024
# Messages of other subscriptions (snapshot chunks) kept while a request waits for its reply.
MAX_PENDING = 100000
DEFAULT_PORT = 4222


class NatsError(Exception):
    """A protocol or API failure, with a message meant for the operator."""


class TransientError(NatsError):
    """The server is not ready (unreachable, silent, no responders): worth retrying."""


class ProtocolParser:
    """Incremental parser for server -> client NATS protocol frames.

    ``feed(bytes)`` returns complete frames as tuples:
    ``("INFO", dict)``, ``("MSG", subject, sid, reply, payload)``,
    ``("HMSG", subject, sid, reply, headers_bytes, payload)``, ``("PING",)``, ``("PONG",)``,
    ``("+OK",)``, ``("-ERR", text)``.
    """

    def __init__(self):
        self._buf = b""
        self._pending = None  # (kind, subject, sid, reply, header_len, total_len)

    def feed(self, data):
        self._buf += data
        frames = []
        while True:
            frame = self._next()
            if frame is None:
                return frames
            frames.append(frame)

    def _next(self):
        if self._pending is not None:
            return self._payload()
        idx = self._buf.find(CRLF)
        if idx < 0:
            if len(self._buf) > MAX_CONTROL_LINE:
                raise NatsError("protocol error: control line longer than %d bytes" % MAX_CONTROL_LINE)
            return None
        line = self._buf[:idx].decode("utf-8", "replace")
        self._buf = self._buf[idx + 2 :]
        parts = line.strip().split(None, 1)
        op = parts[0].upper() if parts else ""
        rest = parts[1] if len(parts) > 1 else ""
        if op in ("MSG", "HMSG"):
            self._pending = self._message_line(op, rest.split(), line)
            return self._next()
        if op == "INFO":
            try:
                return ("INFO", json.loads(rest))
            except ValueError:
                raise NatsError("protocol error: INFO is not JSON") from None
        if op in ("PING", "PONG", "+OK"):
            return (op,)
        if op == "-ERR":
            return ("-ERR", rest.strip().strip("'"))
        raise NatsError("protocol error: unexpected line %r" % line[:200])

    def _message_line(self, op, args, line):
        """``MSG subject sid [reply] size`` / ``HMSG subject sid [reply] header_size total_size``."""
        sizes = 1 if op == "MSG" else 2
        if len(args) not in (2 + sizes, 3 + sizes):
            raise NatsError("protocol error: bad %s line %r" % (op, line[:200]))
        reply = args[2] if len(args) == 3 + sizes else None
        total = self._size(args[-1], line)
        hdr_len = self._size(args[-2], line) if op == "HMSG" else 0
        if hdr_len > total:
            raise NatsError("protocol error: HMSG header length exceeds total length")
        return (op, args[0], args[1], reply, hdr_len, total)

    def _payload(self):
        kind, subject, sid, reply, hdr_len, total = self._pending
        if len(self._buf) < total + 2:
            return None
        body, end = self._buf[:total], self._buf[total : total + 2]
        if end != CRLF:
            raise NatsError("protocol error: message payload not followed by CRLF")
        self._buf = self._buf[total + 2 :]
        self._pending = None
        if kind == "HMSG":
            return ("HMSG", subject, sid, reply, body[:hdr_len], body[hdr_len:])
        return ("MSG", subject, sid, reply, body)

    @staticmethod
    def _size(token, line):
        if not token.isdigit() or int(token) > MAX_PAYLOAD:
            raise NatsError("protocol error: bad size in %r" % line[:200])
        return int(token)


def parse_headers(raw):
    """``NATS/1.0 503 No Responders\\r\\nK: v\\r\\n\\r\\n`` -> (status int or None, description, {k: v})."""
    lines = raw.decode("utf-8", "replace").split("\r\n")
    first = lines[0].split(None, 2) if lines else []
    if not first or not first[0].startswith("NATS/"):
        raise NatsError("protocol error: bad header block")
    status = int(first[1]) if len(first) > 1 and first[1].isdigit() else None
    description = first[2] if len(first) > 2 else ""
    headers = {}
    for line in lines[1:]:
        if line:
            key, _, value = line.partition(":")
            headers[key.strip()] = value.strip()
    return status, description, headers


def pub_frame(subject, reply, payload):
    if reply:
        return b"PUB %s %s %d\r\n%s\r\n" % (subject.encode(), reply.encode(), len(payload), payload)
    return b"PUB %s %d\r\n%s\r\n" % (subject.encode(), len(payload), payload)


def server_address(server):
    """``host:port`` (or ``host``) -> (host, port)."""
    host, sep, port = server.rpartition(":")
    if not sep:
        return server, DEFAULT_PORT
    if not port.isdigit():
        raise NatsError("bad NATS server address %r (HOST:PORT)" % server)
    return host, int(port)


class Msg:
    """A message of a subscription: ``headers`` is the raw header block (b"" for a plain MSG)."""

    __slots__ = ("subject", "reply", "headers", "payload")

    def __init__(self, subject, reply, headers, payload):
        self.subject, self.reply, self.headers, self.payload = subject, reply, headers, payload

    def status(self):
        """The header status code (503, 408, ...) or None."""
        return parse_headers(self.headers)[0] if self.headers else None


class NatsClient:
    """Publish, subscribe and request/reply over one connection.

    ``sock`` needs sendall/recv/settimeout/close (tests pass a fake); ``clock`` bounds every wait.
    """

    def __init__(self, sock, timeout=5.0, clock=time.monotonic, name="novaops"):
        self.sock = sock
        self.timeout = timeout
        self.clock = clock
        self.name = name
        self.parser = ProtocolParser()
        self.frames = []
        self.pending = []  # Msg of other subscriptions that arrived while a request waited
        self.inbox = "_INBOX.%s" % secrets.token_hex(8)
        self.inbox_sid = None
        self.sid = 0
        self.counter = 0
        self.server_info = {}

    @classmethod
    def connect(cls, servers, user, password, timeout, name="novaops"):
        """Connect to the first of ``servers`` ("host:port") that answers, and log in."""
        sock, problems = None, []
        for server in servers:
            host, port = server_address(server)
            try:
                sock = socket.create_connection((host, port), timeout=timeout)
                break
            except OSError as exc:
                problems.append("%s: %s" % (server, exc))
        if sock is None:
            raise TransientError("no NATS server answered (%s)" % "; ".join(problems or ["none given"]))
        # Request/reply in small writes: without TCP_NODELAY each one waits out Nagle and the
        # server's delayed ACK (~40 ms), and a dump of a large stream crawls.
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        client = cls(sock, timeout, name=name)
        try:
            client.handshake(user, password)
        except Exception:
            client.close()
            raise
        return client

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    # ------------------------------------------------------------------ wire

    def _send(self, data):
        try:
            self.sock.sendall(data)
        except OSError as exc:
            raise NatsError("connection to NATS lost while sending: %s" % exc) from exc

    def _read_frame(self, deadline, waiting_for):
        """The next frame; answers the server's PINGs and turns -ERR into a NatsError."""
        while not self.frames:
            left = deadline - self.clock()
            if left <= 0:
                raise TransientError("timed out after %.1fs waiting for %s" % (self.timeout, waiting_for))
            self.sock.settimeout(left)
            try:
                data = self.sock.recv(1 << 20)
            except TimeoutError:
                continue
            except OSError as exc:
                raise NatsError("connection to NATS lost: %s" % exc) from exc
            if not data:
                raise NatsError("NATS server closed the connection while waiting for %s" % waiting_for)
            self.frames.extend(self.parser.feed(data))
        frame = self.frames.pop(0)
        if frame[0] == "PING":
            self._send(b"PONG\r\n")
        elif frame[0] == "-ERR":
            raise NatsError("NATS server error: %s" % frame[1])
        return frame

    def _read_msg(self, deadline, waiting_for):
        while True:
            frame = self._read_frame(deadline, waiting_for)
            if frame[0] == "MSG":
                return Msg(frame[1], frame[3], b"", frame[4])
            if frame[0] == "HMSG":
                return Msg(frame[1], frame[3], frame[4], frame[5])

    def handshake(self, user, password):
        deadline = self.clock() + self.timeout
        frame = self._read_frame(deadline, "the server INFO")
        if frame[0] != "INFO":
            raise NatsError("protocol error: expected INFO first, got %s" % frame[0])
        self.server_info = frame[1]
        if self.server_info.get("tls_required"):
            raise NatsError("the server requires TLS, which this client does not speak")
        if self.server_info.get("auth_required") and not password:
            raise NatsError("the server requires authentication and no password was given")
        headers = bool(self.server_info.get("headers"))
        connect = {
            "verbose": False,
            "pedantic": False,
            "tls_required": False,
            "name": self.name,
            "lang": "python",
            "version": "1.0",
            "protocol": 1,
            "echo": False,
            "headers": headers,
            "no_responders": headers,
        }
        if user is not None:
            connect["user"] = user
        if password is not None:
            connect["pass"] = password
        self._send(b"CONNECT " + json.dumps(connect).encode() + b"\r\nPING\r\n")
        while self._read_frame(deadline, "PONG after CONNECT")[0] != "PONG":
            pass

    # ------------------------------------------------------------------ pub/sub

    def subscribe(self, subject):
        self.sid += 1
        self._send(b"SUB %s %d\r\n" % (subject.encode(), self.sid))
        return self.sid

    def unsubscribe(self, sid):
        self._send(b"UNSUB %d\r\n" % sid)

    def publish(self, subject, payload=b"", reply=None):
        self._send(pub_frame(subject, reply, payload))

    def next_msg(self, waiting_for="a message"):
        """The next message of any subscription, within ``timeout``."""
        if self.pending:
            return self.pending.pop(0)
        return self._read_msg(self.clock() + self.timeout, waiting_for)

    # ------------------------------------------------------------------ request/reply

    def request(self, subject, payload=b""):
        """Publish ``payload`` to ``subject``; the reply's payload (bytes)."""
        if self.inbox_sid is None:
            self.inbox_sid = self.subscribe("%s.*" % self.inbox)
        self.counter += 1
        reply = "%s.%d" % (self.inbox, self.counter)
        self.publish(subject, payload, reply)
        msg = self._await_reply(reply, "a reply to %s" % subject)
        status = msg.status()
        if status == 503:
            raise TransientError("no responders for %s: JetStream is not enabled or not ready" % subject)
        if status is not None and status >= 400:
            raise NatsError("%s answered %d %s" % (subject, status, parse_headers(msg.headers)[1]))
        return msg.payload

    def _await_reply(self, reply, waiting_for):
        deadline = self.clock() + self.timeout
        while True:
            msg = self._read_msg(deadline, waiting_for)
            if msg.subject == reply:
                return msg
            if msg.subject.startswith(self.inbox + "."):
                continue  # a late reply to an earlier request that timed out
            if len(self.pending) >= MAX_PENDING:
                raise NatsError("more than %d messages arrived while waiting for %s" % (MAX_PENDING, waiting_for))
            self.pending.append(msg)

    def request_json(self, subject, body=None):
        """A JSON request (``body`` a dict, bytes or None); the decoded JSON reply."""
        payload = body if isinstance(body, bytes) else (b"" if body is None else json.dumps(body).encode())
        data = self.request(subject, payload)
        try:
            return json.loads(data.decode("utf-8"))
        except ValueError:
            raise NatsError("%s returned a reply that is not JSON: %r" % (subject, data[:200])) from None
