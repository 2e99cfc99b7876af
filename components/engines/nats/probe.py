"""novaops-prober's NATS probe: CONNECT with the tier's credentials + PING, answered PONG
(the server accepted the credentials).

Runs in the exporters image beside the prober as ``novaops_probe_nats.py``, with the project's
NATS client (client.py) beside it as ``novaops_nats.py`` (components/engines/probing.py says
what a probe module defines).
"""

from __future__ import annotations

try:  # the exporters image: the shared modules beside novaops-prober
    from novaops_nats import NatsClient, NatsError
    from novaops_probe import ProbeFailed, Target
except ModuleNotFoundError:  # the repository
    from components.engines.nats.client import NatsClient, NatsError
    from components.engines.probing import ProbeFailed, Target

PROTOCOL = "nats"
NEEDS = ("user", "password")


def probe(t: Target, timeout: float) -> None:
    try:
        NatsClient.connect([f"{t.host}:{t.port}"], t.user, t.password, timeout, name="novaops-prober").close()
    except NatsError as exc:
        raise ProbeFailed(str(exc)) from exc
