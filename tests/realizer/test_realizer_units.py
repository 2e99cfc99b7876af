"""Unit tests of the realizer (no Docker engine needed)."""

from __future__ import annotations

import base64
import json
import os
import stat

import pytest
import yaml

from tools.realizer import generators, spec, wire
from tools.realizer.config import load_project, load_stack_config, parse_override
from tools.realizer.errors import RealizerError
from tools.realizer.state import PASSPHRASE_ENV, State

S = wire.SIG_KEY
SECRET = wire.SECRET_SIG

# What Mocks.new_resource receives for a Container of the NovaOps program (pulumi-docker 5.2.0, recorded;
# components/containers.py): every input it sets.
RECORDED_CONTAINER = {
    "command": ["novaops-run", "app", "serve"],
    "destroyGraceSeconds": 30.0,
    "envs": {S: SECRET, "value": ["P=hunter2", "A=1"]},
    "healthcheck": {
        "interval": "1s",
        "startPeriod": "2s",
        "timeout": "500ms",
        "retries": 3.0,
        "tests": ["CMD", "true"],
    },
    "hostname": "rtest-c",
    "image": "novaops-rtest/x:1",
    "memory": 64.0,
    "mustRun": True,
    "name": "rtest-c",
    "labels": [{"label": "novaops.role", "value": "app"}],
    "networksAdvanced": [{"aliases": ["x"], "name": "rtest-net"}, {"name": "rtest-back"}],
    "ports": [{"external": 8080.0, "internal": 80.0, "ip": "127.0.0.1", "protocol": "tcp"}, {"internal": 9090.0}],
    "restart": "unless-stopped",
    "uploads": {
        S: SECRET,
        "value": [
            {"content": "secretpw", "file": "/etc/x/app.conf", "permissions": "0600", "owner": "0"},
            {"content": "plain", "file": "/etc/x/plain.conf", "permissions": "0644", "owner": "0"},
        ],
    },
    "volumes": [{"volumeName": "rtest-data", "containerPath": "/data"}],
    "wait": True,
    "waitTimeout": 30.0,
}


# -- durations -------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "text,ns",
    [
        ("10s", 10_000_000_000),
        ("500ms", 500_000_000),
        ("1m30s", 90_000_000_000),
        ("1h", 3_600_000_000_000),
        ("1.5s", 1_500_000_000),
        ("250us", 250_000),
        ("7ns", 7),
        ("0", 0),
        ("0s", 0),
        ("", 0),
        (None, 0),
        ("2h45m0.5s", (2 * 3600 + 45 * 60) * 1_000_000_000 + 500_000_000),
    ],
)
def test_parse_duration(text, ns):
    assert wire.parse_duration(text) == ns


@pytest.mark.parametrize("bad", ["10", "abc", "1x", "s", 10])
def test_parse_duration_rejects(bad):
    with pytest.raises(RealizerError, match="duration"):
        wire.parse_duration(bad, "healthcheck.interval")


# -- secrets / numbers -----------------------------------------------------------------------
def test_unwrap_nested_and_wrapped_lists():
    value = {
        "a": {S: SECRET, "value": "x"},
        "l": {S: SECRET, "value": [{"c": {S: SECRET, "value": "y"}}, "z"]},
        "plain": [1.0, "q"],
    }
    plain, found = wire.unwrap(value)
    assert found is True
    assert plain == {"a": "x", "l": [{"c": "y"}, "z"], "plain": [1.0, "q"]}
    assert wire.unwrap({"a": [1, 2]}) == ({"a": [1, 2]}, False)


def test_unwrap_rejects_other_special_values():
    with pytest.raises(RealizerError, match="not supported"):
        wire.unwrap({"x": {S: "c44067f5952c0a294b673a41bacd8c17", "path": "f"}})


def test_ints():
    assert wire.ints({"a": 64.0, "b": [1.0, 2.5], "c": True, "d": "3.0"}) == {
        "a": 64,
        "b": [1, 2.5],
        "c": True,
        "d": "3.0",
    }
    assert isinstance(wire.ints(8080.0), int)


# -- container spec --------------------------------------------------------------------------
def test_container_spec_from_recorded_inputs(tmp_path):
    c = spec.container_spec(wire.plain(RECORDED_CONTAINER), str(tmp_path))
    assert c["name"] == "rtest-c" and c["hostname"] == "rtest-c" and c["command"] == ["novaops-run", "app", "serve"]
    assert c["env"] == ["A=1", "P=hunter2"]
    assert c["mem_limit"] == 64 * 1024 * 1024
    assert c["ports"] == [
        {"internal": 80, "external": 8080, "ip": "127.0.0.1", "protocol": "tcp"},
        {"internal": 9090, "external": None, "ip": "0.0.0.0", "protocol": "tcp"},
    ]
    assert c["healthcheck"] == {
        "test": ["CMD", "true"],
        "interval": 1_000_000_000,
        "timeout": 500_000_000,
        "start_period": 2_000_000_000,
        "retries": 3,
    }
    assert c["restart"] == {"Name": "unless-stopped", "MaximumRetryCount": 0}
    assert c["networks"][0] == {"name": "rtest-net", "aliases": ["x"]}
    assert [u["mode"] for u in c["uploads"]] == [0o600, 0o644]
    assert base64.b64decode(c["uploads"][0]["content_b64"]) == b"secretpw"
    assert c["wait"] is True and c["wait_timeout"] == 30 and c["must_run"] is True
    assert c["destroy_grace_seconds"] == 30

    create, host = spec.container_create_args(c, "rtest-u", "h" * 64)
    assert create["labels"] == {
        "novaops.role": "app",
        spec.STACK_LABEL: "rtest-u",
        spec.HASH_LABEL: "h" * 64,
        spec.GRACE_LABEL: "30",
    }
    assert create["ports"] == [(80, "tcp"), (9090, "tcp")]
    assert host["port_bindings"] == {"80/tcp": [("127.0.0.1", 8080)], "9090/tcp": [("0.0.0.0",)]}
    assert host["binds"] == ["rtest-data:/data:rw"]
    assert host["network_mode"] == "rtest-net"
    assert host["restart_policy"] == {"Name": "unless-stopped", "MaximumRetryCount": 0}


def test_container_defaults(tmp_path):
    c = spec.container_spec({"name": "n", "image": "i"}, str(tmp_path))
    assert c["restart"] == {"Name": "", "MaximumRetryCount": 0}
    assert c["must_run"] and not c["wait"] and c["wait_timeout"] == 60
    assert "healthcheck" not in c and c["ports"] == [] and c["uploads"] == []


def test_unknown_container_key_rejected(tmp_path):
    with pytest.raises(RealizerError) as exc:
        spec.container_spec({"name": "rtest-c", "image": "i", "gpus": "all"}, str(tmp_path))
    assert "container 'rtest-c'" in str(exc.value) and "'gpus'" in str(exc.value)


@pytest.mark.parametrize(
    "inputs,needle",
    [
        ({"ports": [{"internal": 1, "hostIp": "x"}]}, "'hostIp'"),
        ({"healthcheck": {"tests": ["CMD", "true"], "startInterval": "1s"}}, "'startInterval'"),
        ({"networksAdvanced": [{"name": "n", "ipv6Address": "::1"}]}, "'ipv6Address'"),
        ({"uploads": [{"file": "/x"}]}, "needs content"),
        ({"restart": "sometimes"}, "restart"),
        ({"labels": [{"label": "novaops.realizer.stack", "value": "x"}]}, "reserved"),
    ],
)
def test_nested_rejections(tmp_path, inputs, needle):
    with pytest.raises(RealizerError, match=needle.replace("(", r"\(")):
        spec.container_spec({"name": "rtest-c", "image": "i", **inputs}, str(tmp_path))


# pulumi-docker inputs the program never emits: refused by name, with no code carried for them.
REFUSED_CONTAINER_INPUTS = [
    ("mounts", [{"target": "/t", "type": "tmpfs"}]),
    ("tmpfs", {"/run": "size=1m"}),
    ("networkMode", "host"),
    ("entrypoints", ["sh"]),
    ("init", True),
    ("user", "1000"),
    ("workingDir", "/w"),
    ("memorySwap", 128),
    ("cpuShares", 512),
    ("shmSize", 64),
    ("capabilities", {"adds": ["NET_ADMIN"]}),
    ("privileged", True),
    ("sysctls", {"net.core.somaxconn": "1024"}),
    ("ulimits", [{"name": "nofile", "soft": 1, "hard": 2}]),
    ("logDriver", "none"),
    ("maxRetryCount", 5),
    ("stopTimeout", 5),
    ("start", False),
    ("rm", False),
]


@pytest.mark.parametrize("key,value", REFUSED_CONTAINER_INPUTS, ids=[k for k, _ in REFUSED_CONTAINER_INPUTS])
def test_a_refused_container_input_names_itself(tmp_path, key, value):
    with pytest.raises(RealizerError, match=rf"container 'rtest-c': input '{key}' is not supported"):
        spec.container_spec({"name": "rtest-c", "image": "i", key: value}, str(tmp_path))


@pytest.mark.parametrize(
    "translate,inputs,where,key",
    [
        (spec.network_spec, {"name": "n", "ipamConfigs": [{"subnet": "10.9.0.0/24"}]}, "network 'n'", "ipamConfigs"),
        (spec.network_spec, {"name": "n", "attachable": True}, "network 'n'", "attachable"),
        (spec.volume_spec, {"name": "v", "driverOpts": {"type": "tmpfs"}}, "volume 'v'", "driverOpts"),
        (spec.remote_image_spec, {"name": "r:1", "platform": "linux/arm64"}, "remote image 'r:1'", "platform"),
        (
            lambda i: spec.container_spec(i, "/"),
            {"name": "c", "image": "i", "uploads": [{"file": "/x", "contentBase64": "eA=="}]},
            "container 'c': uploads",
            "contentBase64",
        ),
        (
            lambda i: spec.container_spec(i, "/"),
            {"name": "c", "image": "i", "volumes": [{"hostPath": "/tmp", "containerPath": "/t"}]},
            "container 'c': volumes",
            "hostPath",
        ),
    ],
)
def test_a_refused_input_of_any_resource_names_itself(translate, inputs, where, key):
    with pytest.raises(RealizerError, match=rf"{where}: input '{key}' is not supported"):
        translate(inputs)


def test_every_input_the_program_emits_is_accepted(tmp_path):
    """The accepted inputs are what components/ emits: each docker resource of the dev and e2e stacks
    (every tier, the monitoring stack, the hosts) translates without a refusal."""
    from pulumi.runtime.sync_await import _sync_await

    from tests.unit.pulumi_harness import run_program

    translate = {
        "docker:index/network:Network": spec.network_spec,
        "docker:index/volume:Volume": spec.volume_spec,
        "docker:index/remoteImage:RemoteImage": spec.remote_image_spec,
        "docker:index/container:Container": lambda i: spec.container_spec(i, str(tmp_path)),
        "docker:index/image:Image": lambda i: spec.image_spec(i, os.getcwd()),
    }
    seen = set()
    for stack in ("dev", "e2e"):
        mocks, _, done = run_program(stack)
        _sync_await(done.future())
        for r in mocks.resources:
            if r.type in translate:
                translate[r.type](wire.plain(r.inputs))
                seen.add(r.type)
    assert seen == set(translate)


def test_image_spec_builds_the_contexts_dockerfile(tmp_path):
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "Dockerfile").write_text("FROM scratch\n")
    img = spec.image_spec(
        {
            "imageName": "x:1",
            "skipPush": True,
            "buildOnPreview": False,
            "build": {"context": "app", "args": {"BASE_IMAGE": "b:1"}},
        },
        str(tmp_path),
    )
    assert img == {
        "imageName": "x:1",
        "context": str(tmp_path / "app"),
        "dockerfile": str(tmp_path / "app" / "Dockerfile"),
        "args": {"BASE_IMAGE": "b:1"},
    }
    with pytest.raises(RealizerError, match="does not push"):
        spec.image_spec({"imageName": "x:1", "build": {"context": "app"}}, str(tmp_path))
    with pytest.raises(RealizerError, match=r"image 'x:1': build: input 'dockerfile' is not supported"):
        spec.image_spec(
            {"imageName": "x:1", "skipPush": True, "build": {"context": "app", "dockerfile": "docker/app.Dockerfile"}},
            str(tmp_path),
        )


def test_network_spec():
    n = spec.network_spec({"name": "n", "internal": True, "labels": [{"label": "a", "value": "b"}]})
    assert n == {"name": "n", "driver": "bridge", "internal": True, "labels": {"a": "b"}}
    with pytest.raises(RealizerError, match="'scope'"):
        spec.network_spec({"name": "n", "scope": "swarm"})


# -- config ----------------------------------------------------------------------------------
def _project(tmp_path, stack_doc, project_extra=""):
    (tmp_path / "Pulumi.yaml").write_text(f"name: proj\nruntime: python\n{project_extra}")
    (tmp_path / "__main__.py").write_text("")
    (tmp_path / "Pulumi.dev.yaml").write_text(yaml.safe_dump(stack_doc))
    return load_project(str(tmp_path))


def test_config_structured_values_become_json(tmp_path):
    p = _project(
        tmp_path,
        {
            "config": {
                "proj:limits": {"mem": 64, "tags": ["a"]},
                "flag": True,
                "n": 3,
                "docker:host": "unix:///var/run/docker.sock",
            }
        },
        "config:\n  region:\n    default: here\n",
    )
    cfg = load_stack_config(p, "dev")
    assert json.loads(cfg.values["proj:limits"]) == {"mem": 64, "tags": ["a"]}
    assert cfg.values["proj:flag"] == "true" and cfg.values["proj:n"] == "3"
    assert cfg.values["docker:host"] == "unix:///var/run/docker.sock"
    assert cfg.values["proj:region"] == "here"


def test_config_secure_value_is_an_error(tmp_path):
    p = _project(tmp_path, {"config": {"proj:dbPassword": {"secure": "AAABAJ..."}}})
    with pytest.raises(RealizerError, match="proj:dbPassword.*secure"):
        load_stack_config(p, "dev")


def test_config_override_of_secure_value_stays_secret(tmp_path):
    p = _project(tmp_path, {"config": {"proj:dbPassword": {"secure": "AAABAJ..."}}})
    cfg = load_stack_config(p, "dev", ["dbPassword=hunter2", 'obj={"a": 1}', "n=5"])
    assert cfg.values["proj:dbPassword"] == "hunter2"
    assert cfg.secret_keys == ["proj:dbPassword"]
    assert json.loads(cfg.values["proj:obj"]) == {"a": 1} and cfg.values["proj:n"] == "5"


def test_parse_override():
    assert parse_override("a=1") == ("a", 1)
    assert parse_override("a=x=y") == ("a", "x=y")
    assert parse_override("ns:a=[1, 2]") == ("ns:a", [1, 2])
    with pytest.raises(RealizerError):
        parse_override("novalue")


# -- state -----------------------------------------------------------------------------------
def test_state_permissions_and_plaintext(tmp_path, monkeypatch):
    monkeypatch.delenv(PASSPHRASE_ENV, raising=False)
    st = State.load(str(tmp_path / ".novaops"), "s")
    st.set_generated("urn:a", "t", "h", {"result": "pw"})
    st.set_outputs({"x": (1, False), "y": ("sec", True)})
    st.save()
    path = tmp_path / ".novaops" / "s" / "state.json"
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(path.parent).st_mode) == 0o700
    again = State.load(str(tmp_path / ".novaops"), "s")
    assert again.get_generated("urn:a")["outputs"] == {"result": "pw"}
    assert again.get_outputs(False) == {"x": 1, "y": "[secret]"}
    assert again.get_outputs(True) == {"x": 1, "y": "sec"}


def test_state_encryption(tmp_path, monkeypatch):
    monkeypatch.setenv(PASSPHRASE_ENV, "correct horse")
    st = State.load(str(tmp_path), "s")
    st.set_generated("urn:a", "t", "h", {"result": "topsecretpw"})
    st.set_outputs({"y": ("sec-output", True)})
    st.save()
    raw = (tmp_path / "s" / "state.json").read_text()
    assert "topsecretpw" not in raw and "sec-output" not in raw and "ciphertext" in raw
    assert State.load(str(tmp_path), "s").get_generated("urn:a")["outputs"]["result"] == "topsecretpw"
    monkeypatch.setenv(PASSPHRASE_ENV, "wrong")
    with pytest.raises(RealizerError, match="wrong PULUMI_CONFIG_PASSPHRASE"):
        State.load(str(tmp_path), "s")
    monkeypatch.delenv(PASSPHRASE_ENV)
    with pytest.raises(RealizerError, match="encrypted"):
        State.load(str(tmp_path), "s")
    assert State.load(str(tmp_path), "s", need_secrets=False).get_outputs(False) == {"y": "[secret]"}


# -- generators ------------------------------------------------------------------------------
def test_random_password_honours_inputs():
    pw = generators.random_password(
        {"length": 40, "special": True, "overrideSpecial": "#%", "minSpecial": 5, "minUpper": 3, "numeric": False}, "pw"
    )["result"]
    assert len(pw) == 40
    assert sum(ch in "#%" for ch in pw) >= 5 and sum(ch.isupper() for ch in pw) >= 3
    assert not any(ch.isdigit() for ch in pw)
    assert set(pw) <= set("#%abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
    only_digits = generators.random_string({"length": 12, "upper": False, "lower": False, "special": False}, "s")
    assert only_digits.isdigit()
    with pytest.raises(RealizerError, match="exceed"):
        generators.random_string({"length": 2, "minUpper": 3}, "s")


@pytest.mark.parametrize(
    "inputs,prefix",
    [
        ({"algorithm": "ED25519"}, "ssh-ed25519 "),
        ({"algorithm": "RSA", "rsaBits": 2048}, "ssh-rsa "),
        ({"algorithm": "ECDSA", "ecdsaCurve": "P256"}, "ecdsa-sha2-nistp256 "),
    ],
)
def test_private_key(inputs, prefix):
    k = generators.private_key(inputs, "key")
    assert k["publicKeyOpenssh"].startswith(prefix) and k["publicKeyOpenssh"].endswith("\n")
    assert "PRIVATE KEY" in k["privateKeyPem"] and "OPENSSH PRIVATE KEY" in k["privateKeyOpenssh"]
    assert k["publicKeyPem"].startswith("-----BEGIN PUBLIC KEY-----")
    assert k["publicKeyFingerprintSha256"].startswith("SHA256:")
    assert len(k["publicKeyFingerprintMd5"].split(":")) == 16


# -- image context digest --------------------------------------------------------------------
def test_base_refs_and_context_digest(tmp_path):
    from tools.realizer.apply import base_refs, context_digest

    (tmp_path / "ctx").mkdir()
    (tmp_path / "ctx" / "a.txt").write_text("one")
    (tmp_path / "ctx" / "skip.log").write_text("ignored")
    (tmp_path / "ctx" / ".dockerignore").write_text("*.log\n")
    df = tmp_path / "Dockerfile"
    df.write_text(
        "ARG BASE_IMAGE=novaops/base:1\nFROM --platform=linux/amd64 ${BASE_IMAGE} AS build\nFROM debian:trixie-slim\n"
    )
    img = {"context": str(tmp_path / "ctx"), "dockerfile": str(df), "args": {"X": "novaops/other:2"}}
    assert base_refs(img) == ["debian:trixie-slim", "novaops/base:1", "novaops/other:2"]
    d1 = context_digest(img, {"debian:trixie-slim": "sha256:1"})
    assert context_digest(img, {"debian:trixie-slim": "sha256:1"}) == d1
    (tmp_path / "ctx" / "skip.log").write_text("changed but ignored")
    assert context_digest(img, {"debian:trixie-slim": "sha256:1"}) == d1
    assert context_digest(img, {"debian:trixie-slim": "sha256:2"}) != d1  # base image rebuilt
    (tmp_path / "ctx" / "a.txt").write_text("two")
    assert context_digest(img, {"debian:trixie-slim": "sha256:1"}) != d1
