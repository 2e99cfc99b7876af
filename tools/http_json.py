"""The one HTTP-JSON helper: Patroni's, Prometheus', Alertmanager's and the NATS monitor's APIs."""

from __future__ import annotations

import base64
import json
import urllib.request
from typing import Any


def http_json(
    url: str,
    body: Any = None,
    method: str | None = None,
    timeout: float = 5,
    auth: tuple[str, str] | None = None,
    token: str | None = None,
) -> Any:
    """GET ``url`` (POST with a JSON ``body``) and decode the JSON answer; None for an empty body.

    ``auth``: (user, password) sent as HTTP basic auth (Prometheus', Alertmanager's web users);
    ``token``: sent as the Authorization header as it is (etcd's gateway, after /v3/auth/authenticate).
    Raises urllib's errors (HTTPError for a non-2xx status, URLError/OSError when unreachable)
    and ValueError for a body that is not JSON.
    """
    data = json.dumps(body).encode() if body is not None else None
    headers = {"Content-Type": "application/json"} if data is not None else {}
    if auth is not None:
        headers["Authorization"] = basic_auth(*auth)
    if token is not None:
        headers["Authorization"] = token
    req = urllib.request.Request(url, data=data, headers=headers, method=method)
    with urllib.request.urlopen(req, timeout=timeout) as resp:
        raw = resp.read()
    return json.loads(raw) if raw else None


def basic_auth(user: str, password: str) -> str:
    """The Authorization header value of HTTP basic auth."""
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()
