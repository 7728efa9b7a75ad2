"""A user runs the `wardcam` command on a SQLite data directory: version, migrate, user, token, audit.

Every test runs the real command in a subprocess and reads what it printed, its exit code and the
database it left behind. Messages are checked in Vietnamese, the default language.
"""

from __future__ import annotations

import hashlib
import shutil
import sqlite3
import subprocess
import sys
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest

from appliance import __version__
from tests.harness.appliance import PASSWORD, child_env, cli, shipped_migrations

# DATABASE_URL empty: SQLite in the data directory, even if the caller's shell points at PostgreSQL.
SQLITE = {"DATABASE_URL": ""}
MIGRATIONS = shipped_migrations()


def wardcam(
    data_dir: Path, *args: str, stdin: str | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run `python -m appliance ARGS --data-dir DATA_DIR` on SQLite."""
    return cli(data_dir, *args, stdin=stdin, env={**SQLITE, **(env or {})})


def add_user(
    data_dir: Path, name: str, role: str = "admin", password: str = PASSWORD
) -> subprocess.CompletedProcess[str]:
    """Run `wardcam user add NAME --role ROLE --password-stdin` and check the password is not echoed."""
    result = wardcam(data_dir, "user", "add", name, "--role", role, "--password-stdin", stdin=password + "\n")
    assert password not in result.stdout + result.stderr
    return result


def query(data_dir: Path, sql: str, *params: Any) -> list[tuple[Any, ...]]:
    """Return the rows of one query on the data directory's SQLite database."""
    with closing(sqlite3.connect(data_dir / "wardcam.db")) as db:
        return db.execute(sql, params).fetchall()


def change(data_dir: Path, sql: str, *params: Any) -> None:
    """Run one statement on the database and commit it, as someone with shell access could."""
    with closing(sqlite3.connect(data_dir / "wardcam.db")) as db, db:
        db.execute(sql, params)


def usernames(data_dir: Path) -> list[str]:
    """Return every username in the database, or none when it was never created."""
    if not (data_dir / "wardcam.db").exists():
        return []
    return [name for (name,) in query(data_dir, 'SELECT username FROM "user" ORDER BY id')]


def files_contain(data_dir: Path, secret: str) -> list[Path]:
    """Return the files under the data directory (database, WAL, head file) that hold the text."""
    return [path for path in data_dir.rglob("*") if path.is_file() and secret.encode() in path.read_bytes()]


def test_the_version_is_printed_by_both_entry_points() -> None:
    for command in ([sys.executable, "-m", "appliance"], [str(Path(sys.executable).with_name("wardcam"))]):
        result = subprocess.run([*command, "--version"], capture_output=True, text=True, timeout=30, env=child_env())
        assert result.returncode == 0, result.stderr
        assert result.stdout.strip() == f"wardcam {__version__}"


def test_adding_a_user_confirms_in_vietnamese(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"

    result = add_user(data_dir, "Lan", "operator")

    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip() == "Đã thêm người dùng lan (operator)."  # cli.user_added
    assert query(data_dir, 'SELECT username, role, language, is_active FROM "user"') == [("lan", "operator", "vi", 1)]
    [(password_hash,)] = query(data_dir, 'SELECT password_hash FROM "user"')
    assert password_hash.startswith("$argon2id$")


def test_a_taken_username_is_refused_and_the_first_user_kept(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    assert add_user(data_dir, "lan").returncode == 0

    for again in ("lan", "LAN"):  # usernames are not case-sensitive
        result = add_user(data_dir, again, "viewer", password="mot-mat-khau-khac-2")

        assert result.returncode == 1, again
        assert result.stderr.strip() == "Tên đăng nhập này đã có người dùng."  # error.username_taken
        assert "Traceback" not in result.stderr
    assert query(data_dir, 'SELECT username, role FROM "user"') == [("lan", "admin")]


def test_a_short_password_is_refused_and_nothing_is_created(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"

    result = add_user(data_dir, "lan", password="ngan-qua")

    assert result.returncode == 1
    # error.password_weak
    assert result.stderr.strip() == "Mật khẩu quá ngắn hoặc quá đơn giản: cần ít nhất 10 ký tự."
    assert usernames(data_dir) == []
    assert query(data_dir, "SELECT COUNT(*) FROM audit_entry") == [(0,)]


def test_a_password_is_only_taken_from_stdin(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"

    result = wardcam(data_dir, "user", "add", "lan", "--role", "admin", stdin=PASSWORD + "\n")

    assert result.returncode == 2
    # cli.password_stdin_required
    assert result.stderr.strip() == "Hãy dùng --password-stdin và nhập mật khẩu qua đầu vào chuẩn."
    assert PASSWORD not in result.stdout + result.stderr
    assert usernames(data_dir) == []


def test_a_token_is_printed_once_and_only_its_hash_is_stored(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    assert add_user(data_dir, "lan").returncode == 0

    result = wardcam(data_dir, "token", "create", "tram-bao-ve")

    assert result.returncode == 0, result.stdout + result.stderr
    [token] = result.stdout.splitlines()
    assert token.startswith("wct_") and len(token) > 40
    assert result.stderr.strip() == 'Đã tạo mã truy cập "tram-bao-ve" cho lan. Mã chỉ hiện một lần:'
    assert token not in result.stderr
    assert query(data_dir, "SELECT name, token_hash, user_id FROM api_token") == [
        ("tram-bao-ve", hashlib.sha256(token.encode()).hexdigest(), 1)
    ]
    assert files_contain(data_dir, token) == []


def test_a_token_needs_a_user_to_own_it(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"

    result = wardcam(data_dir, "token", "create", "ci")

    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr.strip() == "Không tìm thấy người dùng nhận mã truy cập."  # cli.token_no_user


def test_the_data_directory_comes_from_the_flag_or_the_environment(tmp_path: Path) -> None:
    from_env, from_flag = tmp_path / "from-env", tmp_path / "from-flag"
    env = child_env({**SQLITE, "WARDCAM_DATA_DIR": str(from_env)})

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "appliance", "user", "add", *args, "--role", "admin", "--password-stdin"],
            input=PASSWORD + "\n",
            capture_output=True,
            text=True,
            timeout=60,
            env=env,
            cwd=tmp_path,
        )

    by_env = run("lan")
    by_flag = run("minh", "--data-dir", str(from_flag))

    assert by_env.returncode == 0, by_env.stdout + by_env.stderr
    assert by_flag.returncode == 0, by_flag.stdout + by_flag.stderr
    assert usernames(from_env) == ["lan"]
    assert usernames(from_flag) == ["minh"]
    assert not (tmp_path / "data").exists(), "the default ./data was used instead"


def test_migrating_twice_changes_nothing_the_second_time(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"

    first = wardcam(data_dir, "migrate")
    assert first.returncode == 0, first.stdout + first.stderr
    for migration in MIGRATIONS:
        assert f"migration applied: {migration}" in first.stdout
    assert first.stdout.splitlines()[-1] == "Cơ sở dữ liệu đã được cập nhật."  # cli.migrated
    schema = query(data_dir, "SELECT type, name, sql FROM sqlite_master ORDER BY name")
    assert add_user(data_dir, "lan").returncode == 0

    second = wardcam(data_dir, "migrate")
    assert second.returncode == 0, second.stdout + second.stderr
    assert "migration applied" not in second.stdout
    assert second.stdout.splitlines()[-1] == "Cơ sở dữ liệu đã được cập nhật."
    assert query(data_dir, "SELECT version FROM aerich ORDER BY id") == [(m,) for m in MIGRATIONS]
    assert query(data_dir, "SELECT type, name, sql FROM sqlite_master ORDER BY name") == schema
    assert usernames(data_dir) == ["lan"]


@pytest.fixture(scope="module")
def audited(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Return a data directory whose audit log holds three entries: two users added, one token created."""
    data_dir = tmp_path_factory.mktemp("audited") / "data"
    assert add_user(data_dir, "lan", "admin").returncode == 0
    assert add_user(data_dir, "minh", "operator").returncode == 0
    assert wardcam(data_dir, "token", "create", "ci").returncode == 0
    assert query(data_dir, "SELECT id, action FROM audit_entry ORDER BY id") == [
        (1, "user.created"),
        (2, "user.created"),
        (3, "token.created"),
    ]
    return data_dir


@pytest.fixture
def data_dir(audited: Path, tmp_path: Path) -> Path:
    """Return a fresh copy of the audited data directory, for this test alone."""
    return Path(shutil.copytree(audited, tmp_path / "data"))


def test_an_untouched_audit_log_verifies(data_dir: Path) -> None:
    result = wardcam(data_dir, "audit", "verify")

    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip() == "Nhật ký kiểm tra toàn vẹn: 3 mục, không bị sửa."  # cli.audit_ok


def test_an_empty_audit_log_verifies(tmp_path: Path) -> None:
    result = wardcam(tmp_path / "data", "audit", "verify")

    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip() == "Nhật ký kiểm tra toàn vẹn: 0 mục, không bị sửa."


@pytest.mark.parametrize(
    ("tampering", "message"),
    [
        pytest.param(
            "UPDATE audit_entry SET detail = json_set(detail, '$.role', 'admin') WHERE id = 2",
            "Nhật ký kiểm tra đã bị sửa: mục 2 không khớp với mã băm của nó.",  # cli.audit_edited
            id="detail-edited",
        ),
        pytest.param(
            "DELETE FROM audit_entry WHERE id = 2",
            "Nhật ký kiểm tra đã bị chèn hoặc xóa mục: chuỗi bị đứt tại mục 3.",  # cli.audit_inserted_or_deleted
            id="middle-deleted",
        ),
        pytest.param(
            "INSERT INTO audit_entry (id, at, actor, actor_id, action, object_type, object_id, detail, ip,"
            " prev_hash, hash) SELECT 4, at, 'ke-gian', NULL, 'user.created', 'user', '9', '{}', '', hash,"
            " 'f00d' FROM audit_entry WHERE id = 3",
            "Nhật ký kiểm tra đã bị sửa: mục 4 không khớp với mã băm của nó.",  # cli.audit_edited
            id="entry-inserted",
        ),
        pytest.param(
            "DELETE FROM audit_entry WHERE id = 3",
            "Nhật ký kiểm tra đã bị xóa mục cuối: mục 3 đã mất.",  # cli.audit_deleted_at_end
            id="last-deleted",
        ),
    ],
)
def test_a_tampered_audit_log_fails_and_names_the_entry(data_dir: Path, tampering: str, message: str) -> None:
    change(data_dir, tampering)

    result = wardcam(data_dir, "audit", "verify")

    assert result.returncode == 1
    assert result.stderr.strip() == message


def test_no_verb_prints_the_password(tmp_path: Path) -> None:
    # add_user() also checks every `user add` above, refused ones included.
    data_dir = tmp_path / "data"
    password = "Bi-mat-cua-Lan-2026"
    results = [
        wardcam(data_dir, "user", "add", "lan", "--role", "admin", "--password-stdin", stdin=password + "\n"),
        wardcam(data_dir, "migrate"),
        wardcam(data_dir, "token", "create", "ci"),
        wardcam(data_dir, "audit", "verify"),
    ]

    assert [r.returncode for r in results] == [0, 0, 0, 0]
    for result in results:
        assert password not in result.stdout + result.stderr, result.args
    assert files_contain(data_dir, password) == []


def test_commands_run_at_the_same_time_keep_the_audit_chain_whole(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    assert add_user(data_dir, "admin").returncode == 0
    env = child_env(SQLITE)
    processes = [
        subprocess.Popen(
            [sys.executable, "-m", "appliance", "token", "create", f"script-{n}", "--data-dir", str(data_dir)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        for n in range(6)
    ]
    results = [(p.wait(timeout=120), p.stderr.read() if p.stderr else "") for p in processes]
    assert [code for code, _ in results] == [0] * 6, results

    verified = wardcam(data_dir, "audit", "verify")
    assert verified.returncode == 0, verified.stderr
    assert verified.stdout.strip() == "Nhật ký kiểm tra toàn vẹn: 7 mục, không bị sửa."
