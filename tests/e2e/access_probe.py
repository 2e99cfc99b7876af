"""Runs on a division host (copied there by test_stack_operated_forbidden.py): tries a list of actions
with the credentials present on the host (its connection files) or none, and prints one JSON line
per action: {"id", "reached", "answer"}. ``reached`` False: no connection (unresolvable, refused,
timed out); ``answer``: what the server said (a status, an error, a reply). The test judges.

Usage: access_probe.py BASE64_JSON   (a list of {"id", "op", ...}; ops below)

An action with ``"wrong_password": true`` logs in as the connection file's user with a wrong password
(test_stack_operated_auth_failures.py: refused and counted); ``"repeat": N`` runs it N times and
reports every answer ({"id", "reached": all were, "answers"}).
"""

import base64
import json
import os
import socket
import subprocess
import sys
import urllib.error
import urllib.request

sys.path.insert(0, "/usr/local/lib/novaops")
from novaops_nats import NatsClient, NatsError, TransientError

CONNECTIONS = os.path.expanduser("~/.config/novaops")
TIMEOUT_S = 3.0


def login(tier):
    """The division's connection file for ``tier`` as a dict ({} when it has none)."""
    try:
        with open(os.path.join(CONNECTIONS, f"{tier}.env"), encoding="utf-8") as f:
            return dict(line.split("=", 1) for line in f.read().splitlines() if line and not line.startswith("#"))
    except FileNotFoundError:
        return {}


def credentials(a):
    """The login ``a`` uses: the tier's connection file, its passwords replaced when ``wrong_password``."""
    env = login(a["tier"])
    if a.get("wrong_password"):
        env = {k: ("wrong-" + v if k.endswith("PASSWORD") else v) for k, v in env.items()}
    return env


def tcp(a):
    with socket.create_connection((a["host"], a["port"]), timeout=TIMEOUT_S):
        return "connected"


def http(a):
    headers = dict(a.get("headers") or {})
    data = None
    if a.get("body") is not None:
        data = json.dumps(a["body"]).encode()
        headers["Content-Type"] = "application/json"
    request = urllib.request.Request(a["url"], data=data, headers=headers, method=a.get("method", "GET"))
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_S) as response:
            return f"{response.status} {response.read(300).decode(errors='replace')}"
    except urllib.error.HTTPError as e:
        return f"{e.code} {e.read(300).decode(errors='replace')}"


def etcd(a):
    """A range or put on an etcd member's gateway, logged in with the tier's connection file if any."""
    base = f"http://{a['host']}:{a['port']}"
    env, headers = credentials(a), {}
    if env.get("ETCDCTL_USER"):
        token = http(
            {
                "url": f"{base}/v3/auth/authenticate",
                "method": "POST",
                "body": {"name": env["ETCDCTL_USER"], "password": env["ETCDCTL_PASSWORD"]},
            }
        )
        if not token.startswith("200 "):
            return f"login refused: {token}"
        headers["Authorization"] = json.loads(token[4:])["token"]
    key = base64.b64encode(a["key"].encode()).decode()
    if a["verb"] == "put":
        body = {"key": key, "value": base64.b64encode(b"x").decode()}
    else:
        body = {
            "key": key,
            "range_end": base64.b64encode(a["key"][:-1].encode() + bytes([a["key"].encode()[-1] + 1])).decode(),
        }
    return http({"url": f"{base}/v3/kv/{a['verb']}", "method": "POST", "body": body, "headers": headers})


def resp(a):
    """Valkey/Sentinel: optional AUTH with the tier's connection file, then one command; the reply's first line."""
    env = credentials(a) if a.get("as_division") else {}
    with socket.create_connection((a["host"], a["port"]), timeout=TIMEOUT_S) as s:
        s.settimeout(TIMEOUT_S)
        commands = ([["AUTH", env["VALKEY_USERNAME"], env["VALKEY_PASSWORD"]]] if env else []) + [a["command"]]
        for parts in commands:
            s.sendall(
                f"*{len(parts)}\r\n".encode()
                + b"".join(f"${len(p.encode())}\r\n".encode() + p.encode() + b"\r\n" for p in parts)
            )
        replies, buf = [], b""
        while len(replies) < len(commands):
            chunk = s.recv(65536)
            if not chunk:
                break
            buf += chunk
            while b"\r\n" in buf and len(replies) < len(commands):
                line, buf = buf.split(b"\r\n", 1)
                if line[:1] in b"+-:":
                    replies.append(line.decode(errors="replace"))
                elif line[:1] in b"$*":
                    replies.append(line.decode(errors="replace"))
                    buf = b""  # the payload is not needed: the type and size say enough
        return " | ".join(replies)


def nats(a):
    env = credentials(a)
    servers = [u.removeprefix("nats://") for u in env["NATS_URL"].split(",")]
    client = NatsClient.connect(servers, env["NATS_USER"], env["NATS_PASSWORD"], TIMEOUT_S, name="e2e-access-probe")
    try:
        if a["verb"] == "pub":
            client.publish(a["subject"], b"probe")
        else:
            client.subscribe(a["subject"])
        client.request_json("$JS.API.INFO")  # a round trip: the server has judged what came before
        return "ok"
    except TransientError as e:
        return f"timeout: {e}"
    except NatsError as e:
        return f"refused: {e}"
    finally:
        client.close()


def psql(a):
    env = credentials(a)
    host, port = (a["host"], a["port"]) if a.get("host") else (env["PGHOST"], env["PGPORT"])
    run_env = dict(
        os.environ,
        PGCONNECT_TIMEOUT="3",
        PGHOST=host,
        PGPORT=str(port),
        PGUSER=env.get("PGUSER", "nobody"),
        PGPASSWORD=env.get("PGPASSWORD", ""),
        PGDATABASE=env.get("PGDATABASE", "nova"),
    )
    done = subprocess.run(["psql", "-XAtc", "select 1"], env=run_env, capture_output=True, text=True, timeout=15)
    return "ok" if done.returncode == 0 and done.stdout.strip() == "1" else f"refused: {done.stderr.strip()[:200]}"


def unreachable(e):
    """No answer at all (the name does not resolve, nothing listens, nothing answers in time); a reset
    connection means something listened."""
    return not isinstance(e, ConnectionResetError)


OPS = {"tcp": tcp, "http": http, "etcd": etcd, "resp": resp, "nats": nats, "psql": psql}


def attempt(a):
    try:
        return {"id": a["id"], "reached": True, "answer": OPS[a["op"]](a)}
    except OSError as e:
        cause = e.reason if isinstance(e, urllib.error.URLError) and isinstance(e.reason, OSError) else e
        return {"id": a["id"], "reached": not unreachable(cause), "answer": f"{type(cause).__name__}: {cause}"}
    except NatsError as e:
        return {"id": a["id"], "reached": True, "answer": f"refused: {e}"}


def main():
    for a in json.loads(base64.b64decode(sys.argv[1])):
        results = [attempt(a) for _ in range(int(a.get("repeat", 1)))]
        if len(results) == 1:
            print(json.dumps(results[0]), flush=True)
        else:
            answers = [r["answer"] for r in results]
            print(json.dumps({"id": a["id"], "reached": all(r["reached"] for r in results), "answers": answers}))


if __name__ == "__main__":
    main()
