"""Install a new version into its own venv, offline, and try it on a copy of the data before it is used.

How the new venv gets the dependencies the package does not carry: it starts as a clone of the current
venv, made by `python -m venv --without-pip` (fresh bin/ and pyvenv.cfg with the right paths) and the
current site-packages copied as hard links (same disk: no extra space, about half a second for 14,000
files instead of copying 600 MB). pip then installs the package's wheels into the clone with
`--no-index --find-links`, so nothing is downloaded. Sharing inodes is safe because nothing writes an
installed file in place: pip removes a distribution's files (unlink or rename) before it writes the new
ones, and Python replaces .pyc files by rename. The new venv is complete on its own: deleting the old
version's folder later only drops the other name of each shared file.
"""

from __future__ import annotations

import logging
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import httpx

from appliance.net import LOOPBACK, free_port
from appliance.update.errors import InstallFailed, SmokeCheckFailed
from appliance.update.owner import OwnerStepFailed, as_owner_of, copy_as_owner

log = logging.getLogger(__name__)

PIP_TIMEOUT_S = 900
CLEAN_ENV_KEYS = ("PATH", "LANG", "LC_ALL", "TZ")


def clean_env(**extra: str) -> dict[str, str]:
    """Return a small environment for child processes: nothing of the caller's Python or database settings."""
    env = {k: os.environ[k] for k in CLEAN_ENV_KEYS if k in os.environ}
    env.setdefault("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
    return {**env, **extra}


def base_python(venv: Path) -> Path:
    """Return the interpreter a venv was made from (pyvenv.cfg's executable, else home/python3)."""
    values: dict[str, str] = {}
    for line in (venv / "pyvenv.cfg").read_text(encoding="utf-8").splitlines():
        key, sep, value = line.partition("=")
        if sep:
            values[key.strip()] = value.strip()
    if values.get("executable") and Path(values["executable"]).exists():
        return Path(values["executable"])
    return Path(values["home"]) / "python3"


def site_packages(venv: Path) -> Path:
    """Return a venv's site-packages folder."""
    found = sorted(venv.glob("lib/python3*/site-packages"))
    if len(found) != 1:
        raise InstallFailed(f"{venv}: {len(found)} site-packages folders")
    return found[0]


def _link_or_copy(src: str, dst: str) -> None:
    try:
        os.link(src, dst)
    except OSError:  # another disk: a real copy
        shutil.copy2(src, dst)


def clone_venv(source: Path, dest: Path) -> None:
    """Make dest a venv with the same interpreter and the same installed distributions as source."""
    source = source.resolve()
    _run([str(base_python(source)), "-m", "venv", "--without-pip", str(dest)], "venv")
    target = site_packages(dest)
    shutil.rmtree(target)
    shutil.copytree(site_packages(source), target, symlinks=True, copy_function=_link_or_copy)


def pip_install(venv: Path, wheels_dir: Path) -> None:
    """Install every wheel of the package into the venv, offline (upgrading or downgrading to exactly these)."""
    wheels = sorted(str(p) for p in wheels_dir.glob("*.whl"))
    _run(
        [
            str(venv / "bin" / "python"),
            "-I",
            "-m",
            "pip",
            "install",
            "--no-index",
            "--find-links",
            str(wheels_dir),
            "--disable-pip-version-check",
            "--no-cache-dir",
            "--no-input",
            "--quiet",
            *wheels,
        ],
        "pip install",
    )


def _run(argv: list[str], what: str) -> None:
    try:
        result = subprocess.run(
            argv, capture_output=True, text=True, timeout=PIP_TIMEOUT_S, env=clean_env(), check=False
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise InstallFailed(f"{what}: {exc}") from exc
    if result.returncode != 0:
        log.error("%s failed (%d): %s", what, result.returncode, (result.stderr or result.stdout)[-2000:])
        raise InstallFailed(f"{what} exited with {result.returncode}")


def install_version(current: Path, dest: Path, wheels_dir: Path) -> float:
    """Install the package's wheels into a new venv at dest (removed again if it fails); return seconds.

    A folder left half-built by a power cut is neither current nor previous, so the next prune deletes it.
    """
    started = time.monotonic()
    shutil.rmtree(dest, ignore_errors=True)
    try:
        clone_venv(current, dest)
        pip_install(dest, wheels_dir)
    except BaseException:
        shutil.rmtree(dest, ignore_errors=True)
        raise
    took = time.monotonic() - started
    log.info("installed %s in %.1f s", dest.name, took)
    return took


# --- the trial start ----------------------------------------------------------------------------


def smoke_check(venv: Path, version: str, data_dir: Path, db_path: Path | None, work: Path, timeout_s: float) -> None:
    """Run the new version's `--version`, then serve a copy of the data on a loopback port until /healthz answers.

    The trial runs as the data directory's owner with `serve --trial`: it opens (and migrates) the copy of the
    database and serves its pages, but starts no recorder, live view, MQTT, notification or add-on, so it
    reaches no camera (many allow few RTSP sessions) and publishes nothing (its stop would say "offline").
    """
    python = str(venv / "bin" / "python")
    work.mkdir(mode=0o755, parents=True, exist_ok=True)
    as_owner = as_owner_of(data_dir)
    try:
        said = subprocess.run(
            [python, "-I", "-m", "appliance", "--version"],
            capture_output=True,
            text=True,
            timeout=120,
            env=clean_env(),
            cwd=work,
            check=False,
            **as_owner,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise SmokeCheckFailed(f"--version: {exc}") from exc
    if said.returncode != 0 or said.stdout.strip() != f"wardcam {version}":
        log.error("the new version's --version said %r: %s", said.stdout.strip(), said.stderr[-2000:])
        raise SmokeCheckFailed(f"--version exited {said.returncode}")
    copy = work / "data"
    shutil.rmtree(copy, ignore_errors=True)
    copy.mkdir(mode=0o700)
    if as_owner:  # only the copy is the owner's: the trial's log beside it stays root's
        os.chown(copy, as_owner["user"], as_owner["group"], follow_symlinks=False)
    try:
        copy_as_owner(data_dir, db_path, copy)  # read by the owner: root never opens the data directory
    except OwnerStepFailed as exc:
        raise SmokeCheckFailed(f"copy of the data: {exc}") from exc
    port = free_port()
    log_path = work / "trial.log"
    argv = [
        python,
        "-I",
        "-m",
        "appliance",
        "serve",
        "--data-dir",
        str(copy),
        "--host",
        LOOPBACK,
        "--port",
        str(port),
        "--safe-mode",
        "--trial",
    ]
    with log_path.open("wb") as out:
        process = subprocess.Popen(
            argv,
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=work,
            start_new_session=True,
            env=clean_env(HOME=str(copy), WARDCAM_DATA_DIR=str(copy)),
            **as_owner,
        )
        try:
            _wait_healthy(process, f"http://{LOOPBACK}:{port}/healthz", version, timeout_s)
        except SmokeCheckFailed:
            log.error("trial start of %s failed:\n%s", version, log_path.read_text(errors="replace")[-3000:])
            raise
        finally:
            _stop(process)
            shutil.rmtree(copy, ignore_errors=True)


def _wait_healthy(process: subprocess.Popen[bytes], url: str, version: str, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SmokeCheckFailed(f"exited with {process.returncode}")
        if answers(url, version):
            return
        time.sleep(0.2)
    raise SmokeCheckFailed(f"no answer within {timeout_s:.0f} s")


def answers(url: str, version: str) -> bool:
    """Tell whether /healthz answers with this version."""
    try:
        response = httpx.get(url, timeout=2)
        return response.status_code == 200 and response.json().get("version") == version
    except (httpx.HTTPError, ValueError):
        return False


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGINT)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
