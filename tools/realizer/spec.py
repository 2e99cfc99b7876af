"""Pure translation of recorded pulumi-docker inputs into the specs the applier executes.

Nothing here talks to Docker, so it is unit-tested on recorded wire-input dicts.
Every accepted input key is listed; any other key is rejected with an error
naming the key and the resource, so nothing a program asks for is ignored.
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
    "name", "image", "command", "entrypoints", "envs", "labels", "hostname", "domainname", "user",
    "workingDir", "ports", "networksAdvanced", "networkMode", "volumes", "mounts", "memory", "memorySwap",
    "cpuShares", "restart", "maxRetryCount", "healthcheck", "uploads", "mustRun", "start", "wait",
    "waitTimeout", "init", "tmpfs", "shmSize", "capabilities", "logDriver", "logOpts", "stopSignal",
    "stopTimeout", "destroyGraceSeconds", "sysctls", "ulimits", "privileged",
    # accepted only when false (they are the realizer's behaviour anyway):
    "rm", "attach", "logs",
}
PORT_KEYS = {"internal", "external", "ip", "protocol"}
NETWORK_ADV_KEYS = {"name", "aliases", "ipv4Address"}
VOLUME_KEYS = {"volumeName", "hostPath", "containerPath", "readOnly"}
HEALTH_KEYS = {"tests", "interval", "timeout", "startPeriod", "retries"}
UPLOAD_KEYS = {"file", "content", "contentBase64", "source", "sourceHash", "executable", "permissions",
               "owner", "group"}
MOUNT_KEYS = {"target", "type", "source", "readOnly", "bindOptions", "volumeOptions", "tmpfsOptions"}
ULIMIT_KEYS = {"name", "soft", "hard"}
RESTART_POLICIES = {"no", "on-failure", "always", "unless-stopped"}

NETWORK_KEYS = {"name", "driver", "internal", "attachable", "labels", "options", "ipamConfigs", "ipamDriver",
                "ipv6"}
IPAM_KEYS = {"subnet", "ipRange", "gateway", "auxAddress"}
VOLUME_RES_KEYS = {"name", "driver", "driverOpts", "labels"}
IMAGE_KEYS = {"imageName", "build", "skipPush", "buildOnPreview", "registry"}
BUILD_KEYS = {"context", "dockerfile", "args", "target", "platform", "builderVersion", "network", "addHosts"}
REMOTE_IMAGE_KEYS = {"name", "keepLocally", "forceRemove", "platform"}


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
    name = inputs.get("name")
    where = f"container {name or resource_name!r}"
    _reject_unknown(inputs, CONTAINER_KEYS, where)
    for flag in ("rm", "attach", "logs"):
        if inputs.get(flag):
            raise RealizerError(f"{where}: input {flag!r}=true is not supported by the realizer")
    name = _req_name(inputs, where)
    image = inputs.get("image")
    if not image:
        raise RealizerError(f"{where}: input 'image' is required")

    spec: dict[str, Any] = {"name": name, "image": str(image)}
    if inputs.get("command") is not None:
        spec["command"] = [str(c) for c in _list(inputs["command"], f"{where}: command")]
    if inputs.get("entrypoints") is not None:
        spec["entrypoint"] = [str(c) for c in _list(inputs["entrypoints"], f"{where}: entrypoints")]
    env = []
    for e in _list(inputs.get("envs"), f"{where}: envs"):
        if not isinstance(e, str) or "=" not in e:
            raise RealizerError(f"{where}: envs entries must be 'KEY=VALUE' strings, got {e!r}")
        env.append(e)
    spec["env"] = sorted(env)  # pulumi-docker treats envs as a set
    spec["labels"] = labels_dict(inputs.get("labels"), where)
    for src, dst in (("hostname", "hostname"), ("domainname", "domainname"), ("user", "user"),
                     ("workingDir", "working_dir"), ("stopSignal", "stop_signal")):
        if inputs.get(src) not in (None, ""):
            spec[dst] = str(inputs[src])

    ports = []
    for p in _list(inputs.get("ports"), f"{where}: ports"):
        _reject_unknown(p, PORT_KEYS, f"{where}: ports")
        proto = (p.get("protocol") or "tcp").lower()
        if proto not in ("tcp", "udp", "sctp"):
            raise RealizerError(f"{where}: port protocol {proto!r} invalid")
        ports.append({
            "internal": _int(p.get("internal"), f"{where}: ports.internal"),
            "external": None if p.get("external") is None else _int(p["external"], f"{where}: ports.external"),
            "ip": p.get("ip") or "0.0.0.0",  # pulumi-docker's default
            "protocol": proto,
        })
    spec["ports"] = ports

    nets = []
    for n in _list(inputs.get("networksAdvanced"), f"{where}: networksAdvanced"):
        _reject_unknown(n, NETWORK_ADV_KEYS, f"{where}: networksAdvanced")
        if not n.get("name"):
            raise RealizerError(f"{where}: networksAdvanced entry without a name")
        nets.append({"name": str(n["name"]), "aliases": sorted(str(a) for a in n.get("aliases") or []),
                     "ipv4Address": n.get("ipv4Address") or None})
    spec["networks"] = nets
    mode = inputs.get("networkMode")
    if mode:
        if nets and mode != nets[0]["name"]:
            raise RealizerError(
                f"{where}: both networkMode {mode!r} and networksAdvanced are set; "
                "the realizer attaches networksAdvanced only (drop networkMode or make it the first network)"
            )
        spec["network_mode"] = str(mode)

    vols = []
    for v in _list(inputs.get("volumes"), f"{where}: volumes"):
        _reject_unknown(v, VOLUME_KEYS, f"{where}: volumes")
        cpath = v.get("containerPath")
        if not cpath:
            raise RealizerError(f"{where}: volumes entry without containerPath")
        if bool(v.get("volumeName")) == bool(v.get("hostPath")):
            raise RealizerError(f"{where}: volumes entry for {cpath!r} needs exactly one of volumeName / hostPath")
        src = v.get("volumeName") or v.get("hostPath")
        if v.get("hostPath") and not os.path.isabs(v["hostPath"]):
            raise RealizerError(f"{where}: hostPath {v['hostPath']!r} must be absolute (as in pulumi-docker)")
        vols.append({"source": str(src), "target": str(cpath), "readOnly": bool(v.get("readOnly")),
                     "kind": "volume" if v.get("volumeName") else "bind"})
    spec["volumes"] = vols

    mounts = []
    for m in _list(inputs.get("mounts"), f"{where}: mounts"):
        _reject_unknown(m, MOUNT_KEYS, f"{where}: mounts")
        mtype = m.get("type")
        if mtype not in ("bind", "volume", "tmpfs"):
            raise RealizerError(f"{where}: mount type {mtype!r} not supported (bind, volume, tmpfs)")
        mount = {"target": m.get("target"), "type": mtype, "source": m.get("source"),
                 "readOnly": bool(m.get("readOnly"))}
        if m.get("bindOptions"):
            _reject_unknown(m["bindOptions"], {"propagation"}, f"{where}: mounts.bindOptions")
            mount["propagation"] = m["bindOptions"].get("propagation")
        if m.get("volumeOptions"):
            vo = m["volumeOptions"]
            _reject_unknown(vo, {"driverName", "driverOptions", "labels", "noCopy"}, f"{where}: mounts.volumeOptions")
            mount["noCopy"] = bool(vo.get("noCopy"))
            mount["driverName"] = vo.get("driverName")
            mount["driverOptions"] = vo.get("driverOptions")
            mount["labels"] = labels_dict(vo.get("labels"), where)
        if m.get("tmpfsOptions"):
            to = m["tmpfsOptions"]
            _reject_unknown(to, {"mode", "sizeBytes"}, f"{where}: mounts.tmpfsOptions")
            mount["tmpfsMode"] = to.get("mode")
            mount["tmpfsSize"] = to.get("sizeBytes")
        mounts.append(mount)
    spec["mounts"] = mounts

    if inputs.get("memory") is not None:
        spec["mem_limit"] = _int(inputs["memory"], f"{where}: memory") * MB
    if inputs.get("memorySwap") is not None:
        swap = _int(inputs["memorySwap"], f"{where}: memorySwap")
        spec["memswap_limit"] = -1 if swap < 0 else swap * MB
    if inputs.get("cpuShares") is not None:
        spec["cpu_shares"] = _int(inputs["cpuShares"], f"{where}: cpuShares")
    if inputs.get("shmSize") is not None:
        spec["shm_size"] = _int(inputs["shmSize"], f"{where}: shmSize") * MB

    restart = inputs.get("restart") or "no"
    if restart not in RESTART_POLICIES:
        raise RealizerError(f"{where}: restart {restart!r} invalid ({', '.join(sorted(RESTART_POLICIES))})")
    retries = inputs.get("maxRetryCount")
    if retries and restart != "on-failure":
        raise RealizerError(f"{where}: maxRetryCount only applies to restart='on-failure'")
    spec["restart"] = {"Name": "" if restart == "no" else restart, "MaximumRetryCount": int(retries or 0)}

    hc = inputs.get("healthcheck")
    if hc:
        _reject_unknown(hc, HEALTH_KEYS, f"{where}: healthcheck")
        tests = [str(t) for t in _list(hc.get("tests"), f"{where}: healthcheck.tests")]
        if not tests:
            raise RealizerError(f"{where}: healthcheck.tests is required")
        spec["healthcheck"] = {
            "test": tests,
            "interval": wire.parse_duration(hc.get("interval"), f"{where}: healthcheck.interval"),
            "timeout": wire.parse_duration(hc.get("timeout"), f"{where}: healthcheck.timeout"),
            "start_period": wire.parse_duration(hc.get("startPeriod"), f"{where}: healthcheck.startPeriod"),
            "retries": int(hc.get("retries") or 0),
        }

    uploads = []
    for u in _list(inputs.get("uploads"), f"{where}: uploads"):
        _reject_unknown(u, UPLOAD_KEYS, f"{where}: uploads")
        path = u.get("file")
        if not path or not str(path).startswith("/"):
            raise RealizerError(f"{where}: uploads.file must be an absolute path in the container, got {path!r}")
        uwhere = f"{where}: upload {path}"
        given = [k for k in ("content", "contentBase64", "source") if u.get(k) is not None]
        if len(given) != 1:
            raise RealizerError(f"{uwhere}: needs exactly one of content / contentBase64 / source (got {given})")
        if u.get("content") is not None:
            data = str(u["content"]).encode("utf-8")
        elif u.get("contentBase64") is not None:
            try:
                data = base64.b64decode(u["contentBase64"], validate=True)
            except ValueError as exc:
                raise RealizerError(f"{uwhere}: contentBase64 is not valid base64") from exc
        else:
            src = os.path.join(project_dir, str(u["source"]))
            try:
                with open(src, "rb") as fh:
                    data = fh.read()
            except OSError as exc:
                raise RealizerError(f"{uwhere}: cannot read source {src}: {exc}") from exc
        if u.get("permissions") not in (None, ""):
            mode = parse_mode(u["permissions"], uwhere)
        else:
            mode = 0o755 if u.get("executable") else 0o644
        uploads.append({
            "file": str(path),
            "content_b64": base64.b64encode(data).decode(),
            "mode": mode,
            "uid": _owner_id(u.get("owner"), "owner", uwhere),
            "gid": _owner_id(u.get("group"), "group", uwhere),
        })
    spec["uploads"] = uploads

    spec["must_run"] = True if inputs.get("mustRun") is None else bool(inputs["mustRun"])
    spec["start"] = True if inputs.get("start") is None else bool(inputs["start"])
    spec["wait"] = bool(inputs.get("wait"))
    spec["wait_timeout"] = int(inputs.get("waitTimeout") or 60)
    if spec["wait"] and not spec["start"]:
        raise RealizerError(f"{where}: wait=true needs start=true")
    if inputs.get("init") is not None:
        spec["init"] = bool(inputs["init"])
    if inputs.get("tmpfs"):
        spec["tmpfs"] = {str(k): str(v) for k, v in inputs["tmpfs"].items()}
    caps = inputs.get("capabilities")
    if caps:
        _reject_unknown(caps, {"adds", "drops"}, f"{where}: capabilities")
        spec["cap_add"] = sorted(caps.get("adds") or [])
        spec["cap_drop"] = sorted(caps.get("drops") or [])
    if inputs.get("logDriver") or inputs.get("logOpts"):
        spec["log_config"] = {"Type": inputs.get("logDriver") or "json-file",
                              "Config": {str(k): str(v) for k, v in (inputs.get("logOpts") or {}).items()}}
    if inputs.get("stopTimeout") is not None:
        spec["stop_timeout"] = _int(inputs["stopTimeout"], f"{where}: stopTimeout")
    if inputs.get("destroyGraceSeconds") is not None:
        spec["destroy_grace_seconds"] = _int(inputs["destroyGraceSeconds"], f"{where}: destroyGraceSeconds")
    if inputs.get("sysctls"):
        spec["sysctls"] = {str(k): str(v) for k, v in inputs["sysctls"].items()}
    ulimits = []
    for ul in _list(inputs.get("ulimits"), f"{where}: ulimits"):
        _reject_unknown(ul, ULIMIT_KEYS, f"{where}: ulimits")
        ulimits.append({"Name": ul["name"], "Soft": int(ul["soft"]), "Hard": int(ul["hard"])})
    if ulimits:
        spec["ulimits"] = ulimits
    if inputs.get("privileged"):
        spec["privileged"] = True
    return spec


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
    if "command" in spec:
        create["command"] = spec["command"]
    if "entrypoint" in spec:
        create["entrypoint"] = spec["entrypoint"]
    for k in ("hostname", "domainname", "user", "working_dir", "stop_signal", "stop_timeout"):
        if k in spec:
            create[k] = spec[k]
    if "healthcheck" in spec:
        create["healthcheck"] = dict(spec["healthcheck"])
    if spec["ports"]:
        create["ports"] = [(p["internal"], p["protocol"]) for p in spec["ports"]]

    host: dict[str, Any] = {}
    if spec["ports"]:
        bindings: dict[str, list] = {}
        for p in spec["ports"]:
            key = f"{p['internal']}/{p['protocol']}"
            bindings.setdefault(key, []).append((p["ip"], p["external"]) if p["external"] else (p["ip"],))
        host["port_bindings"] = bindings
    binds = []
    for v in spec["volumes"]:
        binds.append(f"{v['source']}:{v['target']}:{'ro' if v['readOnly'] else 'rw'}")
    if binds:
        host["binds"] = binds
    if spec["networks"]:
        host["network_mode"] = spec["networks"][0]["name"]
    elif spec.get("network_mode"):
        host["network_mode"] = spec["network_mode"]
    for k in ("mem_limit", "memswap_limit", "cpu_shares", "shm_size", "init", "tmpfs", "cap_add", "cap_drop",
              "sysctls", "privileged", "ulimits"):
        if k in spec:
            host[k] = spec[k]
    if spec["mounts"]:
        from docker.types import DriverConfig, Mount

        host["mounts"] = [
            Mount(
                target=m["target"], source=m.get("source"), type=m["type"], read_only=m["readOnly"],
                propagation=m.get("propagation"), no_copy=m.get("noCopy", False), labels=m.get("labels") or None,
                driver_config=DriverConfig(m["driverName"], m.get("driverOptions")) if m.get("driverName") else None,
                tmpfs_size=m.get("tmpfsSize"), tmpfs_mode=m.get("tmpfsMode"),
            )
            for m in spec["mounts"]
        ]
    host["restart_policy"] = spec["restart"]
    if "log_config" in spec:
        host["log_config"] = spec["log_config"]
    return create, host


# --------------------------------------------------------------------------------------------
# Networks, volumes, images
# --------------------------------------------------------------------------------------------
def network_spec(inputs: dict, resource_name: str = "?") -> dict:
    where = f"network {inputs.get('name') or resource_name!r}"
    _reject_unknown(inputs, NETWORK_KEYS, where)
    spec = {
        "name": _req_name(inputs, where),
        "driver": inputs.get("driver") or "bridge",
        "internal": bool(inputs.get("internal")),
        "attachable": bool(inputs.get("attachable")),
        "labels": labels_dict(inputs.get("labels"), where),
        "options": {str(k): str(v) for k, v in (inputs.get("options") or {}).items()},
        "ipamDriver": inputs.get("ipamDriver") or "default",
        "ipv6": bool(inputs.get("ipv6")),
        "ipam": [],
    }
    for cfg in _list(inputs.get("ipamConfigs"), f"{where}: ipamConfigs"):
        _reject_unknown(cfg, IPAM_KEYS, f"{where}: ipamConfigs")
        spec["ipam"].append({"subnet": cfg.get("subnet"), "iprange": cfg.get("ipRange"),
                             "gateway": cfg.get("gateway"), "aux_addresses": cfg.get("auxAddress")})
    return spec


def volume_spec(inputs: dict, resource_name: str = "?") -> dict:
    where = f"volume {inputs.get('name') or resource_name!r}"
    _reject_unknown(inputs, VOLUME_RES_KEYS, where)
    return {
        "name": _req_name(inputs, where),
        "driver": inputs.get("driver") or "local",
        "driver_opts": {str(k): str(v) for k, v in (inputs.get("driverOpts") or {}).items()},
        "labels": labels_dict(inputs.get("labels"), where),
    }


def image_spec(inputs: dict, project_dir: str, resource_name: str = "?") -> dict:
    """docker.Image: context relative to the project dir; dockerfile relative to the project dir too
    (pulumi-docker v4+ resolves it against the program's working directory, not the context),
    defaulting to <context>/Dockerfile."""
    where = f"image {inputs.get('imageName') or resource_name!r}"
    _reject_unknown(inputs, IMAGE_KEYS, where)
    name = _req_name(inputs, where, "imageName")
    if not inputs.get("skipPush"):
        raise RealizerError(f"{where}: skipPush is false: the realizer does not push (set skip_push=True)")
    build = inputs.get("build") or {}
    _reject_unknown(build, BUILD_KEYS, f"{where}: build")
    context = os.path.normpath(os.path.join(project_dir, build.get("context") or "."))
    if build.get("dockerfile"):
        dockerfile = os.path.normpath(os.path.join(project_dir, build["dockerfile"]))
    else:
        dockerfile = os.path.join(context, "Dockerfile")
    if not os.path.isdir(context):
        raise RealizerError(f"{where}: build context {context} is not a directory")
    if not os.path.isfile(dockerfile):
        raise RealizerError(f"{where}: Dockerfile {dockerfile} not found (dockerfile paths are relative to the "
                            "project directory, as in pulumi-docker v4+; default <context>/Dockerfile)")
    bv = build.get("builderVersion") or "BuilderBuildKit"
    if bv not in ("BuilderV1", "BuilderBuildKit"):
        raise RealizerError(f"{where}: builderVersion {bv!r} invalid")
    return {
        "imageName": name,
        "context": context,
        "dockerfile": dockerfile,
        "args": {str(k): str(v) for k, v in (build.get("args") or {}).items()},
        "target": build.get("target") or None,
        "platform": build.get("platform") or None,
        "network": build.get("network") or None,
        "addHosts": list(build.get("addHosts") or []),
        "builderVersion": bv,
        "registryIgnored": bool(inputs.get("registry")),
    }


def remote_image_spec(inputs: dict, resource_name: str = "?") -> dict:
    where = f"remote image {inputs.get('name') or resource_name!r}"
    _reject_unknown(inputs, REMOTE_IMAGE_KEYS, where)
    return {"name": _req_name(inputs, where), "platform": inputs.get("platform") or None}
