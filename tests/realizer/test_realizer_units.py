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

# What Mocks.new_resource receives for a pulumi-docker 5.2.0 Container (recorded).
RECORDED_CONTAINER = {
    "envs": {S: SECRET, "value": ["P=hunter2", "A=1"]},
    "healthcheck": {"interval": "1s", "startPeriod": "2s", "timeout": "500ms", "retries": 3.0,
                    "tests": ["CMD", "true"]},
    "image": "novaops-rtest/x:1",
    "memory": 64.0,
    "memorySwap": 128.0,
    "mustRun": True,
    "name": "rtest-c",
    "labels": [{"label": "novaops.role", "value": "app"}],
    "networksAdvanced": [{"aliases": ["x"], "name": "rtest-net"}, {"name": "rtest-back"}],
    "ports": [{"external": 8080.0, "internal": 80.0, "ip": "127.0.0.1"}, {"internal": 9090.0}],
    "restart": "on-failure",
    "maxRetryCount": 5.0,
    "uploads": {S: SECRET, "value": [
        {"content": "secretpw", "file": "/etc/x/app.conf", "permissions": "0600", "executable": True},
        {"contentBase64": base64.b64encode(b"\x00\x01").decode(), "file": "/bin/tool", "executable": True},
    ]},
    "volumes": [{"volumeName": "rtest-data", "containerPath": "/data"},
                {"hostPath": "/tmp", "containerPath": "/host-tmp", "readOnly": True}],
    "capabilities": {"adds": ["NET_ADMIN"], "drops": ["ALL"]},
    "wait": True,
    "waitTimeout": 30.0,
}


# -- durations -------------------------------------------------------------------------------
@pytest.mark.parametrize("text,ns", [
    ("10s", 10_000_000_000), ("500ms", 500_000_000), ("1m30s", 90_000_000_000), ("1h", 3_600_000_000_000),
    ("1.5s", 1_500_000_000), ("250us", 250_000), ("7ns", 7), ("0", 0), ("0s", 0), ("", 0), (None, 0),
    ("2h45m0.5s", (2 * 3600 + 45 * 60) * 1_000_000_000 + 500_000_000),
])
def test_parse_duration(text, ns):
    assert wire.parse_duration(text) == ns


@pytest.mark.parametrize("bad", ["10", "abc", "1x", "s", 10])
def test_parse_duration_rejects(bad):
    with pytest.raises(RealizerError, match="duration"):
        wire.parse_duration(bad, "healthcheck.interval")


# -- secrets / numbers -----------------------------------------------------------------------
def test_unwrap_nested_and_wrapped_lists():
    value = {"a": {S: SECRET, "value": "x"}, "l": {S: SECRET, "value": [{"c": {S: SECRET, "value": "y"}}, "z"]},
             "plain": [1.0, "q"]}
    plain, found = wire.unwrap(value)
    assert found is True
    assert plain == {"a": "x", "l": [{"c": "y"}, "z"], "plain": [1.0, "q"]}
    assert wire.unwrap({"a": [1, 2]}) == ({"a": [1, 2]}, False)


def test_unwrap_rejects_other_special_values():
    with pytest.raises(RealizerError, match="not supported"):
        wire.unwrap({"x": {S: "c44067f5952c0a294b673a41bacd8c17", "path": "f"}})


def test_ints():
    assert wire.ints({"a": 64.0, "b": [1.0, 2.5], "c": True, "d": "3.0"}) == {"a": 64, "b": [1, 2.5], "c": True,
                                                                               "d": "3.0"}
    assert isinstance(wire.ints(8080.0), int)


# -- container spec --------------------------------------------------------------------------
def test_container_spec_from_recorded_inputs(tmp_path):
    c = spec.container_spec(wire.plain(RECORDED_CONTAINER), str(tmp_path))
    assert c["name"] == "rtest-c"
    assert c["env"] == ["A=1", "P=hunter2"]
    assert c["mem_limit"] == 64 * 1024 * 1024 and c["memswap_limit"] == 128 * 1024 * 1024
    assert c["ports"] == [
        {"internal": 80, "external": 8080, "ip": "127.0.0.1", "protocol": "tcp"},
        {"internal": 9090, "external": None, "ip": "0.0.0.0", "protocol": "tcp"},
    ]
    assert c["healthcheck"] == {"test": ["CMD", "true"], "interval": 1_000_000_000, "timeout": 500_000_000,
                                "start_period": 2_000_000_000, "retries": 3}
    assert c["restart"] == {"Name": "on-failure", "MaximumRetryCount": 5}
    assert c["networks"][0] == {"name": "rtest-net", "aliases": ["x"], "ipv4Address": None}
    # permissions has precedence over executable; executable alone gives 0755
    assert [u["mode"] for u in c["uploads"]] == [0o600, 0o755]
    assert base64.b64decode(c["uploads"][0]["content_b64"]) == b"secretpw"
    assert c["wait"] is True and c["wait_timeout"] == 30 and c["must_run"] is True and c["start"] is True

    create, host = spec.container_create_args(c, "rtest-u", "h" * 64)
    assert create["labels"] == {"novaops.role": "app", spec.STACK_LABEL: "rtest-u", spec.HASH_LABEL: "h" * 64}
    assert create["ports"] == [(80, "tcp"), (9090, "tcp")]
    assert host["port_bindings"] == {"80/tcp": [("127.0.0.1", 8080)], "9090/tcp": [("0.0.0.0",)]}
    assert host["binds"] == ["rtest-data:/data:rw", "/tmp:/host-tmp:ro"]
    assert host["network_mode"] == "rtest-net"
    assert host["cap_add"] == ["NET_ADMIN"] and host["cap_drop"] == ["ALL"]
    assert host["restart_policy"] == {"Name": "on-failure", "MaximumRetryCount": 5}


def test_container_defaults(tmp_path):
    c = spec.container_spec({"name": "n", "image": "i"}, str(tmp_path))
    assert c["restart"] == {"Name": "", "MaximumRetryCount": 0}
    assert c["must_run"] and c["start"] and not c["wait"] and c["wait_timeout"] == 60
    assert "healthcheck" not in c and c["ports"] == [] and c["uploads"] == []


def test_unknown_container_key_rejected(tmp_path):
    with pytest.raises(RealizerError) as exc:
        spec.container_spec({"name": "rtest-c", "image": "i", "gpus": "all"}, str(tmp_path))
    assert "container 'rtest-c'" in str(exc.value) and "'gpus'" in str(exc.value)


@pytest.mark.parametrize("inputs,needle", [
    ({"rm": True}, "'rm'"),
    ({"logs": True}, "'logs'"),
    ({"ports": [{"internal": 1, "hostIp": "x"}]}, "'hostIp'"),
    ({"healthcheck": {"tests": ["CMD", "true"], "startInterval": "1s"}}, "'startInterval'"),
    ({"networksAdvanced": [{"name": "n", "ipv6Address": "::1"}]}, "'ipv6Address'"),
    ({"uploads": [{"file": "/x", "content": "a", "source": "b"}]}, "exactly one"),
    ({"restart": "sometimes"}, "restart"),
    ({"labels": [{"label": "novaops.realizer.stack", "value": "x"}]}, "reserved"),
])
def test_nested_rejections(tmp_path, inputs, needle):
    with pytest.raises(RealizerError, match=needle.replace("(", r"\(")):
        spec.container_spec({"name": "rtest-c", "image": "i", **inputs}, str(tmp_path))


def test_false_rm_is_fine(tmp_path):
    spec.container_spec({"name": "n", "image": "i", "rm": False, "attach": False}, str(tmp_path))


def test_container_needs_explicit_name(tmp_path):
    with pytest.raises(RealizerError, match="explicit name"):
        spec.container_spec({"image": "i"}, str(tmp_path), "app")


def test_image_spec_dockerfile_relative_to_project(tmp_path):
    (tmp_path / "app").mkdir()
    (tmp_path / "docker").mkdir()
    (tmp_path / "docker" / "app.Dockerfile").write_text("FROM scratch\n")
    (tmp_path / "app" / "Dockerfile").write_text("FROM scratch\n")
    img = spec.image_spec({"imageName": "x:1", "skipPush": True, "buildOnPreview": False,
                           "build": {"context": "app", "dockerfile": "docker/app.Dockerfile"}}, str(tmp_path))
    assert img["context"] == str(tmp_path / "app")
    assert img["dockerfile"] == str(tmp_path / "docker" / "app.Dockerfile")
    img = spec.image_spec({"imageName": "x:1", "skipPush": True, "build": {"context": "app"}}, str(tmp_path))
    assert img["dockerfile"] == str(tmp_path / "app" / "Dockerfile")
    with pytest.raises(RealizerError, match="does not push"):
        spec.image_spec({"imageName": "x:1", "build": {"context": "app"}}, str(tmp_path))


def test_network_spec():
    n = spec.network_spec({"name": "n", "internal": True, "labels": [{"label": "a", "value": "b"}],
                           "ipamConfigs": [{"subnet": "10.9.0.0/24"}]})
    assert n["internal"] and n["labels"] == {"a": "b"} and n["ipam"][0]["subnet"] == "10.9.0.0/24"
    with pytest.raises(RealizerError, match="'scope'"):
        spec.network_spec({"name": "n", "scope": "swarm"})


# -- config ----------------------------------------------------------------------------------
def _project(tmp_path, stack_doc, project_extra=""):
    (tmp_path / "Pulumi.yaml").write_text(f"name: proj\nruntime: python\n{project_extra}")
    (tmp_path / "__main__.py").write_text("")
    (tmp_path / "Pulumi.dev.yaml").write_text(yaml.safe_dump(stack_doc))
    return load_project(str(tmp_path))


def test_config_structured_values_become_json(tmp_path):
    p = _project(tmp_path, {"config": {"proj:limits": {"mem": 64, "tags": ["a"]}, "flag": True, "n": 3,
                                       "docker:host": "unix:///var/run/docker.sock"}},
                 "config:\n  region:\n    default: here\n")
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
    pw = generators.random_password({"length": 40, "special": True, "overrideSpecial": "#%", "minSpecial": 5,
                                     "minUpper": 3, "numeric": False}, "pw")["result"]
    assert len(pw) == 40
    assert sum(ch in "#%" for ch in pw) >= 5 and sum(ch.isupper() for ch in pw) >= 3
    assert not any(ch.isdigit() for ch in pw)
    assert set(pw) <= set("#%abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
    only_digits = generators.random_string({"length": 12, "upper": False, "lower": False, "special": False}, "s")
    assert only_digits.isdigit()
    with pytest.raises(RealizerError, match="exceed"):
        generators.random_string({"length": 2, "minUpper": 3}, "s")


@pytest.mark.parametrize("inputs,prefix", [
    ({"algorithm": "ED25519"}, "ssh-ed25519 "),
    ({"algorithm": "RSA", "rsaBits": 2048}, "ssh-rsa "),
    ({"algorithm": "ECDSA", "ecdsaCurve": "P256"}, "ecdsa-sha2-nistp256 "),
])
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
    df.write_text("ARG BASE_IMAGE=novaops/base:1\nFROM --platform=linux/amd64 ${BASE_IMAGE} AS build\n"
                  "FROM debian:trixie-slim\n")
    img = {"context": str(tmp_path / "ctx"), "dockerfile": str(df), "args": {"X": "novaops/other:2"},
           "target": None, "platform": None, "network": None, "addHosts": []}
    assert base_refs(img) == ["debian:trixie-slim", "novaops/base:1", "novaops/other:2"]
    d1 = context_digest(img, {"debian:trixie-slim": "sha256:1"})
    assert context_digest(img, {"debian:trixie-slim": "sha256:1"}) == d1
    (tmp_path / "ctx" / "skip.log").write_text("changed but ignored")
    assert context_digest(img, {"debian:trixie-slim": "sha256:1"}) == d1
    assert context_digest(img, {"debian:trixie-slim": "sha256:2"}) != d1  # base image rebuilt
    (tmp_path / "ctx" / "a.txt").write_text("two")
    assert context_digest(img, {"debian:trixie-slim": "sha256:1"}) != d1
