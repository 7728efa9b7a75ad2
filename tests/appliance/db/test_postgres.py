"""A user points WardCam at PostgreSQL with DATABASE_URL, and every part of it works there.

Each test gets a database of its own, created on the server named by WARDCAM_TEST_POSTGRES_URL
and dropped afterwards. `make test` (or tools/with-postgres.sh) starts the server and sets it.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import asyncpg
import pytest

from appliance.settings import Settings
from appliance.system import read_status
from tests.harness.appliance import PASSWORD, cli, shipped_migrations, start_appliance

pytestmark = pytest.mark.postgres

MIGRATIONS = shipped_migrations()
TABLES = {
    "aerich",
    "segment",
    "evidence_lock",
    "user",
    "session",
    "api_token",
    "site",
    "camera",
    "setting",
    "addon_state",
    "audit_entry",
    "user_site_grant",
    "detection",
    "notification_target",
    "notification_rule",
    "notification_mute",
    "notification_delivery",
    "footage_request",
}


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


async def _fetch(url: str, sql: str, *args: Any) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(url)
    try:
        return list(await conn.fetch(sql, *args))
    finally:
        await conn.close()


def fetch(url: str, sql: str, *args: Any) -> list[asyncpg.Record]:
    """Run one query on a database and return its rows."""
    return asyncio.run(_fetch(url, sql, *args))


def tables(url: str) -> set[str]:
    """Return the names of the tables in the database's public schema."""
    rows = fetch(url, "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'")
    return {row["table_name"] for row in rows}


@pytest.fixture
def database_url() -> Iterator[str]:
    """Create an empty database `wardcam_test_<random>` for one test; drop it afterwards."""
    server_url = os.environ.get("WARDCAM_TEST_POSTGRES_URL")
    if not server_url:
        pytest.fail(
            "WARDCAM_TEST_POSTGRES_URL is not set, so there is no PostgreSQL server to test against. "
            "Run the tests through `make test`, or as `tools/with-postgres.sh .venv/bin/python -m pytest ...`, "
            "which start the local server and set it."
        )
    name = f"wardcam_test_{secrets.token_hex(6)}"
    asyncio.run(_execute(server_url, f'CREATE DATABASE "{name}"'))
    try:
        yield on_database(server_url, name)
    finally:
        asyncio.run(
            _execute(
                server_url,
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                f"WHERE datname = '{name}' AND pid <> pg_backend_pid()",
                f'DROP DATABASE IF EXISTS "{name}"',
            )
        )


def test_migrate_creates_the_schema_once_and_then_has_nothing_to_do(tmp_path: Path, database_url: str) -> None:
    data_dir = tmp_path / "data"
    env = {"DATABASE_URL": database_url}

    first = cli(data_dir, "migrate", env=env)
    assert first.returncode == 0, first.stdout + first.stderr
    for migration in MIGRATIONS:
        assert f"migration applied: {migration}" in first.stdout
    assert "Cơ sở dữ liệu đã được cập nhật." in first.stdout
    assert TABLES - tables(database_url) == set(), "tables missing after migrate"

    second = cli(data_dir, "migrate", env=env)
    assert second.returncode == 0, second.stdout + second.stderr
    assert "migration applied" not in second.stdout
    assert "Cơ sở dữ liệu đã được cập nhật." in second.stdout

    applied = fetch(database_url, "SELECT version, app FROM aerich ORDER BY id")
    assert [(r["version"], r["app"]) for r in applied] == [(m, "models") for m in MIGRATIONS]
    assert not (data_dir / "wardcam.db").exists(), "DATABASE_URL was ignored: a SQLite file was created"


def test_users_tokens_and_the_audit_chain_live_in_postgres(tmp_path: Path, database_url: str) -> None:
    data_dir = tmp_path / "data"
    env = {"DATABASE_URL": database_url}

    added = cli(data_dir, "user", "add", "Lan", "--role", "admin", "--password-stdin", stdin=PASSWORD + "\n", env=env)
    assert added.returncode == 0, added.stdout + added.stderr
    assert added.stdout.strip() == "Đã thêm người dùng lan (admin)."

    created = cli(data_dir, "token", "create", "ci", env=env)
    assert created.returncode == 0, created.stdout + created.stderr
    [token] = created.stdout.splitlines()
    assert token.startswith("wct_")

    [user] = fetch(database_url, 'SELECT username, role, password_hash FROM "user"')
    assert (user["username"], user["role"]) == ("lan", "admin")
    assert user["password_hash"].startswith("$argon2id$")
    tokens = fetch(database_url, "SELECT token_hash, row_to_json(api_token)::text AS whole_row FROM api_token")
    assert [row["token_hash"] for row in tokens] == [hashlib.sha256(token.encode()).hexdigest()]
    assert token not in tokens[0]["whole_row"]

    actions = fetch(database_url, "SELECT action FROM audit_entry ORDER BY id")
    assert [row["action"] for row in actions] == ["user.created", "token.created"]
    verified = cli(data_dir, "audit", "verify", env=env)
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert verified.stdout.strip() == "Nhật ký kiểm tra toàn vẹn: 2 mục, không bị sửa."

    for result in (added, created, verified):
        assert PASSWORD not in result.stdout + result.stderr
    assert not (data_dir / "wardcam.db").exists()


def test_the_served_appliance_runs_on_postgres(tmp_path: Path, database_url: str) -> None:
    data_dir = tmp_path / "data"
    running = start_appliance(data_dir, env={"DATABASE_URL": database_url}, log_file=tmp_path / "serve.log")
    try:
        with running.client() as anonymous:
            health = anonymous.get("/healthz")
        assert health.status_code == 200
        assert health.json()["status"] == "ok"

        running.add_user("lan", "admin")
        client = running.login("lan")
        try:
            me = client.get("/api/users/me")
            assert me.status_code == 200, me.text
            assert (me.json()["username"], me.json()["role"]) == ("lan", "admin")
            system = client.get("/system")
            assert system.status_code == 200
            assert "PostgreSQL" in system.text and "SQLite" not in system.text
        finally:
            client.close()

        assert len(fetch(database_url, "SELECT id FROM session")) == 1
        [user] = fetch(database_url, 'SELECT last_login_at FROM "user" WHERE username = $1', "lan")
        assert user["last_login_at"] is not None
        verified = running.cli("audit", "verify")  # user.created by the CLI, auth.login by the server
        assert verified.returncode == 0, verified.stdout + verified.stderr
        assert verified.stdout.strip() == "Nhật ký kiểm tra toàn vẹn: 2 mục, không bị sửa."
    finally:
        running.stop()

    log = (tmp_path / "serve.log").read_text(errors="replace")
    assert "database postgresql" in log
    assert ":***@" in log, "the database URL should be logged with its password masked"
    assert f":{urlsplit(database_url).password}@" not in log
    assert PASSWORD not in log
    assert not (data_dir / "wardcam.db").exists()


def test_the_system_status_names_postgresql_as_the_database(tmp_path: Path, database_url: str) -> None:
    on_postgres = Settings(data_dir=tmp_path, database_url=database_url)
    on_sqlite = Settings(data_dir=tmp_path, database_url=None)

    assert read_status(tmp_path, on_postgres.db_backend).db_backend == "postgresql"
    assert read_status(tmp_path, on_sqlite.db_backend).db_backend == "sqlite"


def test_a_libpq_style_postgresql_url_works_too(tmp_path: Path, database_url: str) -> None:
    libpq_url = database_url.replace("postgres://", "postgresql://", 1)
    assert Settings(data_dir=tmp_path, database_url=libpq_url).db_backend == "postgresql"

    migrated = cli(tmp_path / "data", "migrate", env={"DATABASE_URL": libpq_url})
    assert migrated.returncode == 0, migrated.stdout + migrated.stderr
    assert TABLES - tables(database_url) == set(), "tables missing after migrate"


def test_commands_at_the_same_time_keep_the_shared_audit_chain_whole(tmp_path: Path, database_url: str) -> None:
    import subprocess
    import sys

    from tests.harness.appliance import child_env

    data_dir = tmp_path / "data"
    env = {"DATABASE_URL": database_url}
    added = cli(data_dir, "user", "add", "admin", "--role", "admin", "--password-stdin", stdin=PASSWORD + "\n", env=env)
    assert added.returncode == 0, added.stderr
    processes = [
        subprocess.Popen(
            [sys.executable, "-m", "appliance", "token", "create", f"script-{n}", "--data-dir", str(data_dir)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=child_env(env),
        )
        for n in range(6)
    ]
    assert [p.wait(timeout=120) for p in processes] == [0] * 6
    verified = cli(data_dir, "audit", "verify", env=env)
    assert verified.returncode == 0, verified.stderr
    assert verified.stdout.strip() == "Nhật ký kiểm tra toàn vẹn: 7 mục, không bị sửa."
