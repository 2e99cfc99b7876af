"""A member's data volume on a small tmpfs, to fill it in a drill without filling the docker host."""

from __future__ import annotations

import os
import subprocess

from tools.drills.runner import Ctx, DrillError

FILLER = "novaops-drill-filler"


class SmallDisk:
    """The member's data volume moved onto a tmpfs of its used size + ``headroom_mb`` for the
    drill, and back onto the docker host's disk after it (docker keeps the volume; its directory
    gets the tmpfs bind-mounted over it while the container is stopped). A real volume shares the
    docker host's disk, which a drill must not fill. Needs root on the docker host itself."""

    def __init__(self, ctx: Ctx, container: str, data_path: str, headroom_mb: int = 256):
        self.ctx, self.container, self.headroom_mb = ctx, container, headroom_mb
        mounts = [m for m in ctx.container(container).attrs["Mounts"] if m.get("Destination") == data_path]
        if not mounts or mounts[0].get("Type") != "volume":
            raise DrillError(f"{container}: no data volume at {data_path}")
        self.source = mounts[0]["Source"]  # the volume's directory on the docker host
        self.tmpfs = f"/run/{container}-drill-disk"
        if os.geteuid() != 0 or not os.path.isdir(self.source):
            raise DrillError(
                f"{container}: the disk-full drill mounts a small tmpfs over {self.source}: it needs "
                "root on the docker host itself (not a remote DOCKER_HOST)"
            )
        if os.path.ismount(self.source) or os.path.ismount(self.tmpfs):
            raise DrillError(
                f"{self.source} or {self.tmpfs} is a mount point already (a drill left it?): "
                "stop the member, copy the tmpfs back, umount both"
            )

    @staticmethod
    def sh(*argv: str) -> str:
        ran = subprocess.run(argv, capture_output=True, text=True, timeout=300)
        if ran.returncode != 0:
            raise DrillError(f"{' '.join(argv)}: {ran.stderr.strip()[-300:]}")
        return ran.stdout

    def shrink(self) -> int:
        """Stop the member, copy its volume onto the tmpfs, start it there. Returns the tmpfs size (MiB)."""
        container = self.ctx.container(self.container)
        container.stop(timeout=30)
        used_mb = int(self.sh("du", "-sxm", self.source).split()[0])
        size_mb = used_mb + self.headroom_mb
        os.makedirs(self.tmpfs, exist_ok=True)
        self.sh("mount", "-t", "tmpfs", "-o", f"size={size_mb}m,mode=0755", "tmpfs", self.tmpfs)
        self.sh("cp", "-a", f"{self.source}/.", f"{self.tmpfs}/")
        self.sh("mount", "--bind", self.tmpfs, self.source)
        container.start()
        return size_mb

    def fill(self) -> None:
        """Write a file next to data/ until the volume is full (dd stops at ENOSPC)."""
        subprocess.run(
            ["dd", "if=/dev/zero", f"of={self.source}/{FILLER}", "bs=1M", "status=none"],
            capture_output=True,
            timeout=120,
        )

    def free(self) -> None:
        if os.path.exists(f"{self.source}/{FILLER}"):
            os.remove(f"{self.source}/{FILLER}")

    def restore(self) -> None:
        """Stop the member, copy the tmpfs back over the volume's directory, start it."""
        if not os.path.ismount(self.tmpfs):
            return
        self.free()
        container = self.ctx.container(self.container)
        container.stop(timeout=30)
        if os.path.ismount(self.source):
            self.sh("umount", self.source)
        if os.path.ismount(self.source):  # never delete through the bind mount
            raise DrillError(f"{self.source} still a mount point; the data is in {self.tmpfs}")
        self.sh("find", self.source, "-mindepth", "1", "-delete")
        self.sh("cp", "-a", f"{self.tmpfs}/.", f"{self.source}/")
        self.sh("umount", self.tmpfs)
        os.rmdir(self.tmpfs)
        container.start()
