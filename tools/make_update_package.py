#!/usr/bin/env python3
"""Build a signed WardCam update package (.wardcam-update) from the committed tree.

    tools/make_update_package.py --make-key release-key.pem
        make a release key pair: release-key.pem (private, 0600; keep it off the appliance and out of git)
        and release-key.pub.pem (public; image/customize.sh installs it into /opt/wardcam/update-keys)

    tools/make_update_package.py --key release-key.pem [--version 0.2.0] [--wheels DIR] [--min-from 0.1.0]
                                 [--out wardcam-0.2.0.wardcam-update]
        build WardCam's wheel from the last commit (git archive HEAD; uncommitted changes are not in it),
        add every wheel in DIR (dependencies that the new version needs and the appliance may not have:
        the box installs offline), write the manifest (version, created, SHA-256 and size of each file,
        the minimum version it updates from) and sign it with the release key.

--version rewrites the version in pyproject.toml of the tree before the build (the release's number);
--wardcam-wheel FILE packs a wheel built elsewhere instead of building one. The wheel is built with the
checkout's own venv, offline (--no-build-isolation: setuptools comes from the venv).
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

TOP = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(TOP))

from cryptography.hazmat.primitives import serialization  # noqa: E402
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey  # noqa: E402

from appliance.requests.keys import fingerprint, public_pem  # noqa: E402
from appliance.update.package import SUFFIX, write_package  # noqa: E402

WHEEL_VERSION = re.compile(r"^wardcam-([^-]+)-")


def make_key(path: Path) -> None:
    """Write a new Ed25519 release key (private, 0600) and its public half beside it (.pub.pem)."""
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(pem)
    public = path.with_name(path.name.removesuffix(".pem") + ".pub.pem")
    public.write_bytes(public_pem(key.public_key()))
    print(f"private key: {path} (keep it secret)\npublic key:  {public}\nfingerprint: {fingerprint(key.public_key())}")


def load_key(path: Path) -> Ed25519PrivateKey:
    """Read the release private key."""
    key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise SystemExit(f"{path} is not an Ed25519 private key")
    return key


def build_wheel(dest: Path, version: str | None, source: str = "HEAD") -> Path:
    """Build WardCam's wheel from a commit of this checkout (git archive), optionally with another version."""
    with tempfile.TemporaryDirectory() as tmp:
        tree = Path(tmp) / "src"
        tree.mkdir()
        archive = subprocess.run(
            ["git", "-C", str(TOP), "archive", "--format=tar", source], capture_output=True, check=True
        ).stdout
        subprocess.run(["tar", "-x", "-C", str(tree)], input=archive, check=True)
        if version:
            pyproject = tree / "pyproject.toml"
            text, count = re.subn(r'(?m)^version = "[^"]*"$', f'version = "{version}"', pyproject.read_text())
            if count != 1:
                raise SystemExit("pyproject.toml has no single version line")
            pyproject.write_text(text)
        dest.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "wheel",
                "--quiet",
                "--no-deps",
                "--no-build-isolation",
                "--no-index",
                "--wheel-dir",
                str(dest),
                str(tree),
            ],
            check=True,
            cwd=tmp,
        )
    return max(dest.glob("wardcam-*.whl"), key=lambda p: p.stat().st_mtime)


def main(argv: list[str] | None = None) -> int:
    """Make a release key, or build and sign an update package."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--make-key", metavar="PRIVATE.pem", type=Path, help="make a release key pair and stop")
    parser.add_argument("--key", type=Path, help="the release private key (PEM) that signs the manifest")
    parser.add_argument("--version", help="the release's version (rewritten into pyproject.toml before the build)")
    parser.add_argument("--source", default="HEAD", help="the commit to build from (default HEAD)")
    parser.add_argument("--wardcam-wheel", type=Path, help="pack this WardCam wheel instead of building one")
    parser.add_argument(
        "--wheels", type=Path, action="append", default=[], help="a folder of dependency wheels to carry (repeatable)"
    )
    parser.add_argument("--min-from", default="", help="the oldest installed version this package may update")
    parser.add_argument("--out", type=Path, help=f"the package file (default wardcam-VERSION{SUFFIX})")
    args = parser.parse_args(argv)
    if args.make_key:
        make_key(args.make_key)
        return 0
    if not args.key:
        parser.error("--key is required (make one with --make-key)")
    key = load_key(args.key)
    with tempfile.TemporaryDirectory() as tmp:
        wheel = args.wardcam_wheel or build_wheel(Path(tmp), args.version, args.source)
        match = WHEEL_VERSION.match(wheel.name)
        if match is None:
            parser.error(f"{wheel.name} is not a WardCam wheel")
        version = match.group(1)
        deps = [p for folder in args.wheels for p in sorted(folder.glob("*.whl")) if not p.name.startswith("wardcam-")]
        out = args.out or Path(f"wardcam-{version}{SUFFIX}")
        manifest = write_package(out, version, [wheel, *deps], key, args.min_from)
    print(f"{out}: WardCam {manifest.version}, {len(manifest.files)} wheels, signed by {fingerprint(key.public_key())}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
