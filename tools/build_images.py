"""Build the project's images outside Pulumi, for molecule scenarios.

    python -m tools.build_images [NAME ...]

Builds images/<name> (and the images it builds on) with the same digest tags the Pulumi
program uses (components/images.py), then tags each as novaops/<name>:molecule, the name
molecule.yml files refer to. A tag that already exists is not rebuilt.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import docker

from components.images import DEBIAN_IMAGE, IMAGES_DIR, build_context, image_tag, parent_of, with_parents

ROOT = Path(__file__).resolve().parents[1]
MOLECULE_TAG = "molecule"


def image_names() -> list[str]:
    return sorted(p.parent.name for p in (ROOT / IMAGES_DIR).glob("*/Dockerfile"))


def build(names: list[str]) -> None:
    client = docker.from_env(timeout=900)
    wanted = names or image_names()
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


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m tools.build_images", description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "names", nargs="*", metavar="NAME", help=f"images/<NAME> (default: all: {', '.join(image_names())})"
    )
    args = parser.parse_args(argv)
    unknown = sorted(set(args.names) - set(image_names()))
    if unknown:
        parser.error(f"no image {', '.join(unknown)} under images/ (images: {', '.join(image_names())})")
    build(args.names)


if __name__ == "__main__":
    main()
