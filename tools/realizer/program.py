"""Run a Pulumi Python program under ``pulumi.runtime.set_mocks`` and record what it registers."""

from __future__ import annotations

import hashlib
import json
import os
import runpy
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pulumi
from pulumi.runtime import settings as psettings
from pulumi.runtime import stack as pstack
from pulumi.runtime.sync_await import _sync_await

from . import generators, wire
from .config import Project, StackConfig
from .errors import RealizerError
from .mocks import RecordingMocks, Registered, install
from .state import State

DOCKER_TYPES = {
    "docker:index/network:Network",
    "docker:index/volume:Volume",
    "docker:index/image:Image",
    "docker:index/remoteImage:RemoteImage",
    "docker:index/container:Container",
}
# Explicit providers the realizer accepts. docker's is checked for a local host.
PROVIDER_TYPES = {"pulumi:providers:docker", "pulumi:providers:random", "pulumi:providers:tls"}

COMPUTED = {
    "docker:index/network:Network": lambda i, n: {"name": i.get("name")},
    "docker:index/volume:Volume": lambda i, n: {"name": i.get("name")},
    # Without a push there is no registry digest; hand back the local tag so a program
    # that runs containers from `image.repo_digest` still gets a usable reference.
    "docker:index/image:Image": lambda i, n: {
        "imageName": i.get("imageName"),
        "baseImageName": i.get("imageName"),
        "repoDigest": i.get("imageName"),
        "context": (i.get("build") or {}).get("context") or ".",
        "dockerfile": (i.get("build") or {}).get("dockerfile") or "Dockerfile",
        "registryServer": "",
    },
    "docker:index/remoteImage:RemoteImage": lambda i, n: {"imageId": i.get("name"), "repoDigest": i.get("name")},
    "docker:index/container:Container": lambda i, n: {"name": i.get("name")},
}


@dataclass
class Evaluation:
    resources: list[Registered] = field(default_factory=list)  # registration order
    outputs: dict[str, tuple[Any, bool]] = field(default_factory=dict)  # name -> (value, secret)
    generated_actions: list[tuple[str, str, str]] = field(default_factory=list)  # (action, kind, name)


def inputs_hash(inputs: dict) -> str:
    return hashlib.sha256(json.dumps(wire.plain(inputs), sort_keys=True).encode()).hexdigest()


class RealizerMocks(RecordingMocks):
    """The shared recording mocks, answering as the realizer's types behave and refusing the rest."""

    def __init__(self, state: State, evaluation: Evaluation):
        super().__init__()
        self.resources = evaluation.resources
        self.state = state
        self.ev = evaluation
        self.errors: list[str] = []

    def fail(self, message: str) -> None:
        with self.lock:
            self.errors.append(message)
        raise RealizerError(message)

    def call(self, args: pulumi.runtime.MockCallArgs):
        self.fail(f"invoke {args.token!r} is not supported by the realizer (it only records and applies resources)")

    def read_resource(self, request):
        self.fail(
            f"{request.type} {request.name!r}: reading an existing resource (.get / import) "
            "is not supported by the realizer"
        )

    def respond(self, rec: Registered):
        typ, inputs = rec.type, rec.inputs
        if not rec.custom:  # component resources carry no behaviour of their own
            return (None, {})
        if typ in PROVIDER_TYPES:
            if typ == "pulumi:providers:docker":
                check_local_host(wire.plain(inputs.get("host")), f"provider {rec.name!r}", self)
            return (f"{rec.name}-provider-id", inputs)
        if typ in generators.GENERATED_TYPES:
            return self._generated(rec)
        if typ in DOCKER_TYPES:
            plain = wire.plain(inputs)
            state = dict(inputs)
            state.update({k: v for k, v in COMPUTED[typ](plain, rec.name).items() if v is not None})
            rid = plain.get("imageName") if typ == "docker:index/image:Image" else plain.get("name")
            return (str(rid or rec.name), state)
        self.fail(
            f"resource type {typ!r} ({rec.name!r}) is not supported by the realizer; "
            "supported: docker Network/Volume/Image/RemoteImage/Container, random RandomPassword/RandomString, "
            "tls PrivateKey, component resources"
        )

    def _generated(self, rec: Registered):
        what = f"{rec.type.split(':')[-1]} {rec.name!r}"
        plain = wire.plain(rec.inputs)
        ihash = inputs_hash(rec.inputs)
        prev = self.state.get_generated(rec.urn)
        if prev and prev["type"] == rec.type and prev["inputsHash"] == ihash:
            outputs, action = prev["outputs"], "unchanged"
        else:
            outputs = generators.generate(rec.type, plain, what)[0]
            action = "replaced" if prev else "created"
            self.state.set_generated(rec.urn, rec.type, ihash, outputs)
        with self.lock:
            self.ev.generated_actions.append((action, rec.type.split(":")[-1], rec.name))
        secret_names = generators.SECRET_OUTPUTS[rec.type]
        state = dict(rec.inputs)
        for k, v in outputs.items():
            state[k] = wire.wrap_secret(v) if k in secret_names else v
        return ("none" if rec.type.startswith("random:") else hashlib.sha1(rec.urn.encode()).hexdigest(), state)


def check_local_host(host: Any, where: str, mocks: RealizerMocks | None = None) -> None:
    if host in (None, "") or (isinstance(host, str) and host.startswith("unix://")):
        return
    msg = (
        f"{where}: docker host {host!r} is not the local engine; the realizer only drives the local "
        "Docker engine (unix socket)"
    )
    if mocks is not None:
        mocks.fail(msg)
    raise RealizerError(msg)


def _resolve_output(value: Any) -> tuple[Any, bool]:
    out = pulumi.Output.from_input(pstack.massage(value, []))
    resolved = _sync_await(out.future())
    secret = bool(_sync_await(out.is_secret()))
    known = _sync_await(out.is_known())
    if not known:
        raise RealizerError("a stack output is unknown after the program finished")
    return wire.ints(wire.unwrap(resolved)[0]), secret


def _quiet_orphaned_mock_errors() -> None:
    """A refused resource leaves tasks whose RealizerError is never retrieved; asyncio would log a
    traceback for each when they are collected. The error is already reported, so drop those logs."""
    import asyncio

    from pulumi.runtime.sync_await import _ensure_event_loop

    loop = _ensure_event_loop()
    previous = loop.get_exception_handler()
    if getattr(previous, "_realizer", False):
        return

    def handler(lp: asyncio.AbstractEventLoop, context: dict) -> None:
        exc = context.get("exception")
        for _ in range(20):  # bounded walk down the cause chain
            if exc is None or isinstance(exc, RealizerError):
                break
            exc = exc.__cause__ or exc.__context__
        if isinstance(exc, RealizerError):
            return
        if previous is not None:
            previous(lp, context)
        else:
            lp.default_exception_handler(context)

    handler._realizer = True  # type: ignore[attr-defined]
    loop.set_exception_handler(handler)


def evaluate(
    project: Project, stack: str, cfg: StackConfig, state: State, out: Callable[[str], None] = print
) -> Evaluation:
    """Import the program under mocks and wait for everything it registers and exports."""
    docker_host = cfg.values.get("docker:host")
    check_local_host(docker_host, "config docker:host")

    _quiet_orphaned_mock_errors()
    ev = Evaluation()
    mocks = RealizerMocks(state, ev)

    from pulumi.runtime import config as pconfig

    saved_config = (pconfig.CONFIG.get(), pconfig._SECRET_KEYS.get())
    psettings.ROOT.set(None)
    install(mocks, project.name, stack, cfg.values, cfg.secret_keys)
    psettings.SETTINGS.outputs.clear()
    root = psettings.get_root_resource()

    old_cwd = os.getcwd()
    old_path = list(sys.path)
    old_modules = set(sys.modules)
    os.chdir(project.dir)
    sys.path.insert(0, project.dir)
    try:
        try:
            _sync_await(pstack.run_pulumi_func(lambda: runpy.run_path(project.main, run_name="__main__")))
            for name, value in dict(getattr(root, "outputs", {}) or {}).items():
                ev.outputs[name] = _resolve_output(value)
        except Exception as exc:
            if mocks.errors:
                raise RealizerError(mocks.errors[0]) from exc
            if isinstance(exc, RealizerError):
                raise
            raise RealizerError(f"the program failed: {type(exc).__name__}: {exc}") from exc
        if mocks.errors:
            raise RealizerError(mocks.errors[0])
    finally:
        os.chdir(old_cwd)
        sys.path[:] = old_path
        # Forget modules the program imported from its own directory so the next run re-imports them.
        # (Never library modules: a venv may live inside the project dir, and re-importing a
        # provider SDK breaks its package registration.)
        libs = {os.path.abspath(p) for p in (sys.prefix, sys.base_prefix, sys.exec_prefix)}
        for mod in set(sys.modules) - old_modules:
            f = os.path.abspath(getattr(sys.modules.get(mod), "__file__", None) or "/")
            if (
                f.startswith(project.dir + os.sep)
                and "site-packages" not in f.split(os.sep)
                and not any(f.startswith(lib + os.sep) for lib in libs)
            ):
                del sys.modules[mod]
        psettings.ROOT.set(None)
        pconfig.CONFIG.set(saved_config[0])
        pconfig._SECRET_KEYS.set(saved_config[1])
    return ev
