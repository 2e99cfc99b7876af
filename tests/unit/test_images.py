"""images/: one copy of each shared piece, and an image digest that covers what it shares with the repo."""

from __future__ import annotations

import os
import time
from pathlib import Path

import yaml

from components.images import STALE_CONTEXT_S, build_context, image_tag

ROOT = Path(__file__).resolve().parents[2]
IMAGES = ROOT / "images"
NATS_CLIENT = ROOT / "components" / "engines" / "nats" / "client.py"


def _images_holding(file_name: str) -> list[str]:
    return sorted(p.parent.name for p in IMAGES.glob(f"*/{file_name}"))


def test_pgbackrest_tls_server_is_in_the_base_image_only():
    assert _images_holding("pgbackrest-tls-server") == ["base"]
    assert "pgbackrest-tls-server" in (IMAGES / "base" / "Dockerfile").read_text()


def test_the_images_nats_client_is_the_engine_client():
    for image in ("backup", "exporters", "nats"):
        link = IMAGES / image / "novaops_nats.py"
        assert link.is_symlink() and link.resolve() == NATS_CLIENT, image
        assert "novaops_nats.py" in (IMAGES / image / "Dockerfile").read_text(), image
    module_utils = ROOT / "ansible" / "roles" / "nats_jetstream" / "module_utils" / "novaops_nats.py"
    assert module_utils.is_symlink() and module_utils.resolve() == NATS_CLIENT


def _repo_with_a_shared_file(tmp_path: Path) -> Path:
    (tmp_path / "shared.py").write_text("VERSION = 1\n")
    image = tmp_path / "images" / "app"
    image.mkdir(parents=True)
    (image / "Dockerfile").write_text("FROM scratch\nCOPY shared.py /\n")
    (image / "shared.py").symlink_to("../../shared.py")
    (tmp_path / "images" / "base").mkdir()
    (tmp_path / "images" / "base" / "Dockerfile").write_text("FROM scratch\n")
    return tmp_path / "images"


def test_a_change_of_a_shared_file_changes_the_tag_and_the_context(tmp_path):
    images = _repo_with_a_shared_file(tmp_path)
    tag, context = image_tag("app", images), build_context("app", images)
    assert not (context / "shared.py").is_symlink()
    assert (context / "shared.py").read_text() == "VERSION = 1\n"
    assert context.name == "app" and context.parent.parent == tmp_path / "build" / "image-contexts"

    (tmp_path / "shared.py").write_text("VERSION = 2\n")
    assert image_tag("app", images) != tag
    changed = build_context("app", images)
    assert changed != context and (changed / "shared.py").read_text() == "VERSION = 2\n"
    assert (context / "shared.py").read_text() == "VERSION = 1\n"  # a context in use is never rewritten


def test_a_stale_context_of_another_digest_is_pruned(tmp_path):
    images = _repo_with_a_shared_file(tmp_path)
    old = build_context("app", images)
    a_day_ago = time.time() - STALE_CONTEXT_S - 60
    os.utime(old, (a_day_ago, a_day_ago))
    (tmp_path / "shared.py").write_text("VERSION = 2\n")
    new = build_context("app", images)
    assert new.is_dir() and not old.exists() and not old.parent.exists()
    assert build_context("app", images) == new  # the current one stays


def test_an_image_without_shared_files_builds_from_its_own_directory(tmp_path):
    images = _repo_with_a_shared_file(tmp_path)
    assert build_context("base", images) == images / "base"
    assert build_context("valkey") == Path("images") / "valkey"


def test_the_postgres_members_sidecars_listen_where_the_kind_says_and_mtail_reads_the_configured_log():
    """patroni-with-pgbackrest starts the node exporter and mtail on the ports Prometheus scrapes
    (the patroni kind's), mtail over the log files PostgreSQL writes (LOG_PARAMETERS)."""
    from components.engines.patroni import KIND, config

    wrapper = (IMAGES / "postgres" / "patroni-with-pgbackrest").read_text()
    assert f"--web.listen-address=:{KIND.ports['node']} " in wrapper
    assert f"--port {KIND.ports['logs']} " in wrapper
    log_glob = config.LOG_PARAMETERS["log_directory"] + "/" + config.LOG_PARAMETERS["log_filename"].replace("%a", "*")
    assert f"--logs '{log_glob}'" in wrapper, log_glob
    # the audit relay (role audit_log) follows the same files, from the member's data volume
    defaults = yaml.safe_load((ROOT / "ansible" / "roles" / "audit_log" / "defaults" / "main.yml").read_text())
    assert defaults["audit_log_member_files"] == log_glob
    assert defaults["audit_log_member_spool_dir"].startswith(KIND.data_path + "/")
    assert "audit-log-relay &" in wrapper


def test_the_nats_exporter_logs_in_as_the_system_user_with_the_file_the_member_receives():
    from components.engines.nats import config
    from components.member_files import config_path

    exporter = (IMAGES / "nats" / "nats-exporter").read_text()
    assert f'"NATS_SYSTEM_USER", "{config.SYSTEM_USER}"' in exporter
    assert f'"NATS_SYSTEM_PASSWORD_FILE", "{config_path("nats-system-password")}"' in exporter
