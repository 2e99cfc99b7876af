"""Shared fixtures for the realizer tests.

Tests marked ``docker`` talk to the local engine; everything they create carries
the label ``novaops.realizer.stack=rtest...`` and is removed before and after.
"""

from __future__ import annotations

import os
import socket
import sys

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
if REPO not in sys.path:
    sys.path.insert(0, REPO)

FIXTURE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixture")
FIXTURE_BAD = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixture_bad")
STACK_LABEL = "novaops.realizer.stack"


def pytest_configure(config):
    config.addinivalue_line("markers", "docker: needs the local Docker engine (creates rtest* objects)")


def _docker_client():
    try:
        import docker

        client = docker.from_env(timeout=120)
        client.ping()
        return client
    except Exception:
        return None


def remove_rtest_leftovers(client) -> None:
    """Remove containers, networks, volumes labelled novaops.realizer.stack=rtest* (ours only)."""
    api = client.api

    def ours(labels) -> bool:
        return str((labels or {}).get(STACK_LABEL, "")).startswith("rtest")

    for c in api.containers(all=True, filters={"label": STACK_LABEL}):
        if ours(c.get("Labels")):
            api.remove_container(c["Id"], force=True)
    for n in api.networks(filters={"label": STACK_LABEL}):
        if ours(n.get("Labels")):
            api.remove_network(n["Id"])
    for v in api.volumes(filters={"label": STACK_LABEL}).get("Volumes") or []:
        if ours(v.get("Labels")):
            api.remove_volume(v["Name"], force=True)


@pytest.fixture(scope="session")
def docker_client():
    client = _docker_client()
    if client is None:
        pytest.skip("no local Docker engine")
    remove_rtest_leftovers(client)
    yield client
    remove_rtest_leftovers(client)


@pytest.fixture()
def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
