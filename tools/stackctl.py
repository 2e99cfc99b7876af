"""Bring a NovaOps stack up or down, with Pulumi where its CLI is installed.

    python -m tools.stackctl up   [--stack dev]
    python -m tools.stackctl down [--stack dev] [--delete-data]
    python -m tools.stackctl ansible-files [--stack dev]   # .novaops/<stack>/{ssh/id_ed25519,secrets.yml,monitoring.*}

With the Pulumi CLI: `pulumi up` on a local file backend (.novaops/pulumi-state, no
Pulumi Cloud account), passphrase from PULUMI_CONFIG_PASSPHRASE. Without it: the
same program applied by the local realizer (tools/realizer, a test harness).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
STATE_DIR = ROOT / ".novaops"


def pulumi_cli() -> str | None:
    return shutil.which("pulumi")


def pulumi_env() -> dict[str, str]:
    env = dict(os.environ)
    env.setdefault("PULUMI_BACKEND_URL", f"file://{STATE_DIR / 'pulumi-state'}")
    if "PULUMI_CONFIG_PASSPHRASE" not in env and "PULUMI_CONFIG_PASSPHRASE_FILE" not in env:
        sys.exit("set PULUMI_CONFIG_PASSPHRASE (or PULUMI_CONFIG_PASSPHRASE_FILE): it encrypts the stack's secrets")
    (STATE_DIR / "pulumi-state").mkdir(parents=True, exist_ok=True)
    return env


def pulumi(*args: str, capture: bool = False) -> str:
    proc = subprocess.run(
        ["pulumi", *args],
        cwd=ROOT,
        env=pulumi_env(),
        check=True,
        text=True,
        stdout=subprocess.PIPE if capture else None,
    )
    return proc.stdout or ""


def image_available(reference: str) -> bool:
    """Present locally, or pullable (bounded): Grafana is not packaged by Debian, so it must be pulled."""
    import docker

    client = docker.from_env(timeout=120)
    try:
        client.images.get(reference)
        return True
    except docker.errors.ImageNotFound:
        pass
    try:
        client.images.pull(reference)
        return True
    except docker.errors.APIError:
        return False


def realizer_overrides(stack: str) -> list[str]:
    from components.stack_files import load_stack_file

    grafana = load_stack_file(stack).get("grafana") or {}
    if grafana.get("enabled", True):
        image = grafana.get("image", "grafana/grafana-oss:11.6.0")
        if not image_available(image):
            print(
                f"notice: {image} is neither present nor pullable here; this run leaves Grafana out "
                f"(novaops:grafana.enabled=false). Its container is still declared by the program"
                " and checked by the mock tests."
            )
            return ['novaops:grafana={"enabled": false}']
    return []


def _write_private(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    os.chmod(path.parent, 0o700)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text if text.endswith("\n") else text + "\n")
    return path


# Stack output -> Ansible variable in secrets.yml.
ANSIBLE_SECRET_VARS = {
    "grafanaAdminPassword": "novaops_grafana_admin_password",
    "backupPassphrase": "novaops_backup_passphrase",
    # The operator's login to Prometheus and Alertmanager (basic auth): the alerting roles' queries.
    "monitoringOperatorUser": "novaops_monitoring_operator_user",
    "monitoringOperatorPassword": "novaops_monitoring_operator_password",
}


def write_ansible_files(stack: str, outputs: dict) -> list[Path]:
    """What Ansible needs from the stack outputs, as 0600 files under .novaops/<stack>/ (gitignored):
    the SSH key for division hosts and the backup host, the tier secrets and the other secret
    outputs (ANSIBLE_SECRET_VARS) as Ansible vars."""
    import yaml

    state = STATE_DIR / stack
    secrets = {"novaops_tier_secrets": outputs.get("tierSecrets") or {}}
    secrets.update({var: outputs[key] for key, var in ANSIBLE_SECRET_VARS.items() if key in outputs})
    # Hosts replaced by this up have new host keys; the inventory's accept-new learns them again.
    (state / "ssh" / "known_hosts").unlink(missing_ok=True)
    return [
        _write_private(state / "ssh" / "id_ed25519", outputs["sshPrivateKey"]),
        _write_private(
            state / "secrets.yml",
            "# Written by tools/stackctl.py from the stack outputs. Do not commit.\n"
            + yaml.safe_dump(secrets, sort_keys=True),
        ),
        *_monitoring_login_files(state, outputs),
    ]


def _monitoring_login_files(state: Path, outputs: dict) -> list[Path]:
    """The operator's Prometheus/Alertmanager login for the runbooks' commands, so that no password
    is typed or shows in `ps`: monitoring.netrc (curl --netrc-file, the published 127.0.0.1 ports)
    and monitoring-http.yml (amtool --http.config.file, Prometheus' http_config format)."""
    import yaml

    user, password = outputs.get("monitoringOperatorUser"), outputs.get("monitoringOperatorPassword")
    if not user or not password:
        return []
    login = {"basic_auth": {"username": user, "password": password}}
    return [
        _write_private(state / "monitoring.netrc", f"machine 127.0.0.1 login {user} password {password}"),
        _write_private(state / "monitoring-http.yml", yaml.safe_dump(login)),
    ]


def stack_outputs(stack: str) -> dict:
    if pulumi_cli():
        return json.loads(pulumi("stack", "output", "--show-secrets", "--json", "--stack", stack, capture=True))
    from tools.realizer import load_outputs

    return load_outputs(str(ROOT), stack, show_secrets=True)


def up(stack: str) -> None:
    started = time.monotonic()
    if pulumi_cli():
        pulumi("stack", "select", "--create", stack)
        pulumi("up", "--yes", "--skip-preview", "--stack", stack)
    else:
        print(
            "notice: the Pulumi CLI is not installed; applying the Pulumi program with the local realizer "
            "(tools/realizer: a test harness, not Pulumi)"
        )
        from tools.realizer import realize

        realize(str(ROOT), stack, realizer_overrides(stack))
    for path in write_ansible_files(stack, stack_outputs(stack)):
        print(f"for Ansible: {path.relative_to(ROOT)}")
    print(f"stack {stack} is up ({time.monotonic() - started:.1f}s)")


def down(stack: str, delete_data: bool) -> None:
    if pulumi_cli():
        if delete_data:
            pulumi("destroy", "--yes", "--stack", stack)
        else:
            # Keep volumes: destroy everything except resources of type docker Volume.
            state = json.loads(pulumi("stack", "export", "--stack", stack, capture=True))
            targets = [
                r["urn"]
                for r in state["deployment"].get("resources", [])
                if r["type"] == "docker:index/container:Container"
            ]
            if targets:
                pulumi("destroy", "--yes", "--stack", stack, *[a for u in targets for a in ("--target", u)])
            print("containers removed; volumes (data) kept — `down --delete-data` removes them")
    else:
        from tools.realizer import teardown

        teardown(str(ROOT), stack, delete_data=delete_data)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    for name in ("up", "down", "ansible-files"):
        p = sub.add_parser(name)
        p.add_argument("--stack", default=os.environ.get("STACK", "dev"))
        if name == "down":
            p.add_argument("--delete-data", action="store_true", help="also delete the data volumes")
    args = parser.parse_args(argv)
    os.chdir(ROOT)
    if args.command == "up":
        up(args.stack)
    elif args.command == "down":
        down(args.stack, args.delete_data)
    else:
        for path in write_ansible_files(args.stack, stack_outputs(args.stack)):
            print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
