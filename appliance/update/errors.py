"""Why an update was refused or failed; each carries the translation key the admin reads."""

from __future__ import annotations


class UpdateRefused(Exception):
    """An update that was not applied; the installed version and the data are as they were."""

    message_key = "update.error.failed"

    def __init__(self, detail: str = "", **params: str) -> None:
        super().__init__(detail or self.message_key)
        self.detail = detail
        self.params = params


class NotAnUpdate(UpdateRefused):
    """The file is not a WardCam update package."""

    message_key = "update.error.not_package"


class UnsafePackage(UpdateRefused):
    """The package holds a link, a path outside its folder, or an unexpected kind of file."""

    message_key = "update.error.unsafe"


class PackageTooBig(UpdateRefused):
    """The package is bigger than any WardCam update, or holds too many files."""

    message_key = "update.error.too_big"


class NoTrustedKey(UpdateRefused):
    """No release key is installed on this appliance, so no package can be trusted."""

    message_key = "update.error.no_key"


class Unsigned(UpdateRefused):
    """The package carries no signature."""

    message_key = "update.error.unsigned"


class BadSignature(UpdateRefused):
    """The signature does not match any trusted release key (wrong key, or the manifest was changed)."""

    message_key = "update.error.signature"


class TamperedFile(UpdateRefused):
    """A file's SHA-256 or size differs from the signed manifest, or a file is missing or added."""

    message_key = "update.error.tampered"


class NotNewer(UpdateRefused):
    """The package's version is not newer than the installed one."""

    message_key = "update.error.not_newer"


class TooOld(UpdateRefused):
    """The installed version is older than the package's minimum; an intermediate update is needed first."""

    message_key = "update.error.too_old"


class NoSpace(UpdateRefused):
    """Not enough free disk space to install the new version beside the current one."""

    message_key = "update.error.no_space"


class NotOnImage(UpdateRefused):
    """WardCam does not run from the appliance image's layout (/opt/wardcam/current), so it cannot update itself."""

    message_key = "update.error.not_on_image"


class UpdateBusy(UpdateRefused):
    """Another update or rollback is under way."""

    message_key = "update.error.busy"


class InstallFailed(UpdateRefused):
    """The new version could not be installed (pip failed); nothing was switched."""

    message_key = "update.error.install"


class SmokeCheckFailed(UpdateRefused):
    """The new version did not start in its trial run on a copy of the data; nothing was switched."""

    message_key = "update.error.smoke"


class NoPrevious(UpdateRefused):
    """There is no previous version to roll back to."""

    message_key = "update.error.no_previous"


class BackupFailed(UpdateRefused):
    """The database and settings could not be backed up before the update; nothing was installed."""

    message_key = "update.error.backup"


class RestoreFailed(UpdateRefused):
    """A rollback brought the previous version back, but the pre-update backup could not be restored."""

    message_key = "update.error.restore"


class UnexpectedFailure(UpdateRefused):
    """Something the updater did not foresee stopped the update before the switch; nothing was switched."""

    message_key = "update.error.failed"
