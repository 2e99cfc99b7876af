"""Apply recorded docker resources to the local engine with pulumi-docker's semantics."""

from __future__ import annotations

import base64
import collections
import hashlib
import hmac
import io
import json
import os
import posixpath
import re
import tarfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from . import spec as S
from .errors import RealizerError

HASH_VERSION = "1"


@dataclass
class Action:
    action: str  # created | unchanged | replaced | deleted | kept
    kind: str  # container | network | volume | image | RandomPassword | ...
    name: str
    detail: str = ""

    def line(self) -> str:
        text = f"{self.action:<10} {self.kind:<15} {self.name}"
        return text + (f"  ({self.detail})" if self.detail else "")


def connect(timeout: int = 600):
    """docker.from_env(), refusing anything but the local engine."""
    import docker

    host = os.environ.get("DOCKER_HOST", "")
    if host and not host.startswith("unix://"):
        raise RealizerError(f"DOCKER_HOST={host!r}: the realizer only drives the local Docker engine (unix socket)")
    try:
        client = docker.from_env(timeout=timeout)
        client.ping()
    except Exception as exc:
        raise RealizerError(f"cannot reach the local Docker engine: {exc}") from exc
    return client


def _not_found(exc: Exception) -> bool:
    import docker.errors

    return isinstance(exc, docker.errors.NotFound)


def base_refs(img: dict) -> list[str]:
    """Image references a build may start from: FROM lines (build args substituted) and build-arg values."""
    refs: list[str] = []
    args = dict(img["args"])
    with open(img["dockerfile"], encoding="utf-8", errors="replace") as fh:
        for line in fh:
            words = line.strip().split()
            if len(words) >= 2 and words[0].upper() == "ARG" and "=" in words[1]:
                k, v = words[1].split("=", 1)
                args.setdefault(k, v.strip('"'))
            if words and words[0].upper() == "FROM":
                toks = [w for w in words[1:] if not w.startswith("--")]
                if toks:
                    ref = re.sub(r"\$\{(\w+)\}|\$(\w+)", lambda m: args.get(m.group(1) or m.group(2), ""), toks[0])
                    refs.append(ref)
    refs.extend(v for v in img["args"].values() if v)
    return sorted(set(refs))


def context_digest(img: dict, base_ids: dict[str, str] | None = None) -> str:
    """Digest of what a build would send: files of the context (minus .dockerignore), Dockerfile, options,
    and the IDs of local base images (so a rebuilt base image triggers a rebuild of its children)."""
    from docker.utils.build import exclude_paths

    root = img["context"]
    patterns: list[str] = []
    ignore = os.path.join(root, ".dockerignore")
    if os.path.exists(ignore):
        with open(ignore, encoding="utf-8") as fh:
            patterns = [ln.strip() for ln in fh.read().splitlines() if ln.strip() and not ln.strip().startswith("#")]
    rel_df = os.path.relpath(img["dockerfile"], root)
    h = hashlib.sha256()
    for rel in sorted(exclude_paths(root, patterns, dockerfile=rel_df)):
        full = os.path.join(root, rel)
        h.update(rel.encode() + b"\0")
        if os.path.islink(full):
            h.update(b"L" + os.readlink(full).encode())
        elif os.path.isfile(full):
            h.update(b"F" + (b"x" if os.access(full, os.X_OK) else b"-"))
            with open(full, "rb") as fh:
                for chunk in iter(lambda: fh.read(1 << 20), b""):
                    h.update(chunk)
        h.update(b"\0")
    with open(img["dockerfile"], "rb") as fh:
        h.update(b"DOCKERFILE\0" + fh.read())
    opts = {"args": img["args"]}
    opts["baseIds"] = base_ids or {}
    h.update(json.dumps(opts, sort_keys=True).encode())
    return h.hexdigest()


def spec_hash(key: str, spec: dict, image_id: str) -> str:
    payload = json.dumps({"v": HASH_VERSION, "spec": spec, "imageId": image_id}, sort_keys=True).encode()
    return hmac.new(key.encode(), payload, hashlib.sha256).hexdigest()


def _upload_tar(uploads: list[dict], missing_dirs: list[str]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for d in missing_dirs:
            ti = tarfile.TarInfo(d.lstrip("/"))
            ti.type = tarfile.DIRTYPE
            ti.mode = 0o755
            ti.mtime = int(time.time())
            tar.addfile(ti)
        for u in uploads:
            data = base64.b64decode(u["content_b64"])
            ti = tarfile.TarInfo(u["file"].lstrip("/"))
            ti.size = len(data)
            ti.mode = u["mode"]
            ti.uid, ti.gid = u["uid"], u["gid"]
            ti.mtime = int(time.time())
            tar.addfile(ti, io.BytesIO(data))
    return buf.getvalue()


class Applier:
    def __init__(self, client, stack: str, hash_key: str, out: Callable[[str], None]):
        self.client = client
        self.api = client.api
        self.stack = stack
        self.hash_key = hash_key
        self.out = out
        self.actions: list[Action] = []

    def record(self, action: str, kind: str, name: str, detail: str = "") -> None:
        a = Action(action, kind, name, detail)
        self.actions.append(a)
        self.out(a.line())

    def _labels(self, labels: dict) -> dict:
        return {**labels, S.STACK_LABEL: self.stack}

    # -- networks / volumes ------------------------------------------------------------------
    def network(self, n: dict) -> None:
        try:
            info = self.api.inspect_network(n["name"])
        except Exception as exc:
            if not _not_found(exc):
                raise
            info = None
        if info is not None:
            drift = []
            if info.get("Driver") != n["driver"]:
                drift.append(f"driver {info.get('Driver')} != {n['driver']}")
            if bool(info.get("Internal")) != n["internal"]:
                drift.append(f"internal {info.get('Internal')} != {n['internal']}")
            detail = "exists; kept as is" + (f"; WARNING drift: {', '.join(drift)}" if drift else "")
            self.record("unchanged", "network", n["name"], detail if drift else "")
            return
        self.api.create_network(n["name"], driver=n["driver"], internal=n["internal"], labels=self._labels(n["labels"]))
        self.record("created", "network", n["name"])

    def volume(self, v: dict) -> None:
        try:
            self.api.inspect_volume(v["name"])
            self.record("unchanged", "volume", v["name"])
            return
        except Exception as exc:
            if not _not_found(exc):
                raise
        self.api.create_volume(v["name"], labels=self._labels(v["labels"]))
        self.record("created", "volume", v["name"])

    # -- images ------------------------------------------------------------------------------
    def image(self, img: dict) -> None:
        base_ids = {}
        for ref in base_refs(img):
            try:
                base_ids[ref] = self.api.inspect_image(ref)["Id"]
            except Exception:
                pass
        digest = context_digest(img, base_ids)
        action = "created"
        try:
            info = self.api.inspect_image(img["imageName"])
        except Exception as exc:
            if not _not_found(exc):
                raise
            info = None
        if info is not None:
            have = ((info.get("Config") or {}).get("Labels") or {}).get(S.CONTEXT_LABEL)
            if have is None:
                self.record("unchanged", "image", img["imageName"], "tag present locally, not built by the realizer")
                return
            if have == digest:
                self.record("unchanged", "image", img["imageName"], "cached")
                return
            action = "replaced"
        self.out(f"building   image           {img['imageName']} ...")
        self._build(img, digest)
        self.record(action, "image", img["imageName"], "built with the engine's classic builder")

    def _build(self, img: dict, digest: str) -> None:
        tail: collections.deque[str] = collections.deque(maxlen=40)
        try:
            stream = self.api.build(
                path=img["context"],
                dockerfile=img["dockerfile"],
                tag=img["imageName"],
                buildargs=img["args"] or None,
                labels={S.CONTEXT_LABEL: digest, S.IMAGE_STACK_LABEL: self.stack},
                rm=True,
                forcerm=True,
                decode=True,
                pull=False,
            )
            for chunk in stream:
                if "stream" in chunk:
                    for ln in str(chunk["stream"]).splitlines():
                        if ln.strip():
                            tail.append(ln)
                            if ln.startswith("Step "):
                                self.out(f"             {ln}")
                if "error" in chunk:
                    tail.append(str(chunk.get("error")))
                    raise RealizerError(
                        f"build of image {img['imageName']} failed: {chunk['error'].strip()}\n"
                        "--- last build log lines ---\n" + "\n".join(tail)
                    )
        except RealizerError:
            raise
        except Exception as exc:
            raise RealizerError(
                f"build of image {img['imageName']} failed: {exc}\n--- last build log lines ---\n" + "\n".join(tail)
            ) from exc

    def remote_image(self, r: dict, pull_timeout: int = 120) -> None:
        try:
            self.api.inspect_image(r["name"])
            self.record("unchanged", "remote-image", r["name"], "present locally")
            return
        except Exception as exc:
            if not _not_found(exc):
                raise
        result: dict[str, Any] = {}

        def pull() -> None:
            try:
                for chunk in self.api.pull(r["name"], stream=True, decode=True):
                    if "error" in chunk:
                        result["error"] = chunk["error"]
                        return
                result["ok"] = True
            except Exception as exc:
                result["error"] = str(exc)

        t = threading.Thread(target=pull, daemon=True)
        t.start()
        t.join(pull_timeout)
        if not result.get("ok"):
            why = result.get("error") or f"no answer within {pull_timeout}s"
            raise RealizerError(f"remote image {r['name']!r} is not present locally and cannot be pulled: {why}")
        self.record("created", "remote-image", r["name"], "pulled")

    # -- containers --------------------------------------------------------------------------
    def _inspect_container(self, name: str) -> dict | None:
        try:
            return self.api.inspect_container(name)
        except Exception as exc:
            if _not_found(exc):
                return None
            raise

    def remove_container(self, info: dict) -> None:
        labels = (info.get("Config") or {}).get("Labels") or {}
        grace = labels.get(S.GRACE_LABEL)
        cid = info["Id"]
        if grace is not None and (info.get("State") or {}).get("Running"):
            try:
                self.api.stop(cid, timeout=int(grace))
            except Exception as exc:
                if not _not_found(exc):
                    raise
        try:
            self.api.remove_container(cid, force=True, v=False)
        except Exception as exc:
            if not _not_found(exc):
                raise

    def container(self, c: dict) -> bool:
        """Create/replace/keep one container. Returns True if it was (re)created."""
        name = c["name"]
        try:
            image_id = self.api.inspect_image(c["image"])["Id"]
        except Exception as exc:
            if _not_found(exc):
                raise RealizerError(
                    f"container {name!r}: image {c['image']!r} is not present locally "
                    "(declare it as a docker.Image or docker.RemoteImage)"
                ) from exc
            raise
        h = spec_hash(self.hash_key, c, image_id)
        existing = self._inspect_container(name)
        action = "created"
        if existing is not None:
            labels = (existing.get("Config") or {}).get("Labels") or {}
            owner = labels.get(S.STACK_LABEL)
            if owner != self.stack:
                raise RealizerError(
                    f"container {name!r} already exists and belongs to "
                    f"{'stack ' + repr(owner) if owner else 'no realizer stack'}; remove or rename it"
                )
            running = bool((existing.get("State") or {}).get("Running"))
            needs_running = c["must_run"]
            if labels.get(S.HASH_LABEL) == h and (running or not needs_running):
                self.record("unchanged", "container", name)
                return False
            reason = "spec changed" if labels.get(S.HASH_LABEL) != h else "not running"
            self.remove_container(existing)
            action = "replaced"
        else:
            reason = ""
        self._create(c, h)
        self.record(action, "container", name, reason)
        return True

    def _create(self, c: dict, h: str) -> None:
        create, host = S.container_create_args(c, self.stack, h)
        networking = None
        if c["networks"]:
            first = c["networks"][0]
            networking = self.api.create_networking_config(
                {first["name"]: self.api.create_endpoint_config(aliases=first["aliases"] or None)}
            )
        try:
            cid = self.api.create_container(
                host_config=self.api.create_host_config(**host), networking_config=networking, **create
            )["Id"]
        except Exception as exc:
            raise RealizerError(f"container {c['name']!r}: create failed: {exc}") from exc
        try:
            for n in c["networks"][1:]:
                self.api.connect_container_to_network(cid, n["name"], aliases=n["aliases"] or None)
            if c["uploads"]:
                self._upload(cid, c["uploads"])
            self.api.start(cid)
        except RealizerError:
            raise
        except Exception as exc:
            raise RealizerError(f"container {c['name']!r}: {exc}") from exc

    def _path_exists(self, cid: str, path: str) -> bool:
        res = self.api.head(self.api._url("/containers/{0}/archive", cid), params={"path": path})
        if res.status_code == 200:
            return True
        if res.status_code == 404:
            return False
        raise RealizerError(f"cannot stat {path} in container {cid[:12]}: HTTP {res.status_code}")

    def _upload(self, cid: str, uploads: list[dict]) -> None:
        missing: list[str] = []
        known: dict[str, bool] = {"/": True}
        for u in uploads:
            chain = []
            d = posixpath.dirname(u["file"])
            while d not in known:
                exists = self._path_exists(cid, d)
                known[d] = exists
                if exists:
                    break
                chain.append(d)
                d = posixpath.dirname(d)
            for d in reversed(chain):
                if d not in missing:
                    missing.append(d)
        if not self.api.put_archive(cid, "/", _upload_tar(uploads, missing)):
            raise RealizerError(f"upload into container {cid[:12]} failed")

    # -- orphans -----------------------------------------------------------------------------
    def remove_orphan_containers(self, declared: set[str]) -> None:
        for info in self.api.containers(all=True, filters={"label": f"{S.STACK_LABEL}={self.stack}"}):
            name = (info.get("Names") or ["/?"])[0].lstrip("/")
            if name not in declared:
                self.remove_container(self.api.inspect_container(info["Id"]))
                self.record("deleted", "container", name, "no longer declared")

    def remove_orphan_networks(self, declared: set[str]) -> None:
        for info in self.api.networks(filters={"label": f"{S.STACK_LABEL}={self.stack}"}):
            if info["Name"] not in declared:
                try:
                    self.api.remove_network(info["Id"])
                except Exception as exc:
                    raise RealizerError(
                        f"network {info['Name']!r} is no longer declared but cannot be removed: {exc}"
                    ) from exc
                self.record("deleted", "network", info["Name"], "no longer declared")

    def report_orphan_volumes(self, declared: set[str]) -> None:
        for v in self.api.volumes(filters={"label": f"{S.STACK_LABEL}={self.stack}"}).get("Volumes") or []:
            if v["Name"] not in declared:
                self.record(
                    "kept", "volume", v["Name"], "no longer declared; data kept, `down --delete-data` removes it"
                )

    # -- waiting -----------------------------------------------------------------------------
    def _wait_one(self, name: str, timeout: int) -> str | None:
        deadline = time.monotonic() + timeout
        while True:
            info = self._inspect_container(name)
            if info is None:
                return "container disappeared"
            st = info.get("State") or {}
            health = st.get("Health")
            if health is None:
                if st.get("Running"):
                    return None  # no healthcheck: running is all there is to wait for
            elif health.get("Status") == "healthy":
                return None
            elif health.get("Status") == "unhealthy":
                return "unhealthy"
            if not st.get("Running") and not st.get("Restarting"):
                return f"exited (code {st.get('ExitCode')})"
            if time.monotonic() >= deadline:
                return f"not healthy after {timeout}s (status {(health or {}).get('Status', st.get('Status'))})"
            time.sleep(0.5)

    def diagnostics(self, name: str) -> str:
        lines = []
        info = self._inspect_container(name)
        if info:
            for entry in (((info.get("State") or {}).get("Health") or {}).get("Log") or [])[-3:]:
                out = (entry.get("Output") or "").strip().replace("\n", "\n      ")
                lines.append(f"    health check exit {entry.get('ExitCode')}: {out}")
            try:
                logs = self.api.logs(name, tail=30).decode("utf-8", "replace").rstrip()
            except Exception as exc:
                logs = f"(cannot read logs: {exc})"
            lines.append("    --- last 30 log lines ---")
            lines.extend("    " + ln for ln in logs.splitlines())
        return "\n".join(lines)

    def wait_all(self, containers: list[dict]) -> None:
        todo = [c for c in containers if c["wait"]]
        if not todo:
            return
        self.out(f"waiting    for {len(todo)} container(s) to be healthy: {', '.join(c['name'] for c in todo)}")
        t0 = time.monotonic()
        with ThreadPoolExecutor(max_workers=min(16, len(todo))) as pool:
            results = list(pool.map(lambda c: (c["name"], self._wait_one(c["name"], c["wait_timeout"])), todo))
        failed = [(n, why) for n, why in results if why]
        if failed:
            for n, why in failed:
                self.out(f"FAILED     container       {n}: {why}\n{self.diagnostics(n)}")
            raise RealizerError("container(s) not healthy: " + ", ".join(f"{n} ({why})" for n, why in failed))
        self.out(f"healthy    {len(todo)} container(s) in {time.monotonic() - t0:.1f}s")
