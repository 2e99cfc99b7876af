"""novaops-prober's etcd probe: GET /health, which answers true only with a leader, no alarm and
a quorum read committed, so it needs a raft quorum.

/health rather than a key range: with etcd's auth on, a range needs a user, while /health is
served without one (the prober holds no etcd credentials at all).

Python 3 standard library only: the exporters image runs it beside the prober as
``novaops_probe_etcd.py`` (components/engines/probing.py says what a probe module defines).
"""

from __future__ import annotations

import http.client
import json

try:  # the exporters image: the shared module beside novaops-prober
    from novaops_probe import ProbeFailed, Target
except ModuleNotFoundError:  # the repository
    from components.engines.probing import ProbeFailed, Target

PROTOCOL = "etcd"
NEEDS = ()  # /health is served without authentication
HEALTH_PATH = "/health"


def probe(t: Target, timeout: float) -> None:
    conn = http.client.HTTPConnection(t.host, t.port, timeout=timeout)
    try:
        conn.request("GET", HEALTH_PATH)
        resp = conn.getresponse()
        body = resp.read(1 << 20)
    finally:
        conn.close()
    if resp.status != 200:
        raise ProbeFailed(f"/health answered HTTP {resp.status}: {body[:120].decode(errors='replace')}")
    answer = json.loads(body or b"{}")
    if answer.get("health") != "true":
        raise ProbeFailed(f"/health: not healthy ({answer.get('reason') or answer})")
