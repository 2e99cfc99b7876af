"""Division hosts and the backup host: sshd with the stack's key for user novaops."""

from __future__ import annotations

from components.member_files import MemberFiles, config_path


def host_files(authorized_key: str) -> MemberFiles:
    return MemberFiles(command=("novaops-host",), files={config_path("authorized_keys"): authorized_key})
