"""Build the project's images outside Pulumi, for molecule scenarios.

    python -m tools.build_images [NAME ...]

Builds images/<name> (and the images it builds on) with the same digest tags the Pulumi
program uses (components/images.py), then tags each as novaops/<name>:molecule, the name
molecule.yml files refer to. A tag that already exists is not rebuilt.
"""

from __future__ import annotations

import sys
from pathlib import Path

import docker

from components.images import DEBIAN_IMAGE, IMAGES_DIR, build_context, image_tag, parent_of, with_parents

ROOT = Path(__file__).resolve().parents[1]
MOLECULE_TAG = "molecule"


def build(names: list[str]) -> None:
    client = docker.from_env(timeout=900)
    wanted = names or sorted(p.parent.name for p in (ROOT / IMAGES_DIR).glob("*/Dockerfile"))
    for name in with_parents(set(wanted)):
        tag = image_tag(name, ROOT / IMAGES_DIR)
        try:
            client.images.get(tag)
            print(f"cached     {tag}")
        except docker.errors.ImageNotFound:
            parent = parent_of(name)
            args = {"BASE_IMAGE": image_tag(parent, ROOT / IMAGES_DIR)} if parent else {"DEBIAN_IMAGE": DEBIAN_IMAGE}
            print(f"building   {tag}", flush=True)
            client.images.build(path=str(build_context(name, ROOT / IMAGES_DIR)), tag=tag, buildargs=args, rm=True)
        client.images.get(tag).tag(f"novaops/{name}", MOLECULE_TAG)
        print(f"tagged     novaops/{name}:{MOLECULE_TAG}")


if __name__ == "__main__":
    build(sys.argv[1:])
