"""What a container runs and which files it receives: the generic side.

Each package under components/engines renders its kinds' files (its ``files`` part); this
module holds the shape they return and hands a service to its package. Pure functions of
the topology and plain secret strings: the Pulumi components call them inside
``Output.apply`` so that secret-derived files stay secret. Files land under /etc/novaops;
``novaops-run`` in the images hands them to the service user. Secrets reach containers
only as these files, never as env vars.
"""

from __future__ import annotations

from dataclasses import dataclass, field

CONFIG_DIR = "/etc/novaops"


@dataclass(frozen=True)
class MemberFiles:
    command: tuple[str, ...]
    files: dict[str, str]
    secret_paths: frozenset[str] = field(default_factory=frozenset)
    envs: tuple[str, ...] = ()
    file_owner: str | None = None  # numeric uid for images that run their own entrypoint (no novaops-run)


def config_path(name: str) -> str:
    return f"{CONFIG_DIR}/{name}"
