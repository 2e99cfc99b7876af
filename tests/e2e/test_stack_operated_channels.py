"""The 10 cross-division channels on the converged stack, from the real division hosts with the logins
in their connection files: every channel carries an event and a request/reply both ways, and a third
division can neither subscribe to it nor publish on it. Prints the channel table and the counts.
Runs after test_stack_operated.py (the division hosts' connection files)."""

from __future__ import annotations

import base64
import os
import shlex
import time
import uuid
from pathlib import Path

import pytest

from tests.e2e.conftest import needs_converge, tenant

pytestmark = [pytest.mark.docker, pytest.mark.e2e, needs_converge]


PROBE = Path(__file__).with_name("channel_probe.py")
REMOTE = f"/tmp/novaops-channel-probe-{os.getpid()}.py"  # this test session's own copy
WAIT_S = 20  # a background subscriber or server gives up after this long
POLL_S = 15  # how long the test waits for a line in its output


@pytest.fixture(scope="module")
def hosts(stack, topology, converged):
    """Division key -> its testinfra host, the probe copied there."""
    script = base64.b64encode(PROBE.read_bytes()).decode()
    out = {}
    for d in topology.divisions.values():
        h = tenant(d.service.container)
        h.check_output(f"echo {script} | base64 -d > {REMOTE}")
        out[d.key] = h
    return out


def run(h, *args: str) -> str:
    return h.check_output(f"python3 {REMOTE} {shlex.join(args)}").strip()


def start(h, *args: str) -> str:
    """Start the probe in the background; returns the file its output goes to, once it says READY."""
    out = f"/tmp/novaops-channel-{uuid.uuid4().hex}.out"
    h.check_output(f"setsid nohup python3 {REMOTE} {shlex.join(args)} > {out} 2>&1 < /dev/null &")
    assert "READY" in wait_for(h, out, "READY"), f"{args}: not ready"
    return out


def wait_for(h, out: str, word: str) -> str:
    deadline = time.monotonic() + POLL_S
    text = ""
    while time.monotonic() < deadline:
        text = h.check_output(f"cat {out} 2>/dev/null || true")
        if word in text or "REFUSED" in text or "TIMEOUT" in text:
            return text
        time.sleep(0.3)
    return text


def test_every_channel_carries_events_and_requests_both_ways_and_no_third_division(topology, hosts):
    channels = topology.channels.pairs
    assert len(channels) == 10
    rows, failures = [], []
    refused = attempts = 0
    for channel in channels:
        a, b = channel.divisions
        third = next(d for d in topology.divisions if d not in channel.divisions)
        row = {"channel": channel.key}
        for sender, receiver in ((a, b), (b, a)):
            token = uuid.uuid4().hex[:8]
            events = f"chan.{channel.key}.{sender}"
            out = start(hosts[receiver], "sub", f"{events}.>", str(WAIT_S))
            run(hosts[sender], "pub", f"{events}.e2e", token, "3")
            got = wait_for(hosts[receiver], out, "GOT")
            row[f"{sender}->{receiver} event"] = "ok" if f"GOT {events}.e2e {token}" in got else got or "nothing"
            requests = f"chan.{channel.key}.req.{receiver}"
            out = start(hosts[receiver], "serve", f"{requests}.>", str(WAIT_S))
            reply = run(hosts[sender], "req", f"{requests}.ping", token)
            row[f"{sender}->{receiver} request"] = "ok" if reply == f"REPLY pong:{token}" else reply
            # The third division: neither the sender's events nor a request to the receiver.
            for action in (("sub", f"{events}.>", "3"), ("pub", f"{requests}.ping", token, "1")):
                attempts += 1
                answer = run(hosts[third], *action)
                if answer.startswith("REFUSED") and "Permissions Violation" in answer:
                    refused += 1
                else:
                    failures.append(f"{third} {action[0]} {action[1]}: {answer}")
        rows.append(row)
        failures += [f"{channel.key} {k}: {v}" for k, v in row.items() if k != "channel" and v != "ok"]
    print_table(rows)
    print(f"\n{len(channels)} channels; {attempts - refused} of {attempts} third-division attempts succeeded")
    assert not failures, failures
    assert refused == attempts == 4 * len(channels)


def print_table(rows: list[dict]) -> None:
    print("\nchannel                                              a->b ev  a->b req  b->a ev  b->a req")
    for row in rows:
        marks = ["ok" if v == "ok" else "FAIL" for k, v in row.items() if k != "channel"]
        ev_ab, req_ab, ev_ba, req_ba = marks
        print(f"{row['channel']:<52} {ev_ab:<8} {req_ab:<9} {ev_ba:<8} {req_ba}")
