"""novaops-prober's Valkey probe: AUTH + PING, answered +PONG.

Python 3 standard library only: the exporters image runs it beside the prober as
``novaops_probe_valkey.py`` (components/engines/probing.py says what a probe module defines).
"""

from __future__ import annotations

import socket

try:  # the exporters image: the shared module beside novaops-prober
    from novaops_probe import ProbeFailed, Target
except ModuleNotFoundError:  # the repository
    from components.engines.probing import ProbeFailed, Target

PROTOCOL = "valkey"
NEEDS = ("password",)


def _read_line(sock: socket.socket, buffer: bytearray, limit: int = 1 << 20) -> bytes:
    while b"\r\n" not in buffer:
        chunk = sock.recv(65536)
        if not chunk:
            raise ProbeFailed("connection closed by the server")
        buffer += chunk
        if len(buffer) > limit:
            raise ProbeFailed("answer too long")
    line, _, rest = bytes(buffer).partition(b"\r\n")
    buffer[:] = rest
    return line


def _resp_command(*parts: str) -> bytes:
    out = [f"*{len(parts)}\r\n".encode()]
    for part in parts:
        data = part.encode()
        out.append(b"$%d\r\n%s\r\n" % (len(data), data))
    return b"".join(out)


def probe(t: Target, timeout: float) -> None:
    with socket.create_connection((t.host, t.port), timeout=timeout) as sock:
        sock.settimeout(timeout)
        sock.sendall(_resp_command("AUTH", t.password or "") + _resp_command("PING"))
        buffer = bytearray()
        auth = _read_line(sock, buffer)
        if auth != b"+OK":
            raise ProbeFailed(f"AUTH answered {auth[:80].decode(errors='replace')}")
        pong = _read_line(sock, buffer)
        if pong != b"+PONG":
            raise ProbeFailed(f"PING answered {pong[:80].decode(errors='replace')}")
