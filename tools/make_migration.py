"""Make one migration for both SQLite and PostgreSQL after a model change.

    tools/with-postgres.sh .venv/bin/python tools/make_migration.py NAME "One-line description."

It brings a scratch SQLite database and a scratch PostgreSQL database (on WARDCAM_TEST_POSTGRES_URL's
server) to the current migrations, lets aerich write the next migration for each dialect, and merges
the two into appliance/db/migrations/models/ (see tools/merge_migrations.py).
"""

from __future__ import annotations

import asyncio
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg

ROOT = Path(__file__).resolve().parents[1]
MIGRATIONS = ROOT / "appliance" / "db" / "migrations" / "models"

SCRIPT = """
import asyncio, sys
sys.path.insert(0, {root!r})
from aerich import Command
from appliance.db.connection import tortoise_config
async def main():
    command = Command(tortoise_config=tortoise_config({url!r}), app="models", location={location!r})
    await command.init()
    await command.upgrade(run_in_transaction=True)
    await command.init()  # read the state the applied migrations left
    print(await command.migrate({name!r}, no_input=True))
    await command.aclose()  # an open SQLite connection would keep this process alive
asyncio.run(main())
"""


def aerich_migrate(url: str, location: Path, name: str) -> Path:
    """Bring a database to the current migrations, then let aerich write the next one; return it."""
    shutil.copytree(MIGRATIONS, location / "models")
    for stale in (location / "models").glob("__pycache__"):
        shutil.rmtree(stale)
    before = set((location / "models").glob("*.py"))
    code = SCRIPT.format(root=str(ROOT), url=url, location=str(location), name=name)
    subprocess.run([sys.executable, "-c", code], check=True, stdin=subprocess.DEVNULL, timeout=120)
    [new] = set((location / "models").glob("*.py")) - before
    return new


async def scratch_postgres(server_url: str) -> tuple[str, str]:
    """Create an empty database on the server; return its URL and name."""
    name = f"wardcam_migration_{secrets.token_hex(4)}"
    conn = await asyncpg.connect(server_url)
    await conn.execute(f'CREATE DATABASE "{name}"')
    await conn.close()
    parts = urlsplit(server_url)
    return urlunsplit(parts._replace(path=f"/{name}")), name


async def drop_postgres(server_url: str, name: str) -> None:
    """Drop the scratch database."""
    conn = await asyncpg.connect(server_url)
    await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    await conn.close()


def main(name: str, description: str) -> None:
    """Write the merged migration."""
    server = os.environ["WARDCAM_TEST_POSTGRES_URL"]
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        lite = aerich_migrate(f"sqlite://{work / 'scratch.db'}", work / "sqlite", name)
        pg_url, pg_name = asyncio.run(scratch_postgres(server))
        try:
            pg = aerich_migrate(pg_url, work / "postgres", name)
        finally:
            asyncio.run(drop_postgres(server, pg_name))
        out = MIGRATIONS / lite.name
        subprocess.run(
            [sys.executable, str(ROOT / "tools" / "merge_migrations.py"), str(lite), str(pg), str(out), description],
            check=True,
        )
        print(f"wrote {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main(*sys.argv[1:3])
