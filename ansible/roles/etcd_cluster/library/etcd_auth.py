#!/usr/bin/python3
"""etcd's own authentication, brought to a wanted state with etcdctl inside a member.

Wanted: the root user (root role), one user per entry of ``users`` whose single role of the same
name grants readwrite on exactly its key prefix, no other users or roles, and auth enabled.
Users and roles are created before auth is enabled, so clients holding credentials (Patroni) go
on working across the switch. Passwords travel on etcdctl's stdin and in its environment, never
on a command line. Check mode reports what would change and changes nothing.

The same file is the etcd members' bootstrap (images/etcd/etcd-with-auth runs
``etcd_auth.py bootstrap AUTH_JSON ENDPOINT`` at container start): once the new cluster answers,
it creates root and the users its DCS client tiers log in as, then enables auth, so that no client
ever meets an etcd with auth off (Patroni 4.0.7 given a login waits forever on one,
patroni/patroni#3525). Once auth is on it does nothing: the etcd_cluster role owns the users
from then on (adds the divisions', prunes, resets passwords).
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import time

DOCUMENTATION = r"""
module: etcd_auth
short_description: etcd users, prefix roles and auth enable, through etcdctl
options:
  endpoint: {type: str, required: true, description: Client URL of the local member.}
  root_password: {type: str, required: true, no_log: true, description: Password of etcd's root user.}
  users:
    type: list
    elements: dict
    required: true
    description: "[{user, password, prefix}] (other keys ignored): each user gets readwrite on its prefix only."
  command_timeout: {type: str, default: 5s, description: etcdctl --command-timeout.}
"""

ROOT = "root"
READWRITE = 2  # etcd's authpb.Permission.Type (READ 0 is omitted from JSON)


def prefix_end(prefix: str) -> str:
    """The range end etcdctl --prefix grants: the prefix with its last byte incremented."""
    raw = prefix.encode()
    return (raw[:-1] + bytes([raw[-1] + 1])).decode()


def wanted_perm(prefix: str) -> dict:
    b64 = lambda s: base64.b64encode(s.encode()).decode()  # noqa: E731
    return {"permType": READWRITE, "key": b64(prefix), "range_end": b64(prefix_end(prefix))}


class Etcdctl:
    """etcdctl as root (ETCDCTL_USER/ETCDCTL_PASSWORD: etcdctl ignores them while auth is off)."""

    def __init__(self, endpoint: str, root_password: str, timeout: str):
        self.base = ["etcdctl", f"--endpoints={endpoint}", f"--command-timeout={timeout}"]
        self.env = {**os.environ, "ETCDCTL_USER": ROOT, "ETCDCTL_PASSWORD": root_password}

    def run(self, *args: str, stdin: str | None = None, env: dict | None = None) -> str:
        done = subprocess.run(
            [*self.base, *args], input=stdin, env=env or self.env, capture_output=True, text=True, check=False
        )
        if done.returncode != 0:
            raise EtcdError(f"etcdctl {args[0]} {args[1] if len(args) > 1 else ''}: {done.stderr.strip()[-300:]}")
        return done.stdout

    def json(self, *args: str) -> dict:
        return json.loads(self.run(*args, "-w", "json"))

    def logs_in(self, user: str, password: str, prefix: str) -> bool:
        """Whether ``password`` is ``user``'s (a count-only read of its own prefix)."""
        env = {**os.environ, "ETCDCTL_USER": user, "ETCDCTL_PASSWORD": password}
        try:
            self.run("get", prefix, "--prefix", "--keys-only", "--limit=1", env=env)
        except EtcdError:
            return False
        return True


class EtcdError(RuntimeError):
    pass


def read_state(ctl: Etcdctl) -> dict:
    """auth on?, users -> roles, roles -> permissions."""
    enabled = "true" in ctl.run("auth", "status").lower()
    users = {u: ctl.json("user", "get", u).get("roles", []) for u in ctl.json("user", "list").get("users", [])}
    roles = {r: ctl.json("role", "get", r).get("perm", []) for r in ctl.json("role", "list").get("roles", [])}
    return {"enabled": enabled, "users": users, "roles": roles}


def plan(state: dict, users: list[dict], root_password: str, ctl: Etcdctl, prune: bool = True) -> list[tuple]:
    """The etcdctl calls (args, stdin) that bring ``state`` to the wanted one, in a safe order
    (``prune``: delete users and roles not wanted)."""
    wanted = {u["user"]: u for u in users}
    steps: list[tuple] = []
    if ROOT not in state["roles"]:
        steps.append((("role", "add", ROOT), None))
    if ROOT not in state["users"]:
        steps.append((("user", "add", ROOT, "--interactive=false"), root_password + "\n"))
    if ROOT not in state["users"].get(ROOT, []):
        steps.append((("user", "grant-role", ROOT, ROOT), None))
    for name, u in wanted.items():
        steps += _role_steps(name, u["prefix"], state["roles"].get(name))
        steps += _user_steps(name, u, state, ctl)
    for name in sorted(set(state["users"]) - set(wanted) - {ROOT}) if prune else ():
        steps.append((("user", "delete", name), None))
    for name in sorted(set(state["roles"]) - set(wanted) - {ROOT}) if prune else ():
        steps.append((("role", "delete", name), None))
    if not state["enabled"]:
        steps.append((("auth", "enable"), None))
    return steps


def _role_steps(name: str, prefix: str, perms: list | None) -> list[tuple]:
    want = wanted_perm(prefix)
    steps: list[tuple] = [] if perms is not None else [(("role", "add", name), None)]
    for p in perms or []:
        if p != want:
            key, end = (base64.b64decode(p.get(k, "")).decode() for k in ("key", "range_end"))
            steps.append((("role", "revoke-permission", name, key, end), None))
    if want not in (perms or []):
        steps.append((("role", "grant-permission", name, "--prefix=true", "readwrite", prefix), None))
    return steps


def _user_steps(name: str, u: dict, state: dict, ctl: Etcdctl) -> list[tuple]:
    if name not in state["users"]:
        return [
            (("user", "add", name, "--interactive=false"), u["password"] + "\n"),
            (("user", "grant-role", name, name), None),
        ]
    steps: list[tuple] = []
    # A password is only checked once auth is on (before, etcd accepts any); unchecked, it is set.
    if not state["enabled"] or not ctl.logs_in(name, u["password"], u["prefix"]):
        steps.append((("user", "passwd", name, "--interactive=false"), u["password"] + "\n"))
    roles = state["users"][name]
    steps += [(("user", "revoke-role", name, r), None) for r in roles if r != name]
    if name not in roles:
        steps.append((("user", "grant-role", name, name), None))
    return steps


def main() -> None:
    from ansible.module_utils.basic import AnsibleModule

    module = AnsibleModule(
        argument_spec={
            "endpoint": {"type": "str", "required": True},
            "root_password": {"type": "str", "required": True, "no_log": True},
            "users": {"type": "list", "elements": "dict", "required": True, "no_log": False},
            "command_timeout": {"type": "str", "default": "5s"},
        },
        supports_check_mode=True,
    )
    p = module.params
    for u in p["users"]:
        module.no_log_values.add(u["password"])
    ctl = Etcdctl(p["endpoint"], p["root_password"], p["command_timeout"])
    try:
        steps = plan(read_state(ctl), p["users"], p["root_password"], ctl)
        if not module.check_mode:
            for args, stdin in steps:
                ctl.run(*args, stdin=stdin)
    except EtcdError as exc:
        module.fail_json(msg=str(exc))
    # Only the commands (names, prefixes), never their stdin (passwords).
    module.exit_json(changed=bool(steps), actions=[" ".join(a) for a, _ in steps])


def bootstrap(auth_file: str, endpoint: str, deadline_s: float = 600, interval_s: float = 2) -> int:
    """Container start: retry until the cluster answers, then create what ``auth_file`` lists
    ({root_password, users: [{user, password, prefix}]}) and enable auth; nothing if auth is on.
    Never deletes. Members run it concurrently: a step another member did first fails, and the
    next round reads the state again."""
    with open(auth_file, encoding="utf-8") as f:
        wanted = json.load(f)
    ctl = Etcdctl(endpoint, wanted["root_password"], "5s")
    deadline, last = time.monotonic() + deadline_s, ""
    while time.monotonic() < deadline:
        try:
            state = read_state(ctl)
            for args, stdin in (
                [] if state["enabled"] else plan(state, wanted["users"], wanted["root_password"], ctl, prune=False)
            ):
                ctl.run(*args, stdin=stdin)
                print(f"etcd-auth bootstrap: etcdctl {' '.join(args)}", flush=True)
            print("etcd-auth bootstrap: auth is on", flush=True)
            return 0
        except EtcdError as exc:  # no quorum yet, or another member's step came first
            last = str(exc)
        time.sleep(interval_s)
    print(f"etcd-auth bootstrap: gave up after {deadline_s:.0f} s: {last}", file=sys.stderr, flush=True)
    return 1


if __name__ == "__main__":
    if sys.argv[1:2] == ["bootstrap"] and len(sys.argv) == 4:
        sys.exit(bootstrap(sys.argv[2], sys.argv[3]))
    main()
