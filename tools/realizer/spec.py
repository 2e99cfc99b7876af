"""Pure translation of recorded pulumi-docker inputs into the specs the applier executes.

Nothing here talks to Docker, so it is unit-tested on recorded wire-input dicts.
Only the inputs the program (components/) emits are accepted; any other key is rejected
with an error naming the key and the resource, so nothing a program asks for is ignored
and no code is kept for inputs nothing uses. pulumi-docker has many more (mounts, tmpfs,
networkMode, ...): a program that needs one adds it here, with its test.
"""

from __future__ import annotations

import base64
import os
from typing import Any

from . import wire
from .errors import RealizerError

STACK_LABEL = "novaops.realizer.stack"
HASH_LABEL = "novaops.realizer.spec-hash"
GRACE_LABEL = "novaops.realizer.destroy-grace-seconds"
CONTEXT_LABEL = "novaops.realizer.context-hash"
# Images deliberately do NOT carry STACK_LABEL: image labels are inherited by every container run
# from the image, so a foreign `docker run` of it would otherwise be removed by `down`.
IMAGE_STACK_LABEL = "novaops.realizer.built-for-stack"
RESERVED_LABEL_PREFIX = "novaops.realizer."

MB = 1024 * 1024

CONTAINER_KEYS = {
    "name",
    "image",
    "command",
    "envs",
    "labels",
    "hostname",
    "ports",
    "networksAdvanced",
    "volumes",
    "memory",
    "restart",
    "healthcheck",
    "uploads",
    "mustRun",
    "wait",
    "waitTimeout",
    "destroyGraceSeconds",
}
PORT_KEYS = {"internal", "external", "ip", "protocol"}
NETWORK_ADV_KEYS = {"name", "aliases"}
VOLUME_KEYS = {"volumeName", "containerPath"}
HEALTH_KEYS = {"tests", "interval", "timeout", "startPeriod", "retries"}
UPLOAD_KEYS = {"file", "content", "permissions", "owner"}
RESTART_POLICIES = {"no", "on-failure", "always", "unless-stopped"}

NETWORK_KEYS = {"name", "driver", "internal", "labels"}
VOLUME_RES_KEYS = {"name", "labels"}
# buildOnPreview: set by the SDK itself (ignored: no preview).
IMAGE_KEYS = {"imageName", "build", "skipPush", "buildOnPreview"}
BUILD_KEYS = {"context", "args"}
REMOTE_IMAGE_KEYS = {"name", "keepLocally"}


def _reject_unknown(obj: dict, allowed: set[str], where: str) -> None:
    unknown = sorted(k for k in obj if k not in allowed and obj[k] is not None)
    if unknown:
        raise RealizerError(
            f"{where}: input {', '.join(repr(k) for k in unknown)} is not supported by the realizer "
            f"(supported: {', '.join(sorted(allowed))})"
        )


def _list(value: Any, where: str) -> list:
    if value is None:
        return []
    if not isinstance(value, list):
        raise RealizerError(f"{where}: expected a list, got {value!r}")
    return value


def labels_dict(labels: Any, where: str) -> dict[str, str]:
    """pulumi-docker labels arrive as a list of {label, value}."""
    out: dict[str, str] = {}
    for item in _list(labels, f"{where}: labels"):
        if not isinstance(item, dict) or "label" not in item:
            raise RealizerError(f"{where}: labels entries must be {{label, value}}, got {item!r}")
        _reject_unknown(item, {"label", "value"}, f"{where}: labels")
        key = str(item["label"])
        if key.startswith(RESERVED_LABEL_PREFIX):
            raise RealizerError(f"{where}: label {key!r} is reserved for the realizer")
        out[key] = "" if item.get("value") is None else str(item["value"])
    return out


def _req_name(inputs: dict, where: str, key: str = "name") -> str:
    name = inputs.get(key)
    if not name:
        raise RealizerError(f"{where}: needs an explicit {key}= (the realizer does not auto-name)")
    return str(name)


def _int(value: Any, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise RealizerError(f"{where}: expected an integer, got {value!r}")
    return value


def parse_mode(text: Any, where: str) -> int:
    s = str(text).strip().lower()
    if s.startswith("0o"):
        s = s[2:]
    try:
        mode = int(s, 8)
    except ValueError as exc:
        raise RealizerError(f"{where}: permissions {text!r} is not an octal mode like '0640'") from exc
    if not 0 <= mode <= 0o7777:
        raise RealizerError(f"{where}: permissions {text!r} out of range")
    return mode


def _owner_id(value: Any, kind: str, where: str) -> int:
    """Numeric ids are used as given; names are resolved on this host, as pulumi-docker does."""
    if value is None or value == "":
        return 0
    s = str(value)
    if s.isdigit():
        return int(s)
    try:
        if kind == "owner":
            import pwd

            return pwd.getpwnam(s).pw_uid
        import grp

        return grp.getgrnam(s).gr_gid
    except KeyError as exc:
        raise RealizerError(f"{where}: {kind} {s!r} is not a numeric id and not known on this host") from exc


# --------------------------------------------------------------------------------------------
# Container
# --------------------------------------------------------------------------------------------
def container_spec(inputs: dict, project_dir: str, resource_name: str = "?") -> dict:
    """Translate the plain (unwrapped, int-normalised) inputs of a docker Container.

    The result is JSON-able; it is both what gets created and what is hashed.
    """
    where = f"container {inputs.get('name') or resource_name!r}"
    _reject_unknown(inputs, CONTAINER_KEYS, where)
    image = inputs.get("image")
    if not image:
        raise RealizerError(f"{where}: input 'image' is required")
    spec: dict[str, Any] = {"name": _req_name(inputs, where), "image": str(image)}
    if inputs.get("command") is not None:
        spec["command"] = [str(c) for c in _list(inputs["command"], f"{where}: command")]
    spec["env"] = _envs(inputs.get("envs"), where)
    spec["labels"] = labels_dict(inputs.get("labels"), where)
    if inputs.get("hostname") not in (None, ""):
        spec["hostname"] = str(inputs["hostname"])
    spec["ports"] = [_port(p, where) for p in _list(inputs.get("ports"), f"{where}: ports")]
    spec["networks"] = [_network(n, where) for n in _list(inputs.get("networksAdvanced"), f"{where}: networksAdvanced")]
    spec["volumes"] = [_volume(v, where) for v in _list(inputs.get("volumes"), f"{where}: volumes")]
    if inputs.get("memory") is not None:
        spec["mem_limit"] = _int(inputs["memory"], f"{where}: memory") * MB
    spec["restart"] = _restart(inputs.get("restart"), where)
    if inputs.get("healthcheck"):
        spec["healthcheck"] = _healthcheck(inputs["healthcheck"], where)
    spec["uploads"] = [_upload(u, where) for u in _list(inputs.get("uploads"), f"{where}: uploads")]
    spec["must_run"] = True if inputs.get("mustRun") is None else bool(inputs["mustRun"])
    spec["wait"] = bool(inputs.get("wait"))
    spec["wait_timeout"] = int(inputs.get("waitTimeout") or 60)
    if inputs.get("destroyGraceSeconds") is not None:
        spec["destroy_grace_seconds"] = _int(inputs["destroyGraceSeconds"], f"{where}: destroyGraceSeconds")
    return spec


def _envs(envs: Any, where: str) -> list[str]:
    env = []
    for e in _list(envs, f"{where}: envs"):
        if not isinstance(e, str) or "=" not in e:
            raise RealizerError(f"{where}: envs entries must be 'KEY=VALUE' strings, got {e!r}")
        env.append(e)
    return sorted(env)  # pulumi-docker treats envs as a set


def _port(p: dict, where: str) -> dict:
    _reject_unknown(p, PORT_KEYS, f"{where}: ports")
    proto = (p.get("protocol") or "tcp").lower()
    if proto not in ("tcp", "udp", "sctp"):
        raise RealizerError(f"{where}: port protocol {proto!r} invalid")
    return {
        "internal": _int(p.get("internal"), f"{where}: ports.internal"),
        "external": None if p.get("external") is None else _int(p["external"], f"{where}: ports.external"),
        "ip": p.get("ip") or "0.0.0.0",  # pulumi-docker's default
        "protocol": proto,
    }


def _network(n: dict, where: str) -> dict:
    _reject_unknown(n, NETWORK_ADV_KEYS, f"{where}: networksAdvanced")
    if not n.get("name"):
        raise RealizerError(f"{where}: networksAdvanced entry without a name")
    return {"name": str(n["name"]), "aliases": sorted(str(a) for a in n.get("aliases") or [])}


def _volume(v: dict, where: str) -> dict:
    _reject_unknown(v, VOLUME_KEYS, f"{where}: volumes")
    if not v.get("containerPath") or not v.get("volumeName"):
        raise RealizerError(f"{where}: volumes entries need volumeName and containerPath, got {v!r}")
    return {"source": str(v["volumeName"]), "target": str(v["containerPath"])}


def _restart(policy: Any, where: str) -> dict:
    restart = policy or "no"
    if restart not in RESTART_POLICIES:
        raise RealizerError(f"{where}: restart {restart!r} invalid ({', '.join(sorted(RESTART_POLICIES))})")
    return {"Name": "" if restart == "no" else restart, "MaximumRetryCount": 0}


def _healthcheck(hc: dict, where: str) -> dict:
    _reject_unknown(hc, HEALTH_KEYS, f"{where}: healthcheck")
    tests = [str(t) for t in _list(hc.get("tests"), f"{where}: healthcheck.tests")]
    if not tests:
        raise RealizerError(f"{where}: healthcheck.tests is required")
    return {
        "test": tests,
        "interval": wire.parse_duration(hc.get("interval"), f"{where}: healthcheck.interval"),
        "timeout": wire.parse_duration(hc.get("timeout"), f"{where}: healthcheck.timeout"),
        "start_period": wire.parse_duration(hc.get("startPeriod"), f"{where}: healthcheck.startPeriod"),
        "retries": int(hc.get("retries") or 0),
    }


def _upload(u: dict, where: str) -> dict:
    _reject_unknown(u, UPLOAD_KEYS, f"{where}: uploads")
    path = u.get("file")
    if not path or not str(path).startswith("/"):
        raise RealizerError(f"{where}: uploads.file must be an absolute path in the container, got {path!r}")
    uwhere = f"{where}: upload {path}"
    if u.get("content") is None:
        raise RealizerError(f"{uwhere}: needs content")
    mode = parse_mode(u["permissions"], uwhere) if u.get("permissions") not in (None, "") else 0o644
    return {
        "file": str(path),
        "content_b64": base64.b64encode(str(u["content"]).encode("utf-8")).decode(),
        "mode": mode,
        "uid": _owner_id(u.get("owner"), "owner", uwhere),
        "gid": 0,
    }


def container_create_args(spec: dict, stack: str, spec_hash: str) -> tuple[dict, dict]:
    """(create_container kwargs without host_config/networking_config, create_host_config kwargs)."""
    labels = dict(spec["labels"])
    labels[STACK_LABEL] = stack
    labels[HASH_LABEL] = spec_hash
    if spec.get("destroy_grace_seconds") is not None:
        labels[GRACE_LABEL] = str(spec["destroy_grace_seconds"])
    create: dict[str, Any] = {
        "image": spec["image"],
        "name": spec["name"],
        "labels": labels,
        "environment": list(spec["env"]),
        "detach": True,
    }
    for k in ("command", "hostname"):
        if k in spec:
            create[k] = spec[k]
    if "healthcheck" in spec:
        create["healthcheck"] = dict(spec["healthcheck"])
    host: dict[str, Any] = {"restart_policy": spec["restart"]}
    if spec["ports"]:
        create["ports"] = [(p["internal"], p["protocol"]) for p in spec["ports"]]
        host["port_bindings"] = _port_bindings(spec["ports"])
    if spec["volumes"]:
        host["binds"] = [f"{v['source']}:{v['target']}:rw" for v in spec["volumes"]]
    if spec["networks"]:
        host["network_mode"] = spec["networks"][0]["name"]
    if "mem_limit" in spec:
        host["mem_limit"] = spec["mem_limit"]
    return create, host


def _port_bindings(ports: list[dict]) -> dict[str, list]:
    bindings: dict[str, list] = {}
    for p in ports:
        key = f"{p['internal']}/{p['protocol']}"
        bindings.setdefault(key, []).append((p["ip"], p["external"]) if p["external"] else (p["ip"],))
    return bindings


# --------------------------------------------------------------------------------------------
# Networks, volumes, images
# --------------------------------------------------------------------------------------------
def network_spec(inputs: dict, resource_name: str = "?") -> dict:
    where = f"network {inputs.get('name') or resource_name!r}"
    _reject_unknown(inputs, NETWORK_KEYS, where)
    return {
        "name": _req_name(inputs, where),
        "driver": inputs.get("driver") or "bridge",
        "internal": bool(inputs.get("internal")),
        "labels": labels_dict(inputs.get("labels"), where),
    }


def volume_spec(inputs: dict, resource_name: str = "?") -> dict:
    where = f"volume {inputs.get('name') or resource_name!r}"
    _reject_unknown(inputs, VOLUME_RES_KEYS, where)
    return {"name": _req_name(inputs, where), "labels": labels_dict(inputs.get("labels"), where)}


def image_spec(inputs: dict, project_dir: str, resource_name: str = "?") -> dict:
    """docker.Image: the context relative to the project dir (the program's working directory, as in
    pulumi-docker), built from its own Dockerfile."""
    where = f"image {inputs.get('imageName') or resource_name!r}"
    _reject_unknown(inputs, IMAGE_KEYS, where)
    name = _req_name(inputs, where, "imageName")
    if not inputs.get("skipPush"):
        raise RealizerError(f"{where}: skipPush is false: the realizer does not push (set skip_push=True)")
    build = inputs.get("build") or {}
    _reject_unknown(build, BUILD_KEYS, f"{where}: build")
    context = os.path.normpath(os.path.join(project_dir, build.get("context") or "."))
    dockerfile = os.path.join(context, "Dockerfile")
    if not os.path.isdir(context):
        raise RealizerError(f"{where}: build context {context} is not a directory")
    if not os.path.isfile(dockerfile):
        raise RealizerError(f"{where}: {dockerfile} not found (the realizer builds <context>/Dockerfile)")
    return {
        "imageName": name,
        "context": context,
        "dockerfile": dockerfile,
        "args": {str(k): str(v) for k, v in (build.get("args") or {}).items()},
    }


def remote_image_spec(inputs: dict, resource_name: str = "?") -> dict:
    where = f"remote image {inputs.get('name') or resource_name!r}"
    _reject_unknown(inputs, REMOTE_IMAGE_KEYS, where)
    return {"name": _req_name(inputs, where)}
