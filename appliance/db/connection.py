"""Open and close the database, and bring its schema up to date with aerich."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from tortoise import Tortoise, connections

log = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
MODEL_MODULES = ["appliance.db.models", "aerich.models"]


def tortoise_config(db_url: str) -> dict[str, Any]:
    """Build the Tortoise config for one database URL."""
    return {
        "connections": {"default": db_url},
        "apps": {"models": {"models": MODEL_MODULES, "default_connection": "default"}},
        "use_tz": True,
        "timezone": "UTC",
    }


def redact_url(db_url: str) -> str:
    """Return the URL with its password replaced, for logs."""
    scheme, sep, rest = db_url.partition("://")
    if "@" not in rest:
        return db_url
    creds, _, host = rest.rpartition("@")
    user = creds.split(":", 1)[0]
    return f"{scheme}{sep}{user}:***@{host}"


async def open_database(db_url: str) -> None:
    """Connect Tortoise for the whole process and tune SQLite for concurrent use."""
    await Tortoise.init(config=tortoise_config(db_url), _enable_global_fallback=True)
    conn = connections.get("default")
    if conn.capabilities.dialect == "sqlite":
        await conn.execute_script(
            "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON; PRAGMA busy_timeout=5000;"
        )
    log.info("database open: %s", redact_url(db_url))


async def close_database() -> None:
    """Close every connection, and forget the SQL Tortoise prepared for this database's dialect.

    Tortoise caches each model's INSERT and SELECT text by connection name, not by dialect; a process
    that opens SQLite and then PostgreSQL under the same name (the tests do) would otherwise send
    SQLite's placeholders to PostgreSQL.
    """
    from tortoise.backends.base.executor import EXECUTOR_CACHE

    await Tortoise.close_connections()
    EXECUTOR_CACHE.clear()


async def migrate(db_url: str) -> list[str]:
    """Apply every pending migration and return the names of those applied."""
    from aerich import Command  # imported late: aerich pulls in click and more

    command = Command(tortoise_config=tortoise_config(db_url), app="models", location=str(MIGRATIONS_DIR))
    await command.init()
    applied = await command.upgrade(run_in_transaction=True)
    for name in applied:
        log.info("migration applied: %s", name)
    return applied


def dialect() -> str:
    """Return the SQL dialect of the open database ('sqlite' or 'postgres')."""
    return str(connections.get("default").capabilities.dialect)
