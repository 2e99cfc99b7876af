"""The realizer's Python API: realize (up), teardown (down), load_outputs (outputs)."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from . import spec as S
from . import wire
from .apply import Action, Applier, connect
from .config import load_project, load_stack_config
from .errors import RealizerError
from .program import evaluate
from .state import State

DEFAULT_STATE_DIR = ".novaops"


@dataclass
class RealizeResult:
    stack: str
    actions: list[Action] = field(default_factory=list)
    outputs: dict[str, Any] = field(default_factory=dict)  # plain values, secrets included
    secret_outputs: set[str] = field(default_factory=set)
    elapsed: float = 0.0

    def count(self, action: str) -> int:
        return sum(1 for a in self.actions if a.action == action)

    def action_for(self, kind: str, name: str) -> str | None:
        hits = [a.action for a in self.actions if a.kind == kind and a.name == name]
        return hits[-1] if hits else None


def _printer(out: Callable[[str], None] | None) -> Callable[[str], None]:
    if out is not None:
        return out

    def p(line: str) -> None:
        print(line, flush=True)

    return p


def _state_dir(project_dir: str, state_dir: str | None) -> str:
    d = state_dir or DEFAULT_STATE_DIR
    return d if os.path.isabs(d) else os.path.join(os.path.abspath(project_dir), d)


def _plan(resources, project_dir: str) -> dict[str, list[dict]]:
    plan: dict[str, list[dict]] = {"network": [], "volume": [], "image": [], "remote-image": [], "container": []}
    seen: dict[tuple[str, str], str] = {}
    for r in resources:
        if not r.custom:
            continue
        inputs = wire.plain(r.inputs)
        if r.type == "docker:index/network:Network":
            kind, item = "network", S.network_spec(inputs, r.name)
        elif r.type == "docker:index/volume:Volume":
            kind, item = "volume", S.volume_spec(inputs, r.name)
        elif r.type == "docker:index/image:Image":
            kind, item = "image", S.image_spec(inputs, project_dir, r.name)
        elif r.type == "docker:index/remoteImage:RemoteImage":
            kind, item = "remote-image", S.remote_image_spec(inputs, r.name)
        elif r.type == "docker:index/container:Container":
            kind, item = "container", S.container_spec(inputs, project_dir, r.name)
        else:
            continue
        key = (kind, item.get("name") or item.get("imageName"))
        if key in seen:
            if kind in ("image", "remote-image"):
                continue  # the same tag declared twice is harmless
            raise RealizerError(f"{kind} {key[1]!r} is declared twice (resources {seen[key]!r} and {r.name!r})")
        seen[key] = r.name
        plan[kind].append(item)
    return plan


def realize(
    project_dir: str = ".",
    stack: str = "dev",
    config: Mapping[str, Any] | Iterable[str] | None = None,
    state_dir: str | None = None,
    wait: bool = True,
    out: Callable[[str], None] | None = None,
) -> RealizeResult:
    """`up`: run the program under mocks, persist generated values and outputs, apply to Docker.

    ``config`` overrides stack config: a mapping ``{key: value}`` or ``["key=value", ...]``.
    Raises RealizerError on any failure.
    """
    say = _printer(out)
    t0 = time.monotonic()
    project = load_project(project_dir)
    cfg = load_stack_config(project, stack, config)
    for note in cfg.notes:
        say(f"note: {note}")
    state = State.load(_state_dir(project.dir, state_dir), stack)
    ev = evaluate(project, stack, cfg, state, say)
    result = RealizeResult(stack=stack)
    for action, kind, name in ev.generated_actions:
        a = Action(action, kind, name)
        result.actions.append(a)
        say(a.line())
    for urn in state.drop_generated({r.urn for r in ev.resources}):
        a = Action("deleted", urn.split("::")[-2].split("$")[-1].split(":")[-1], urn.split("::")[-1])
        result.actions.append(a)
        say(a.line())
    state.set_outputs(ev.outputs)
    state.save()  # generated secrets are kept even if applying fails below

    plan = _plan(ev.resources, project.dir)
    client = connect()
    applier = Applier(client, stack, state.data["hashKey"], say)
    for n in plan["network"]:
        applier.network(n)
    for v in plan["volume"]:
        applier.volume(v)
    for img in plan["image"]:
        applier.image(img)
    for r in plan["remote-image"]:
        applier.remote_image(r)
    applier.remove_orphan_containers({c["name"] for c in plan["container"]})
    for c in plan["container"]:
        applier.container(c)
    applier.remove_orphan_networks({n["name"] for n in plan["network"]})
    applier.report_orphan_volumes({v["name"] for v in plan["volume"]})
    result.actions.extend(applier.actions)
    if wait:
        applier.wait_all(plan["container"])
    elif any(c["wait"] for c in plan["container"]):
        say("note: --no-wait: not waiting for containers with wait=true")
    result.outputs = {k: v for k, (v, _) in ev.outputs.items()}
    result.secret_outputs = {k for k, (_, s) in ev.outputs.items() if s}
    result.elapsed = time.monotonic() - t0
    say(
        f"stack {stack}: {result.count('created')} created, {result.count('unchanged')} unchanged, "
        f"{result.count('replaced')} replaced, {result.count('deleted')} deleted in {result.elapsed:.1f}s"
    )
    return result


def teardown(
    project_dir: str = ".",
    stack: str = "dev",
    delete_data: bool = False,
    state_dir: str | None = None,
    out: Callable[[str], None] | None = None,
) -> list[Action]:
    """`down`: remove the stack's containers and networks (by label); volumes only with delete_data."""
    say = _printer(out)
    t0 = time.monotonic()
    client = connect()
    applier = Applier(client, stack, "", say)
    label = f"{S.STACK_LABEL}={stack}"
    for info in client.api.containers(all=True, filters={"label": label}):
        name = (info.get("Names") or ["/?"])[0].lstrip("/")
        applier.remove_container(client.api.inspect_container(info["Id"]))
        applier.record("deleted", "container", name)
    for info in client.api.networks(filters={"label": label}):
        try:
            client.api.remove_network(info["Id"])
        except Exception as exc:
            raise RealizerError(f"network {info['Name']!r} cannot be removed: {exc}") from exc
        applier.record("deleted", "network", info["Name"])
    volumes = client.api.volumes(filters={"label": label}).get("Volumes") or []
    if delete_data:
        for v in volumes:
            client.api.remove_volume(v["Name"], force=True)
            applier.record("deleted", "volume", v["Name"], "--delete-data")
    else:
        for v in volumes:
            applier.record("kept", "volume", v["Name"], "data kept; use --delete-data to delete it")
    path_dir = _state_dir(project_dir, state_dir)
    state_file = os.path.join(path_dir, stack, "state.json")
    if os.path.exists(state_file):
        if delete_data:
            os.remove(state_file)
            say(f"state      {state_file} deleted (generated secrets are regenerated on the next up)")
        else:
            state = State.load(path_dir, stack, need_secrets=False)
            state.data["outputs"] = {}
            state.save()
            say("state      outputs cleared; generated secrets kept (they match the kept volumes)")
    deleted = sum(1 for a in applier.actions if a.action == "deleted")
    kept = sum(1 for a in applier.actions if a.action == "kept")
    say(
        f"stack {stack}: {deleted} deleted, {kept} volume(s) kept"
        f"{'' if delete_data else ' (data kept)'} in {time.monotonic() - t0:.1f}s"
    )
    return applier.actions


def load_outputs(
    project_dir: str = ".",
    stack: str = "dev",
    state_dir: str | None = None,
    show_secrets: bool = False,
) -> dict[str, Any]:
    """Stack outputs saved by the last `up`; secret ones are "[secret]" unless show_secrets."""
    path_dir = _state_dir(project_dir, state_dir)
    if not os.path.exists(os.path.join(path_dir, stack, "state.json")):
        raise RealizerError(f"no state for stack {stack!r} in {path_dir} (run `up` first)")
    state = State.load(path_dir, stack, need_secrets=show_secrets)
    return state.get_outputs(show_secrets)


def secret_output_names(project_dir: str = ".", stack: str = "dev", state_dir: str | None = None) -> set[str]:
    path_dir = _state_dir(project_dir, state_dir)
    return State.load(path_dir, stack, need_secrets=False).secret_output_names()
