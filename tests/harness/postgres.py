"""A PostgreSQL database of its own for one test, on the server tools/with-postgres.sh starts."""

from __future__ import annotations

import asyncio
import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import urlsplit

import asyncpg
import pytest


def on_database(server_url: str, name: str) -> str:
    """Return the server URL with its database replaced by `name`."""
    return urlsplit(server_url)._replace(path=f"/{name}").geturl()


async def _execute(url: str, *statements: str) -> None:
    conn = await asyncpg.connect(url)
    try:
        for statement in statements:
            await conn.execute(statement)
    finally:
        await conn.close()


async def create_database() -> str:
    """Create an empty database `wardcam_test_<random>` and return its URL (in a running event loop)."""
    server_url = os.environ.get("WARDCAM_TEST_POSTGRES_URL")
    if not server_url:
        pytest.fail(
            "WARDCAM_TEST_POSTGRES_URL is not set, so there is no PostgreSQL server to test against. "
            "Run the tests through `make test`, or as `tools/with-postgres.sh .venv/bin/python -m pytest ...`."
        )
    name = f"wardcam_test_{secrets.token_hex(6)}"
    await _execute(server_url, f'CREATE DATABASE "{name}"')
    return on_database(server_url, name)


async def drop_database(url: str) -> None:
    """Drop a database create_database() made, closing whatever still uses it."""
    server_url = os.environ["WARDCAM_TEST_POSTGRES_URL"]
    name = urlsplit(url).path.lstrip("/")
    await _execute(
        server_url,
        f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}' AND pid <> pg_backend_pid()",
        f'DROP DATABASE IF EXISTS "{name}"',
    )


@contextmanager
def scratch_database() -> Iterator[str]:
    """Create a database for the block (outside any event loop) and drop it afterwards."""
    url = asyncio.run(create_database())
    try:
        yield url
    finally:
        asyncio.run(drop_database(url))
