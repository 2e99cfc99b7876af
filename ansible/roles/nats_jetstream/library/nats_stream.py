#!/usr/bin/python
# -*- coding: utf-8 -*-
"""Ansible module: a JetStream stream through the JetStream API, over the NATS text protocol.

Python 3 standard library only (natscli is not packaged in Debian). One TCP connection:
INFO -> CONNECT (user/pass) -> PING/PONG, SUB to a private inbox, then requests
``$JS.API.STREAM.INFO|CREATE|UPDATE.<name>`` published with that inbox as reply subject.
"""
from __future__ import annotations

DOCUMENTATION = r"""
---
module: nats_stream
short_description: Ensure a NATS JetStream stream exists with the given configuration
description:
  - Speaks the NATS client protocol directly (no natscli, no nats-py) and uses the JetStream API
    (C($JS.API.STREAM.INFO), C(CREATE), C(UPDATE)).
  - Only the keys given in O(config) are compared with the server's stream configuration; the stream
    is created when missing and updated (server configuration merged with O(config)) when a key differs.
  - Credentials come from O(user)/O(password), or else from the top-level C(authorization) block of
    the nats-server configuration file O(server_config) on the managed node, so the password never
    passes through the controller.
options:
  name:
    description: Stream name.
    type: str
    required: true
  config:
    description:
      - JetStream StreamConfig keys (API names, e.g. V(subjects), V(retention), V(storage), V(discard),
        V(num_replicas), V(max_age), V(max_bytes), V(duplicate_window)).
      - V(max_age) and V(duplicate_window) accept nanoseconds or a duration string such as V(72h), V(2m), V(7d).
    type: dict
    default: {}
  host:
    description: NATS server address.
    type: str
    default: 127.0.0.1
  port:
    description: NATS client port.
    type: int
    default: 4222
  user:
    description: NATS user. Defaults to the user in O(server_config).
    type: str
  password:
    description: NATS password. Defaults to the password in O(server_config).
    type: str
  server_config:
    description: nats-server configuration file to read the credentials from when O(password) is not given.
    type: path
  timeout:
    description: Seconds to wait for each server reply.
    type: float
    default: 5
  wait:
    description:
      - Seconds to keep retrying while JetStream is not ready (no responders, "JetStream system temporarily
        unavailable", request timeouts). Bounded; 0 disables retries.
    type: float
    default: 30
supports_check_mode: true
"""

EXAMPLES = r"""
- name: Event stream, 3 replicas
  nats_stream:
    name: NOVA_EVENTS
    server_config: /etc/novaops/nats.conf
    config:
      subjects: ["nova.events.>"]
      num_replicas: 3
      storage: file
      retention: limits
      discard: old
      max_age: 7d
      max_bytes: 1073741824
      duplicate_window: 2m
"""

RETURN = r"""
action:
  description: What the module did (or would do in check mode).
  type: str
  returned: always
  sample: created
differences:
  description: Keys whose server value differed from O(config), as C({key: [server, wanted]}).
  type: dict
  returned: always
stream:
  description: The stream's configuration as the server reports it (after the change, unless in check mode).
  type: dict
  returned: when the stream exists or was created
cluster:
  description: The stream's cluster information (leader, replicas) as the server reports it.
  type: dict
  returned: when the stream exists or was created
"""

import json
import re
import secrets
import socket
import time

from ansible.module_utils.basic import AnsibleModule

CRLF = b"\r\n"
MAX_CONTROL_LINE = 64 * 1024
MAX_PAYLOAD = 8 * 1024 * 1024
ERR_STREAM_NOT_FOUND = 10059
# JetStream API errors worth waiting out while a cluster forms.
# 10008: JetStream system temporarily unavailable; 10005: no suitable peers for placement (a node
# has not yet joined the meta group: right after the cluster starts, an R3 stream cannot be placed).
TRANSIENT_ERR_CODES = {10008, 10005}

DURATION_KEYS = ("max_age", "duplicate_window")
INT_KEYS = ("num_replicas", "max_bytes", "max_msgs", "max_msg_size", "max_consumers", "max_msgs_per_subject")
UNORDERED_LIST_KEYS = ("subjects",)
_UNITS_NS = {"ns": 1, "us": 10**3, "µs": 10**3, "ms": 10**6, "s": 10**9, "m": 60 * 10**9, "h": 3600 * 10**9,
             "d": 86400 * 10**9}


class NatsError(Exception):
    """A protocol or API failure, with a message meant for the operator."""


class TransientError(NatsError):
    """JetStream not ready yet: worth retrying within the module's wait budget."""


# --------------------------------------------------------------------------- protocol

class ProtocolParser:
    """Incremental parser for server -> client NATS protocol frames.

    ``feed(bytes)`` returns complete frames as tuples:
    ``("INFO", dict)``, ``("MSG", subject, sid, reply, payload)``,
    ``("HMSG", subject, sid, reply, headers_bytes, payload)``, ``("PING",)``, ``("PONG",)``,
    ``("+OK",)``, ``("-ERR", text)``.
    """

    def __init__(self):
        self._buf = b""
        self._pending = None   # (kind, subject, sid, reply, header_len, total_len)

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
            kind, subject, sid, reply, hdr_len, total = self._pending
            if len(self._buf) < total + 2:
                return None
            body, end = self._buf[:total], self._buf[total:total + 2]
            if end != CRLF:
                raise NatsError("protocol error: message payload not followed by CRLF")
            self._buf = self._buf[total + 2:]
            self._pending = None
            if kind == "HMSG":
                return ("HMSG", subject, sid, reply, body[:hdr_len], body[hdr_len:])
            return ("MSG", subject, sid, reply, body)
        idx = self._buf.find(CRLF)
        if idx < 0:
            if len(self._buf) > MAX_CONTROL_LINE:
                raise NatsError("protocol error: control line longer than %d bytes" % MAX_CONTROL_LINE)
            return None
        line = self._buf[:idx].decode("utf-8", "replace")
        self._buf = self._buf[idx + 2:]
        parts = line.strip().split(None, 1)
        op = parts[0].upper() if parts else ""
        rest = parts[1] if len(parts) > 1 else ""
        if op == "MSG":
            args = rest.split()
            if len(args) not in (3, 4):
                raise NatsError("protocol error: bad MSG line %r" % line[:200])
            reply = args[2] if len(args) == 4 else None
            self._pending = ("MSG", args[0], args[1], reply, 0, self._size(args[-1], line))
            return self._next()
        if op == "HMSG":
            args = rest.split()
            if len(args) not in (4, 5):
                raise NatsError("protocol error: bad HMSG line %r" % line[:200])
            reply = args[2] if len(args) == 5 else None
            hdr_len, total = self._size(args[-2], line), self._size(args[-1], line)
            if hdr_len > total:
                raise NatsError("protocol error: HMSG header length exceeds total length")
            self._pending = ("HMSG", args[0], args[1], reply, hdr_len, total)
            return self._next()
        if op == "INFO":
            try:
                return ("INFO", json.loads(rest))
            except ValueError:
                raise NatsError("protocol error: INFO is not JSON")
        if op in ("PING", "PONG", "+OK"):
            return (op,)
        if op == "-ERR":
            return ("-ERR", rest.strip().strip("'"))
        raise NatsError("protocol error: unexpected line %r" % line[:200])

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
    return b"PUB %s %s %d\r\n%s\r\n" % (subject.encode(), reply.encode(), len(payload), payload)


class NatsClient:
    """Request/reply over one connection. ``sock`` needs sendall/recv/settimeout (tests pass a fake)."""

    def __init__(self, sock, timeout=5.0, clock=time.monotonic):
        self.sock = sock
        self.timeout = timeout
        self.clock = clock
        self.parser = ProtocolParser()
        self.frames = []
        self.inbox = "_INBOX.%s" % secrets.token_hex(8)
        self.counter = 0
        self.server_info = {}

    @classmethod
    def connect(cls, host, port, user, password, timeout):
        try:
            sock = socket.create_connection((host, port), timeout=timeout)
        except OSError as exc:
            raise TransientError("cannot connect to NATS at %s:%d: %s" % (host, port, exc))
        client = cls(sock, timeout)
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

    def _send(self, data):
        try:
            self.sock.sendall(data)
        except OSError as exc:
            raise NatsError("connection to NATS lost while sending: %s" % exc)

    def _read_frame(self, deadline, waiting_for):
        while not self.frames:
            left = deadline - self.clock()
            if left <= 0:
                raise TransientError("timed out after %.1fs waiting for %s" % (self.timeout, waiting_for))
            self.sock.settimeout(left)
            try:
                data = self.sock.recv(65536)
            except socket.timeout:
                continue
            except OSError as exc:
                raise NatsError("connection to NATS lost: %s" % exc)
            if not data:
                raise NatsError("NATS server closed the connection while waiting for %s" % waiting_for)
            self.frames.extend(self.parser.feed(data))
        frame = self.frames.pop(0)
        if frame[0] == "PING":
            self._send(b"PONG\r\n")
        elif frame[0] == "-ERR":
            raise NatsError("NATS server error: %s" % frame[1])
        return frame

    def handshake(self, user, password):
        deadline = self.clock() + self.timeout
        frame = self._read_frame(deadline, "the server INFO")
        if frame[0] != "INFO":
            raise NatsError("protocol error: expected INFO first, got %s" % frame[0])
        self.server_info = frame[1]
        if self.server_info.get("tls_required"):
            raise NatsError("the server requires TLS, which this module does not speak")
        if self.server_info.get("auth_required") and not password:
            raise NatsError("the server requires authentication and no password was given")
        connect = {"verbose": False, "pedantic": False, "tls_required": False, "name": "ansible-nats_stream",
                   "lang": "python", "version": "1.0", "protocol": 1, "echo": False,
                   "headers": bool(self.server_info.get("headers")),
                   "no_responders": bool(self.server_info.get("headers"))}
        if user is not None:
            connect["user"] = user
        if password is not None:
            connect["pass"] = password
        self._send(b"CONNECT " + json.dumps(connect).encode() + b"\r\nPING\r\n")
        while True:
            frame = self._read_frame(deadline, "PONG after CONNECT")
            if frame[0] == "PONG":
                break
        self._send(b"SUB %s.* 1\r\n" % self.inbox.encode())

    def request(self, subject, payload=b""):
        """Publish ``payload`` to ``subject`` and return the decoded JSON reply."""
        self.counter += 1
        reply = "%s.%d" % (self.inbox, self.counter)
        self._send(pub_frame(subject, reply, payload))
        deadline = self.clock() + self.timeout
        while True:
            frame = self._read_frame(deadline, "a reply to %s" % subject)
            if frame[0] == "MSG" and frame[1] == reply:
                body = frame[4]
                break
            if frame[0] == "HMSG" and frame[1] == reply:
                status, description, _ = parse_headers(frame[4])
                if status == 503:
                    raise TransientError("no responders for %s: JetStream is not enabled or not ready" % subject)
                if status is not None and status >= 400:
                    raise NatsError("%s answered %d %s" % (subject, status, description))
                body = frame[5]
                break
        try:
            return json.loads(body.decode("utf-8"))
        except ValueError:
            raise NatsError("%s returned a reply that is not JSON: %r" % (subject, body[:200]))


# --------------------------------------------------------------------------- credentials

def _top_level_block(text, key):
    """Body of the top-level ``key { ... }`` block of a nats-server config, or None."""
    depth, i, n = 0, 0, len(text)
    while i < n:
        ch = text[i]
        if ch in "\"'":
            end = i + 1
            while end < n and text[end] != ch:
                end += 2 if text[end] == "\\" and ch == '"' else 1
            i = end + 1
            continue
        if ch == "#" or text.startswith("//", i):
            nl = text.find("\n", i)
            i = n if nl < 0 else nl
            continue
        if ch in "{[":
            depth += 1
        elif ch in "}]":
            depth -= 1
        elif depth == 0 and text.startswith(key, i) and (i == 0 or not (text[i - 1].isalnum() or text[i - 1] == "_")):
            m = re.compile(r"\s*[:=]?\s*\{").match(text, i + len(key))
            if m:
                start, level, j = m.end(), 1, m.end()
                while j < n and level:
                    if text[j] in "\"'":
                        q, j = text[j], j + 1
                        while j < n and text[j] != q:
                            j += 2 if text[j] == "\\" and q == '"' else 1
                    elif text[j] == "{":
                        level += 1
                    elif text[j] == "}":
                        level -= 1
                    j += 1
                if level:
                    raise NatsError("server config: unterminated %s block" % key)
                return text[start:j - 1]
        i += 1
    return None


def _config_value(block, key):
    m = re.search(r"(?m)^\s*%s\s*[:=]?\s*(\"(?:[^\"\\]|\\.)*\"|'[^']*'|[^\s,}#]+)" % re.escape(key), block)
    if not m:
        return None
    raw = m.group(1)
    if raw.startswith('"'):
        return json.loads(raw)
    if raw.startswith("'"):
        return raw[1:-1]
    return raw


def credentials_from_config(text):
    """(user, password) of the single-user top-level ``authorization`` block of a nats-server config."""
    block = _top_level_block(text, "authorization")
    if block is None:
        raise NatsError("server config has no top-level authorization block")
    user, password = _config_value(block, "user"), _config_value(block, "password")
    if user is None or password is None:
        raise NatsError("server config's authorization block has no single user/password (users lists and tokens "
                        "are not supported: pass user and password)")
    return user, password


# --------------------------------------------------------------------------- stream config

def parse_duration(value):
    """Nanoseconds from an int or a duration string (``72h``, ``1h30m``, ``500ms``, ``7d``)."""
    if isinstance(value, bool):
        raise NatsError("duration must be a number or a string like '72h', got %r" % (value,))
    if isinstance(value, (int, float)):
        return int(value)
    text = str(value).strip()
    if text.lstrip("-").isdigit():
        return int(text)
    parts = re.findall(r"(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h|d)", text)
    if not parts or "".join(n + u for n, u in parts) != text:
        raise NatsError("bad duration %r (use e.g. '72h', '2m', '500ms', '7d' or nanoseconds)" % (value,))
    return int(sum(float(n) * _UNITS_NS[u] for n, u in parts))


def normalise_config(name, config):
    wanted = dict(config or {})
    if wanted.get("name", name) != name:
        raise NatsError("config.name %r differs from name %r" % (wanted["name"], name))
    wanted["name"] = name
    for key in DURATION_KEYS:
        if key in wanted:
            wanted[key] = parse_duration(wanted[key])
    for key in INT_KEYS:
        if key in wanted:
            try:
                wanted[key] = int(wanted[key])
            except (TypeError, ValueError):
                raise NatsError("config.%s must be an integer, got %r" % (key, wanted[key]))
    if isinstance(wanted.get("subjects"), str):
        wanted["subjects"] = [wanted["subjects"]]
    return wanted


def differences(current, wanted):
    """{key: [server value, wanted value]} for each wanted key the server has differently."""
    out = {}
    for key, value in wanted.items():
        have = current.get(key)
        if key in UNORDERED_LIST_KEYS and isinstance(have, list) and isinstance(value, list):
            same = sorted(have) == sorted(value)
        else:
            same = have == value
        if not same:
            out[key] = [have, value]
    return out


def api_error(subject, reply):
    err = reply.get("error") or {}
    text = "%s failed: %s (code %s, err_code %s)" % (subject, err.get("description", "unknown error"),
                                                    err.get("code"), err.get("err_code"))
    if err.get("err_code") in TRANSIENT_ERR_CODES:
        return TransientError(text)
    return NatsError(text)


def stream_info(client, name):
    subject = "$JS.API.STREAM.INFO.%s" % name
    reply = client.request(subject)
    if "error" in reply:
        if reply["error"].get("err_code") == ERR_STREAM_NOT_FOUND:
            return None
        raise api_error(subject, reply)
    return reply


def stream_write(client, verb, config):
    subject = "$JS.API.STREAM.%s.%s" % (verb, config["name"])
    reply = client.request(subject, json.dumps(config).encode())
    if "error" in reply:
        raise api_error(subject, reply)
    return reply


def ensure_stream(client, name, config, check_mode):
    """Returns (changed, action, differences, info)."""
    wanted = normalise_config(name, config)
    info = stream_info(client, name)
    if info is None:
        if check_mode:
            return True, "create", {k: [None, v] for k, v in wanted.items()}, None
        return True, "created", {k: [None, v] for k, v in wanted.items()}, stream_write(client, "CREATE", wanted)
    diff = differences(info.get("config", {}), wanted)
    if not diff:
        return False, "none", {}, info
    if check_mode:
        return True, "update", diff, info
    merged = dict(info.get("config", {}))
    merged.update(wanted)
    return True, "updated", diff, stream_write(client, "UPDATE", merged)


def valid_stream_name(name):
    return bool(name) and not re.search(r"[\s.*>/\\]", name)


def run(params, check_mode, connect=NatsClient.connect, clock=time.monotonic, sleep=time.sleep):
    if not valid_stream_name(params["name"]):
        raise NatsError("invalid stream name %r (no spaces, '.', '*', '>', '/' or '\\')" % params["name"])
    user, password = params.get("user"), params.get("password")
    if password is None:
        if not params.get("server_config"):
            raise NatsError("give password, or server_config to read the credentials from")
        try:
            with open(params["server_config"], encoding="utf-8") as handle:
                conf_user, password = credentials_from_config(handle.read())
        except OSError as exc:
            raise NatsError("cannot read server_config %s: %s" % (params["server_config"], exc.strerror))
        user = user if user is not None else conf_user
    deadline = clock() + max(0.0, params.get("wait") or 0.0)
    while True:
        client = None
        try:
            client = connect(params["host"], params["port"], user, password, params["timeout"])
            return ensure_stream(client, params["name"], params.get("config"), check_mode)
        except TransientError:
            if clock() >= deadline:
                raise
            sleep(1.0)
        finally:
            if client is not None:
                client.close()


def main():
    module = AnsibleModule(
        argument_spec=dict(
            name=dict(type="str", required=True),
            config=dict(type="dict", default={}),
            host=dict(type="str", default="127.0.0.1"),
            port=dict(type="int", default=4222),
            user=dict(type="str"),
            password=dict(type="str", no_log=True),
            server_config=dict(type="path"),
            timeout=dict(type="float", default=5.0),
            wait=dict(type="float", default=30.0),
        ),
        supports_check_mode=True,
    )
    try:
        changed, action, diff, info = run(module.params, module.check_mode)
    except NatsError as exc:
        module.fail_json(msg="stream %s: %s" % (module.params["name"], exc))
    result = dict(changed=changed, action=action, differences=diff)
    if info is not None:
        result["stream"] = info.get("config", {})
        result["cluster"] = info.get("cluster", {})
    if module._diff and changed:
        result["diff"] = dict(before={k: v[0] for k, v in diff.items()}, after={k: v[1] for k, v in diff.items()})
    module.exit_json(**result)


if __name__ == "__main__":
    main()
