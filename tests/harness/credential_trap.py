"""A server of the kind an attacker would point a camera's URL at: it asks every RTSP request for a
password (401 with a Basic challenge) and keeps everything it is sent, so that a test can tell whether
a camera's stored password reached it.
"""

from __future__ import annotations

import base64
import re
from urllib.parse import quote

from tests.harness.busy_camera import BusyCamera

AUTHORIZATION = re.compile(rb"^Authorization:\s*Basic\s+(\S+)", re.IGNORECASE | re.MULTILINE)


class CredentialTrap(BusyCamera):
    """Listen on a loopback port, answer each RTSP request with 401, and keep what arrives."""

    def __init__(self) -> None:
        super().__init__(b"401 Unauthorized", b'WWW-Authenticate: Basic realm="camera"\r\n')

    def credentials_sent(self) -> list[str]:
        """Return every user:password the client sent in an Authorization header, decoded."""
        return [base64.b64decode(value).decode(errors="replace") for value in AUTHORIZATION.findall(self.received)]

    def saw(self, secret: str) -> bool:
        """Return True when the secret arrived in any form: plain, percent-encoded or in a Basic header."""
        raw = bytes(self.received).decode(errors="replace")
        return secret in raw or quote(secret, safe="") in raw or any(secret in c for c in self.credentials_sent())
