"""An appliance installed the image's way in a temporary folder, and update packages built from this tree.

The installed version is a clone of the checkout's own venv (0.1.0), made by the updater's own clone_venv:
a fresh `python -m venv --without-pip` and the venv's site-packages copied as hard links. That is the
same cheap and complete copy the updater makes on the box, so every version here is a real venv that
starts WardCam, yet making one takes about half a second instead of copying 600 MB.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tarfile
import zipfile
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from appliance import __version__
from appliance.audit import AuditLog
from appliance.auth.accounts import Accounts
from appliance.auth.principal import Principal
from appliance.db.connection import close_database, migrate, open_database
from appliance.db.models.users import Role
from appliance.net import LOOPBACK, free_port
from appliance.requests.keys import public_pem
from appliance.settings import Settings
from appliance.update.config import UpdateConfig
from appliance.update.install import answers, clean_env, clone_venv
from appliance.update.layout import Layout
from appliance.update.service import Updates

TOP = Path(__file__).resolve().parents[3]
TOOL = TOP / "tools" / "make_update_package.py"
PASSWORD = "mat-khau-du-dai-1"
NEW = "0.1.1"


def private_pem(key: Ed25519PrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def load_key(path: Path) -> Ed25519PrivateKey:
    key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    assert isinstance(key, Ed25519PrivateKey)
    return key


def make_package(out: Path, key_file: Path, *args: str) -> Path:
    """Run tools/make_update_package.py as a release manager would."""
    result = subprocess.run(
        [sys.executable, str(TOOL), "--key", str(key_file), "--out", str(out), *args],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=out.parent,
    )
    assert result.returncode == 0, result.stderr
    return out


@dataclass
class Packages:
    """Update packages and keys made once for the session."""

    folder: Path
    release_key: Path  # private, PEM
    release_public: Path
    other_key: Path
    good: Path  # WardCam 0.1.1 built from the committed tree, signed by the release key
    wheel: Path  # its wheel


@pytest.fixture(scope="session")
def packages(tmp_path_factory: pytest.TempPathFactory) -> Packages:
    """Build the 0.1.1 package from this tree once (about 5 s): the other packages reuse its wheel."""
    folder = tmp_path_factory.mktemp("packages")
    keys = {}
    for name in ("release", "other"):
        key = Ed25519PrivateKey.generate()
        (folder / f"{name}.pem").write_bytes(private_pem(key))
        (folder / f"{name}.pub.pem").write_bytes(public_pem(key.public_key()))
        keys[name] = folder / f"{name}.pem"
    good = make_package(folder / f"wardcam-{NEW}.wardcam-update", keys["release"], "--version", NEW)
    with tarfile.open(good) as tar:
        member = tar.getmember(f"wheels/wardcam-{NEW}-py3-none-any.whl")
        source = tar.extractfile(member)
        assert source is not None
        wheel = folder / member.name.split("/")[-1]
        wheel.write_bytes(source.read())
    return Packages(folder, keys["release"], folder / "release.pub.pem", keys["other"], good, wheel)


def broken_wheel(wheel: Path, dest: Path) -> Path:
    """Copy a wheel with its `appliance/__init__.py` raising at import (a release that does not start)."""
    dest.mkdir(parents=True, exist_ok=True)
    out = dest / wheel.name
    with zipfile.ZipFile(wheel) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for item in src.infolist():
            data = src.read(item)
            if item.filename == "appliance/__init__.py":
                data = b'raise RuntimeError("this build is broken")\n' + data
            dst.writestr(item, data)
    return out


@dataclass
class Installed:
    """A WardCam installed the image's way under a temporary install root, with its data directory."""

    root: Path
    settings: Settings
    config: UpdateConfig
    admin: Principal
    layout: Layout = field(init=False)
    services: list[ServedAppliance] = field(default_factory=list)  # every service stand-in of the test

    def __post_init__(self) -> None:
        self.layout = Layout(self.root)

    @property
    def data_dir(self) -> Path:
        return self.settings.data_dir

    def updates(self) -> Updates:
        return Updates(self.settings, AuditLog(self.data_dir / "secrets" / "audit-head.json"), self.config)

    def snapshot(self) -> dict[str, object]:
        """What an update must not change when it is refused: symlinks, versions, database and settings."""
        db = (self.data_dir / "wardcam.db").read_bytes()
        return {
            "current": os.readlink(self.layout.current),
            "previous": os.readlink(self.layout.previous) if self.layout.previous.is_symlink() else None,
            "versions": sorted(p.name for p in self.layout.versions.iterdir()),
            "database": hash(db),
            "secrets": sorted(p.name for p in (self.data_dir / "secrets").iterdir()),
        }


@pytest.fixture
async def installed(tmp_path: Path, packages: Packages) -> AsyncIterator[Installed]:
    """WardCam 0.1.0 in INSTALL_ROOT/versions/0.1.0 (current), the release key trusted, an admin in the database."""
    root = tmp_path / "opt" / "wardcam"
    layout = Layout(root)
    clone_venv(Path(sys.prefix), layout.version_dir(__version__))
    layout.point(layout.current, __version__)
    (root / "update-keys").mkdir()
    shutil.copy(packages.release_public, root / "update-keys" / "release.pem")
    data = tmp_path / "data"
    settings = Settings(data_dir=data)
    settings.prepare()
    await open_database(settings.db_url)
    await migrate(settings.db_url)
    user = await Accounts(AuditLog(data / "secrets" / "audit-head.json")).create_user(
        None, "admin", PASSWORD, Role.ADMIN
    )
    admin = Principal(user.id, user.username, "", Role.ADMIN, "vi")
    config = UpdateConfig(
        install_root=root, health_url="http://127.0.0.1:1/healthz", health_timeout_s=60, smoke_timeout_s=90
    )
    box = Installed(root, settings, config, admin)
    yield box
    for service in box.services:  # a rollback starts WardCam again where the test never sees it
        service._stop()
    await close_database()


class ServedAppliance:
    """Stands in for systemd's wardcam.service: runs INSTALL_ROOT/current/bin/python -m appliance serve."""

    def __init__(self, installed: Installed) -> None:
        self.installed = installed
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None
        self.calls: list[str] = []
        self.log = installed.data_dir.parent / "service.log"
        installed.services.append(self)  # stopped at the end of the test, by the installed fixture

    @property
    def health_url(self) -> str:
        return f"http://{LOOPBACK}:{self.port}/healthz"

    def start(self) -> None:
        self.calls.append("start")
        self._start()

    def stop(self) -> None:
        self.calls.append("stop")
        self._stop()

    def restart(self) -> None:
        self.calls.append("restart")
        self._stop()
        self._start()

    def _start(self) -> None:
        self._stop()  # one WardCam at a time, as systemd runs it
        python = self.installed.layout.current / "bin" / "python"
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                [
                    str(python),
                    "-I",
                    "-m",
                    "appliance",
                    "serve",
                    "--data-dir",
                    str(self.installed.data_dir),
                    "--host",
                    LOOPBACK,
                    "--port",
                    str(self.port),
                    "--safe-mode",
                ],
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                cwd=self.installed.data_dir.parent,
                env=clean_env(HOME=str(self.installed.data_dir), WARDCAM_INSTALL_ROOT=str(self.installed.root)),
            )

    def _stop(self) -> None:
        """Stop WardCam as systemd does: SIGTERM, then SIGKILL after a while (TimeoutStopSec)."""
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)
        self.process = None

    def answers(self, version: str) -> bool:
        return answers(self.health_url, version)


@pytest.fixture
def service(installed: Installed) -> Iterator[ServedAppliance]:
    """The appliance's service, not started yet; stopped at the end (with every other, by `installed`)."""
    served = ServedAppliance(installed)
    installed.config.health_url = served.health_url
    yield served


def never_answering(
    installed: Installed, meanwhile: Callable[[], None], *, starts_wardcam: bool = True
) -> ServedAppliance:
    """A service whose new version never answers /healthz (within 3 s); `meanwhile` happens at its restart.

    With starts_wardcam=False its start() runs nothing either: no WardCam that could answer a later
    health check, or audit the updater's outcomes before the test does.
    """

    class NeverAnswers(ServedAppliance):
        def restart(self) -> None:
            self.calls.append("restart")
            meanwhile()

        def start(self) -> None:
            if starts_wardcam:
                super().start()
            else:
                self.calls.append("start")

    service = NeverAnswers(installed)
    installed.config.health_url = service.health_url
    installed.config.health_timeout_s = 3
    return service
