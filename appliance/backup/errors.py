"""Why a backup file was refused; each carries the translation key the user reads."""

from __future__ import annotations


class BackupRefused(Exception):
    """A backup file that must not be restored; nothing was changed."""

    message_key = "backup.error.damaged"

    def __init__(self, detail: str = "") -> None:
        super().__init__(detail or self.message_key)
        self.detail = detail


class NotABackup(BackupRefused):
    """The file is not a WardCam backup at all."""

    message_key = "backup.error.not_backup"


class WrongPassphrase(BackupRefused):
    """The passphrase is missing or wrong (or the encrypted file was altered)."""

    message_key = "backup.error.passphrase"


class DamagedBackup(BackupRefused):
    """A member is missing, its hash does not match, or the database fails its check."""

    message_key = "backup.error.damaged"


class NewerBackup(BackupRefused):
    """The backup comes from a WardCam with a newer database schema than this one."""

    message_key = "backup.error.newer"
