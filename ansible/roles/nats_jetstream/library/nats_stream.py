#!/usr/bin/python
"""Ansible module: a JetStream stream through the JetStream API, over the NATS text protocol.

Python 3 standard library only (natscli is not packaged in Debian): the NATS client is the
role's module_utils ``novaops_nats`` (components/engines/nats/client.py). Requests
``$JS.API.STREAM.INFO|CREATE|UPDATE.<name>`` over one connection.
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
  - Credentials come from O(user) and O(password), or else O(password_file) on the managed node, so
    the password never passes through the controller.
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
    description: NATS user.
    type: str
    required: true
  password:
    description: NATS password.
    type: str
  password_file:
    description: File on the managed node holding the password (read when O(password) is not given).
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

# Imports after DOCUMENTATION/EXAMPLES/RETURN, as Ansible modules have them.
import re  # noqa: E402
import time  # noqa: E402

from ansible.module_utils.basic import AnsibleModule  # noqa: E402

# The project's one NATS client (components/engines/nats/client.py; this role's module_utils
# holds a symlink to it). Names re-exported here are part of what the unit tests exercise.
from ansible.module_utils.novaops_nats import (  # noqa: E402, F401 - ProtocolParser, parse_headers, pub_frame
    NatsClient,
    NatsError,
    ProtocolParser,
    TransientError,
    parse_headers,
    pub_frame,
)

ERR_STREAM_NOT_FOUND = 10059
# JetStream API errors worth waiting out while a cluster forms.
# 10008: JetStream system temporarily unavailable; 10005: no suitable peers for placement (a node
# has not yet joined the meta group: right after the cluster starts, an R3 stream cannot be placed).
TRANSIENT_ERR_CODES = {10008, 10005}

DURATION_KEYS = ("max_age", "duplicate_window")
INT_KEYS = ("num_replicas", "max_bytes", "max_msgs", "max_msg_size", "max_consumers", "max_msgs_per_subject")
UNORDERED_LIST_KEYS = ("subjects",)
_UNITS_NS = {
    "ns": 1,
    "us": 10**3,
    "µs": 10**3,
    "ms": 10**6,
    "s": 10**9,
    "m": 60 * 10**9,
    "h": 3600 * 10**9,
    "d": 86400 * 10**9,
}


def connect(host, port, user, password, timeout):
    return NatsClient.connect(["%s:%d" % (host, port)], user, password, timeout, name="ansible-nats_stream")


# --------------------------------------------------------------------------- credentials


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
                raise NatsError("config.%s must be an integer, got %r" % (key, wanted[key])) from None
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
    text = "%s failed: %s (code %s, err_code %s)" % (
        subject,
        err.get("description", "unknown error"),
        err.get("code"),
        err.get("err_code"),
    )
    if err.get("err_code") in TRANSIENT_ERR_CODES:
        return TransientError(text)
    return NatsError(text)


def stream_info(client, name):
    subject = "$JS.API.STREAM.INFO.%s" % name
    reply = client.request_json(subject)
    if "error" in reply:
        if reply["error"].get("err_code") == ERR_STREAM_NOT_FOUND:
            return None
        raise api_error(subject, reply)
    return reply


def stream_write(client, verb, config):
    subject = "$JS.API.STREAM.%s.%s" % (verb, config["name"])
    reply = client.request_json(subject, config)
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


def run(params, check_mode, connect=connect, clock=time.monotonic, sleep=time.sleep):
    if not valid_stream_name(params["name"]):
        raise NatsError("invalid stream name %r (no spaces, '.', '*', '>', '/' or '\\')" % params["name"])
    user, password = params["user"], params.get("password")
    if password is None:
        if not params.get("password_file"):
            raise NatsError("give password, or password_file to read it from")
        try:
            with open(params["password_file"], encoding="utf-8") as handle:
                password = handle.read().strip()
        except OSError as exc:
            raise NatsError("cannot read password_file %s: %s" % (params["password_file"], exc.strerror)) from exc
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
            user=dict(type="str", required=True),
            password=dict(type="str", no_log=True),
            password_file=dict(type="path"),
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
