"""Runs on a division host (copied there by test_stack_operated_channels.py): one NATS action with the
division's own login from its connection file, through the client the host image carries.

    channel_probe.py sub SUBJECT WAIT_S       print READY once subscribed, then GOT <subject> <payload>
    channel_probe.py pub SUBJECT PAYLOAD N    publish N times, 0.3 s apart; print SENT
    channel_probe.py serve SUBJECT WAIT_S     print READY, answer one request with pong:<payload>; SERVED
    channel_probe.py req SUBJECT PAYLOAD      print REPLY <payload>
Whatever the server refuses prints REFUSED <error>; a timeout prints TIMEOUT <error>.
"""

import os
import sys
import time

sys.path.insert(0, "/usr/local/lib/novaops")
from novaops_nats import NatsClient, NatsError, TransientError

CONNECTION_FILE = os.path.expanduser("~/.config/novaops/streams.env")


def login() -> tuple[list[str], str, str]:
    with open(CONNECTION_FILE, encoding="utf-8") as f:
        env = dict(line.split("=", 1) for line in f.read().splitlines() if line and not line.startswith("#"))
    servers = [u.removeprefix("nats://") for u in env["NATS_URL"].split(",")]
    return servers, env["NATS_USER"], env["NATS_PASSWORD"]


def main(cmd: str, subject: str, arg: str, count: str = "1") -> None:
    servers, user, password = login()
    timeout = float(arg) if cmd in ("sub", "serve") else 5.0
    client = NatsClient.connect(servers, user, password, timeout, name="e2e-channel-probe")

    def flush() -> None:  # a round trip: the server has processed (and judged) what came before
        client.request_json("$JS.API.INFO")

    if cmd == "sub":
        client.subscribe(subject)
        flush()
        print("READY", flush=True)
        msg = client.next_msg()
        print("GOT", msg.subject, msg.payload.decode(), flush=True)
    elif cmd == "pub":
        for _ in range(int(count)):
            client.publish(subject, arg.encode())
            flush()
            time.sleep(0.3)
        print("SENT", flush=True)
    elif cmd == "serve":
        client.subscribe(subject)
        flush()
        print("READY", flush=True)
        msg = client.next_msg()
        client.publish(msg.reply, b"pong:" + msg.payload)
        flush()
        print("SERVED", msg.subject, flush=True)
    elif cmd == "req":
        reply = client.request(subject, arg.encode())
        payload = reply if isinstance(reply, bytes) else reply.payload
        print("REPLY", payload.decode(), flush=True)
    else:
        raise SystemExit(f"unknown command {cmd!r}")


if __name__ == "__main__":
    try:
        main(*sys.argv[1:])
    except TransientError as exc:
        print("TIMEOUT", exc, flush=True)
    except NatsError as exc:
        print("REFUSED", exc, flush=True)
