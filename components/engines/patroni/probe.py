"""novaops-prober's PostgreSQL probe: a new connection as the monitor role, then ``select 1``.

Runs in the exporters image beside the prober as ``novaops_probe_postgres.py``, with
python3-psycopg (components/engines/probing.py says what a probe module defines).
"""

from __future__ import annotations

try:  # the exporters image: the shared module beside novaops-prober
    from novaops_probe import ProbeFailed, Target
except ModuleNotFoundError:  # the repository
    from components.engines.probing import ProbeFailed, Target

PROTOCOL = "postgres"
NEEDS = ("user", "password", "database")


def ready() -> None:
    """Imports psycopg once, before the first round, so the first probe does not time the import."""
    import psycopg  # noqa: F401 - python3-psycopg; imported here so the prober loads without it


def probe(t: Target, timeout: float) -> None:
    import psycopg

    ms = max(int(timeout * 1000), 1)
    # libpq counts connect_timeout in whole seconds (2 at least); tcp_user_timeout and
    # statement_timeout bound the rest of the exchange.
    with psycopg.connect(
        host=t.host,
        port=t.port,
        user=t.user,
        password=t.password,
        dbname=t.database,
        connect_timeout=max(2, int(timeout + 0.999)),
        tcp_user_timeout=ms,
        sslmode="disable",
        application_name="novaops-prober",
        options=f"-c statement_timeout={ms}",
        autocommit=True,
    ) as conn:
        row = conn.execute("select 1").fetchone()
    if row != (1,):
        raise ProbeFailed(f"select 1 returned {row!r}")
