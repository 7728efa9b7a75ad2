"""The `wardcam` command: serve, demo, migrate, user, token, audit, verify. One function a verb."""

from __future__ import annotations

import argparse
import asyncio
import importlib
import logging
import os
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from appliance import __version__
from appliance.errors import WardCamError
from appliance.i18n import t
from appliance.logs import setup_logging
from appliance.settings import Settings, default_data_dir

log = logging.getLogger(__name__)


def _settings(args: argparse.Namespace, **overrides: Any) -> Settings:
    values: dict[str, Any] = {"data_dir": Path(args.data_dir)}
    for name in ("host", "port", "safe_mode", "log_level", "trial"):
        if getattr(args, name, None) is not None:
            values[name] = getattr(args, name)
    values.update(overrides)
    return Settings(**values)


def _run_frontend(settings: Settings) -> int:
    """Start the appliance behind its web panel and serve until stopped."""
    from appliance.app import Appliance

    setup_logging(settings.log_level)
    module_name, _, func_name = settings.frontend.partition(":")
    run: Callable[[Appliance], None] = getattr(importlib.import_module(module_name), func_name)
    run(Appliance(settings))
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    """Run the appliance for production use."""
    return _run_frontend(_settings(args))


def cmd_demo(args: argparse.Namespace) -> int:
    """Run the appliance with synthetic cameras and a local broker."""
    return _run_frontend(_settings(args, demo=True))


async def _with_db(settings: Settings, action: Callable[[], Awaitable[int]]) -> int:
    from appliance.db.connection import close_database, migrate, open_database

    settings.prepare()
    await open_database(settings.db_url)
    try:
        await migrate(settings.db_url)
        return await action()
    finally:
        await close_database()


def cmd_migrate(args: argparse.Namespace) -> int:
    """Apply pending database migrations."""
    settings = _settings(args)
    setup_logging("INFO")

    async def nothing() -> int:
        print(t("cli.migrated"))
        return 0

    return asyncio.run(_with_db(settings, nothing))


def cmd_user_add(args: argparse.Namespace) -> int:
    """Create a user; the password is read from standard input."""
    from appliance.audit import audit_log_for
    from appliance.auth.accounts import Accounts
    from appliance.db.models.users import Role

    settings = _settings(args)
    setup_logging("WARNING")
    if not args.password_stdin:
        print(t("cli.password_stdin_required"), file=sys.stderr)
        return 2
    password = sys.stdin.readline().rstrip("\r\n")
    accounts = Accounts(audit_log_for(settings.data_dir))  # no need to load the whole appliance for one user

    async def add() -> int:
        user = await accounts.create_user(
            None, args.name, password, Role(args.role), display_name=args.display_name or "", language=args.language
        )
        print(t("cli.user_added", username=user.username, role=user.role.value))
        return 0

    return asyncio.run(_with_db(settings, add))


def cmd_token_create(args: argparse.Namespace) -> int:
    """Create a long-lived API token and print it once."""
    from appliance.audit import audit_log_for
    from appliance.auth.tokens import create_token
    from appliance.db.models.users import Role, User

    settings = _settings(args)
    setup_logging("WARNING")
    audit = audit_log_for(settings.data_dir)

    async def create() -> int:
        if args.user:
            user = await User.get_or_none(username=args.user.lower())
        else:
            user = await User.filter(role=Role.ADMIN, is_active=True).order_by("id").first()
        if user is None:
            print(t("cli.token_no_user"), file=sys.stderr)
            return 1
        row, token = await create_token(user, args.name)
        await audit.record(
            "token.created",
            actor="cli",
            object_type="api_token",
            object_id=row.id,
            detail={"name": row.name, "user": user.username},
        )
        print(t("cli.token_created", name=row.name, username=user.username), file=sys.stderr)
        print(token)
        return 0

    return asyncio.run(_with_db(settings, create))


def cmd_audit_verify(args: argparse.Namespace) -> int:
    """Check the audit chain and report the first entry that was edited, inserted or deleted."""
    from appliance.audit import audit_log_for

    settings = _settings(args)
    setup_logging("WARNING")
    audit = audit_log_for(settings.data_dir)

    async def verify() -> int:
        result = await audit.verify()
        if result.ok:
            print(t("cli.audit_ok", entries=result.entries))
            return 0
        print(t(f"cli.audit_{result.problem}", entry=result.first_bad_id, entries=result.entries), file=sys.stderr)
        return 1

    return asyncio.run(_with_db(settings, verify))


def cmd_verify(args: argparse.Namespace) -> int:
    """Check an evidence package offline: its signature and every file's SHA-256."""
    from appliance.i18n import use_language
    from appliance.requests.verify import verify_package

    lang = args.language or ("en" if os.environ.get("LANG", "").startswith("en") else "vi")
    with use_language(lang):
        public_key = None
        if args.public_key:
            public_key = Path(args.public_key).read_bytes()
        try:
            result = verify_package(Path(args.package), public_key=public_key, expected_fingerprint=args.fingerprint)
        except ValueError:
            print(t("requests.verify.key_file_unreadable"), file=sys.stderr)
            return 2
        for problem in result.problems:
            print(t(f"requests.verify.{problem.kind}", name=problem.name))
        if not result.ok:
            print(t("requests.verify.failed", count=max(1, len(result.problems))))
            return 1
        print(t("requests.verify.ok", files=result.files_ok))
        key_line = "requests.verify.key" if result.trusted else "requests.verify.key_unchecked"
        print(t(key_line, fingerprint=result.fingerprint))
        return 0


def build_parser() -> argparse.ArgumentParser:
    """Describe every verb and its options."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--data-dir", default=str(default_data_dir()), help="data directory (default ./data or $WARDCAM_DATA_DIR)"
    )
    parser = argparse.ArgumentParser(prog="wardcam", description="WardCam CCTV appliance")
    parser.add_argument("--version", action="version", version=f"wardcam {__version__}")
    verbs = parser.add_subparsers(dest="verb", required=True)

    serve = verbs.add_parser("serve", parents=[common], help="run the appliance")
    serve.add_argument("--host", default="0.0.0.0")
    serve.add_argument("--port", type=int, default=8080)
    serve.add_argument("--safe-mode", action="store_true", help="start with no add-ons")
    serve.add_argument("--log-level", choices=["DEBUG", "INFO", "WARNING", "ERROR"])
    serve.add_argument("--trial", action="store_true", help=argparse.SUPPRESS)  # the updater's trial start
    serve.set_defaults(func=cmd_serve)

    demo = verbs.add_parser("demo", parents=[common], help="run with synthetic cameras")
    demo.add_argument("--host", default="127.0.0.1")
    demo.add_argument("--port", type=int, default=8080)
    demo.add_argument("--log-level", choices=["DEBUG", "INFO", "WARNING", "ERROR"])
    demo.set_defaults(func=cmd_demo)

    verbs.add_parser("migrate", parents=[common], help="apply database migrations").set_defaults(func=cmd_migrate)

    user = verbs.add_parser("user", help="manage users").add_subparsers(dest="user_verb", required=True)
    add = user.add_parser("add", parents=[common], help="add a user")
    add.add_argument("name")
    add.add_argument("--role", choices=["admin", "operator", "police", "viewer"], required=True)
    add.add_argument("--password-stdin", action="store_true", help="read the password from stdin")
    add.add_argument("--display-name")
    add.add_argument("--language", choices=["vi", "en"], default="vi")
    add.set_defaults(func=cmd_user_add)

    token = verbs.add_parser("token", help="manage API tokens").add_subparsers(dest="token_verb", required=True)
    create = token.add_parser("create", parents=[common], help="create a long-lived API token")
    create.add_argument("name")
    create.add_argument("--user", help="owner of the token (default: the first admin)")
    create.set_defaults(func=cmd_token_create)

    audit = verbs.add_parser("audit", help="audit log").add_subparsers(dest="audit_verb", required=True)
    audit.add_parser("verify", parents=[common], help="verify the hash chain").set_defaults(func=cmd_audit_verify)

    verify = verbs.add_parser("verify", help="check an evidence package offline (signature and hashes)")
    verify.add_argument("package", help="the evidence package (.zip)")
    trust = verify.add_mutually_exclusive_group()
    trust.add_argument("--public-key", metavar="FILE", help="the appliance's public key (PEM)")
    trust.add_argument("--fingerprint", metavar="FP", help="the key fingerprint shown on the System page")
    verify.add_argument("--language", choices=["vi", "en"], help="language of the report (default: from LANG, else vi)")
    verify.set_defaults(func=cmd_verify)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Parse the command line and run one verb; errors are printed in plain words."""
    args = build_parser().parse_args(argv)
    try:
        result: int = args.func(args)
        return result
    except WardCamError as exc:
        print(t(exc.key, **exc.params), file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    except OSError as exc:
        print(t("cli.os_error", error=str(exc)), file=sys.stderr)
        return 1
    except Exception:  # never a traceback for the user; the log has the details
        log.exception("the command failed")
        print(t("error.internal"), file=sys.stderr)
        return 1
