"""A fresh, migrated schema of the benchmarks' PostgreSQL database, for benchmarks that run
``mlc`` processes against PostgreSQL."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable

from sqlalchemy import text

POSTGRES_URL = os.environ.get("MLC_BENCH_POSTGRES_URL") or os.environ.get("MLC_TEST_POSTGRES_URL")


def fresh_schema(prefix: str) -> tuple[str, Callable[[], None]] | None:
    """(url whose search_path is a new migrated schema, cleanup dropping it), or None when no
    PostgreSQL is configured (``MLC_BENCH_POSTGRES_URL``, else ``MLC_TEST_POSTGRES_URL``)."""
    if not POSTGRES_URL:
        return None
    from engine.db import open_database
    from engine.migrate import upgrade

    schema = prefix + uuid.uuid4().hex[:8]
    admin = open_database(POSTGRES_URL)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in POSTGRES_URL else "?"
    url = f"{POSTGRES_URL}{sep}options=-csearch_path%3D{schema}"
    upgrade(url)

    def cleanup() -> None:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()

    return url, cleanup
