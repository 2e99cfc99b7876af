"""novaops-prober's etcd probe: POST /v3/kv/range, a linearizable read, so it needs a raft quorum.

Python 3 standard library only: the exporters image runs it beside the prober as
``novaops_probe_etcd.py`` (components/engines/probing.py says what a probe module defines).
"""

from __future__ import annotations

import base64
import http.client
import json

try:  # the exporters image: the shared module beside novaops-prober
    from novaops_probe import ProbeFailed, Target
except ModuleNotFoundError:  # the repository
    from components.engines.probing import ProbeFailed, Target

PROTOCOL = "etcd"
NEEDS = ()  # the probe reads without authenticating
PROBE_KEY = base64.b64encode(b"/novaops/prober").decode()


def probe(t: Target, timeout: float) -> None:
    conn = http.client.HTTPConnection(t.host, t.port, timeout=timeout)
    try:
        # Range requests are linearizable unless asked otherwise: the member needs its leader and a quorum.
        conn.request(
            "POST",
            "/v3/kv/range",
            body=json.dumps({"key": PROBE_KEY, "count_only": True}),
            headers={"Content-Type": "application/json"},
        )
        resp = conn.getresponse()
        body = resp.read(1 << 20)
    finally:
        conn.close()
    if resp.status != 200:
        raise ProbeFailed(f"range answered HTTP {resp.status}: {body[:120].decode(errors='replace')}")
    if "header" not in json.loads(body or b"{}"):
        raise ProbeFailed("range answer without a header")
