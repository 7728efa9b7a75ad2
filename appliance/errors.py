"""Named exceptions that carry a translation key for the user and a plain text for the log."""

from __future__ import annotations

from typing import Any


class WardCamError(Exception):
    """Base of the errors a user may see; `key` and `params` make the translated message."""

    key = "error.internal"
    status = 400
    field = ""  # the input field the error is about, if one: forms show the message beside it

    def __init__(self, key: str | None = None, **params: Any) -> None:
        self.key = key or self.key
        self.params = params
        super().__init__(f"{self.key} {params}" if params else self.key)

    def field_messages(self, message: str, lang: str | None = None) -> dict[str, str]:
        """Return the message under the field it is about (empty when it is about no one field)."""
        return {self.field: message} if self.field else {}


class WeakPassword(WardCamError):
    """The password is too short or too simple."""

    key = "error.password_weak"
    status = 422

    def __init__(self, min_length: int, too_long: bool = False) -> None:
        super().__init__("error.password_too_long" if too_long else self.key, min_length=min_length)


class DuplicateUsername(WardCamError):
    """Another user already has this username."""

    key = "error.username_taken"
    status = 409


class InvalidUsername(WardCamError):
    """The username has characters or a length we do not accept."""

    key = "error.username_invalid"
    status = 422


class InvalidCredentials(WardCamError):
    """Wrong username or password."""

    key = "error.login_failed"
    status = 401


class TooManyAttempts(WardCamError):
    """Too many failed logins from this address or for this user."""

    key = "error.login_throttled"
    status = 429


class NotAuthenticated(WardCamError):
    """No valid session or token."""

    key = "error.not_authenticated"
    status = 401


class InvalidToken(WardCamError):
    """The bearer token is unknown, revoked or malformed."""

    key = "error.token_invalid"
    status = 401


class Forbidden(WardCamError):
    """The user's role does not allow this."""

    key = "error.forbidden"
    status = 403


class NotFound(WardCamError):
    """The object does not exist."""

    key = "error.not_found"
    status = 404


class OnboardingClosed(WardCamError):
    """An owner account exists already."""

    key = "error.onboarding_closed"
    status = 409


class LastAdmin(WardCamError):
    """The change would leave the appliance with no active admin."""

    key = "error.last_admin"
    status = 409
