"""Project images, built from images/<name>/Dockerfile on each docker host.

Tags are a digest of the image's directory (and its parent's tag), so an
unchanged Dockerfile keeps its tag and nothing is rebuilt or replaced.

A file an image shares with the rest of the repository (the NATS client of
components/engines/nats/client.py) is a symlink in the image's directory. The digest reads
through it, so a change of the shared file rebuilds the image; ``build_context`` gives the
directory to build from, with such links replaced by the files (docker sends a symlink as a
link, and its target lies outside the context).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import pulumi
import pulumi_docker as docker

IMAGES_DIR = Path("images")
# Build contexts with their shared files copied in: <digest>/<image name>, so one in use is never
# rewritten (gitignored).
CONTEXTS_DIR = Path("build") / "image-contexts"
# A staged context of an older digest is removed once it is this old: a build still using it has
# long finished, and without pruning every edit of a shared file would leave a copy behind.
STALE_CONTEXT_S = 24 * 3600
DEBIAN_IMAGE = "debian:trixie-slim"
# Parent of each project image; everything else builds on base.
PARENTS = {"base": None, "backup": "host"}


def parent_of(name: str) -> str | None:
    return PARENTS.get(name, "base")


def with_parents(names: set[str]) -> list[str]:
    """``names`` plus the images they build on, parents first."""
    ordered: list[str] = []

    def add(n: str) -> None:
        if n in ordered:
            return
        parent = parent_of(n)
        if parent:
            add(parent)
        ordered.append(n)

    for n in sorted(names):
        add(n)
    return ordered


def directory_digest(path: Path) -> str:
    h = hashlib.sha256()
    for f in sorted(p for p in path.rglob("*") if p.is_file()):
        h.update(str(f.relative_to(path)).encode())
        h.update(b"\0")
        h.update(f.read_bytes())
        h.update(b"\0")
    return h.hexdigest()


def build_context(name: str, root: Path = IMAGES_DIR) -> Path:
    """The directory to build image ``name`` from: its own directory, or a copy with shared files
    in place of their symlinks. Named by digest, so concurrent builds never rewrite one in use."""
    source = root / name
    if not any(p.is_symlink() for p in source.rglob("*")):
        return source
    staged = root.parent / CONTEXTS_DIR / directory_digest(source)[:16] / name
    if not staged.is_dir():
        staged.parent.mkdir(parents=True, exist_ok=True)
        scratch = Path(tempfile.mkdtemp(prefix=".staging-", dir=staged.parent))
        shutil.copytree(source, scratch / name, symlinks=False)
        try:
            os.rename(scratch / name, staged)
        except OSError:  # another build staged the same digest first
            pass
        shutil.rmtree(scratch, ignore_errors=True)
    prune_contexts(root.parent / CONTEXTS_DIR, name, keep=staged)
    return staged


def prune_contexts(contexts: Path, name: str, keep: Path) -> None:
    """Remove ``name``'s staged contexts of other digests older than STALE_CONTEXT_S."""
    now = time.time()
    for old in contexts.glob(f"*/{name}"):
        if old != keep and now - old.stat().st_mtime > STALE_CONTEXT_S:
            shutil.rmtree(old.parent if len(list(old.parent.iterdir())) == 1 else old, ignore_errors=True)


def image_tag(name: str, root: Path = IMAGES_DIR, debian_image: str = DEBIAN_IMAGE) -> str:
    parent = parent_of(name)
    upstream = image_tag(parent, root, debian_image) if parent else debian_image
    digest = hashlib.sha256(f"{upstream}\n{directory_digest(root / name)}".encode()).hexdigest()[:16]
    return f"novaops/{name}:{digest}"


@dataclass
class ImageSetArgs:
    names: set[str]  # images the services need; parents are added
    docker_host: str
    remote: dict[str, str] | None = None  # image key -> registry reference, pulled instead of built


class ImageSet(pulumi.ComponentResource):
    """Builds the project's images on one docker host (``refs``: image key -> reference)."""

    def __init__(self, name: str, args: ImageSetArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("novaops:images:ImageSet", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        self.refs: dict[str, pulumi.Output[str]] = {}
        for image in with_parents(args.names):
            parent = parent_of(image)
            build_args = {"BASE_IMAGE": self.refs[parent]} if parent else {"DEBIAN_IMAGE": DEBIAN_IMAGE}
            built = docker.Image(
                f"{args.docker_host}-{image}",
                image_name=image_tag(image),
                build=docker.DockerBuildArgs(context=str(build_context(image)), args=build_args),
                skip_push=True,
                opts=child,
            )
            self.refs[image] = built.image_name
        for image, reference in (args.remote or {}).items():
            pulled = docker.RemoteImage(f"{args.docker_host}-{image}", name=reference, keep_locally=True, opts=child)
            self.refs[image] = pulled.name
        self.register_outputs({"refs": self.refs})
