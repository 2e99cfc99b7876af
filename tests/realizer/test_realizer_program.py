"""Running programs under the realizer's mocks (no Docker engine needed)."""

from __future__ import annotations

import os

import pytest

from tools.realizer.config import load_project, load_stack_config
from tools.realizer.errors import RealizerError
from tools.realizer.program import evaluate
from tools.realizer.state import State

HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURE = os.path.join(HERE, "fixture")
FIXTURE_BAD = os.path.join(HERE, "fixture_bad")


def _evaluate(project_dir, stack, overrides, tmp_path):
    project = load_project(project_dir)
    cfg = load_stack_config(project, stack, overrides)
    state = State.load(str(tmp_path), stack)
    return evaluate(project, stack, cfg, state, lambda s: None), state


@pytest.mark.parametrize(
    "mode,needle",
    [
        ("service", "docker:index/service:Service"),
        ("invoke", "invoke 'docker:index/getNetwork:getNetwork'"),
        ("ssh-provider", "ssh://deploy@example.invalid"),
    ],
)
def test_refused_programs(tmp_path, mode, needle):
    with pytest.raises(RealizerError) as exc:
        _evaluate(FIXTURE_BAD, "rtest-bad", [f"mode={mode}"], tmp_path)
    assert needle in str(exc.value)


def test_docker_host_config_must_be_local(tmp_path):
    with pytest.raises(RealizerError, match="only drives the local"):
        _evaluate(FIXTURE_BAD, "rtest-bad", ["mode=component", "docker:host=tcp://10.0.0.1:2376"], tmp_path)


def test_components_and_exports(tmp_path):
    ev, _ = _evaluate(FIXTURE_BAD, "rtest-bad", ["mode=component"], tmp_path)
    types = [r.type for r in ev.resources]
    assert "rtest:index:Group" in types and "docker:index/network:Network" in types
    assert ev.outputs == {"net": ("rtest-group-net", False), "secretValue": ("s3", True)}


def test_fixture_records_wire_inputs_and_reuses_generated_values(tmp_path):
    ev, state = _evaluate(FIXTURE, "rtest", ["localPort=1234"], tmp_path)
    app = next(r for r in ev.resources if r.name == "app")
    # wire form: camelCase, floats, secret-wrapped upload list
    assert app.inputs["memory"] == 64.0 and "networksAdvanced" in app.inputs
    assert app.inputs["uploads"]["4dabf18193072939515e22adb298388d"] == "1b47061264138c4ac30d75fd1eb44270"
    password, secret = ev.outputs["password"]
    assert secret is True and len(password) == 24
    assert ev.outputs["limits"] == ({"memoryMb": 64, "tags": ["a", "b"]}, False)
    assert ("created", "RandomPassword", "db-password") in ev.generated_actions
    # same state, second run: same password (state reuse), nothing regenerated
    ev2 = evaluate(
        load_project(FIXTURE),
        "rtest",
        load_stack_config(load_project(FIXTURE), "rtest", ["localPort=1234"]),
        state,
        lambda s: None,
    )
    assert ev2.outputs["password"] == (password, True)
    assert ("unchanged", "RandomPassword", "db-password") in ev2.generated_actions
