"""What can go wrong when WardCam talks to Frigate, each with the plain words staff read."""

from __future__ import annotations

from appliance.errors import WardCamError


class FrigateProblem(WardCamError):
    """Base of the Frigate add-on's errors; `key` is the message staff read."""

    key = "addon.frigate.error.bad_response"
    status = 502


class FrigateUnreachable(FrigateProblem):
    """Nothing answers at Frigate's address and port."""

    key = "addon.frigate.error.unreachable"


class FrigateTimeout(FrigateProblem):
    """Frigate took too long to answer."""

    key = "addon.frigate.error.timeout"
    status = 504


class FrigateCertificate(FrigateProblem):
    """Frigate answers over HTTPS with a certificate WardCam does not trust (port 8971's own, by default)."""

    key = "addon.frigate.error.certificate"


class FrigateLoginNeeded(FrigateProblem):
    """Frigate asks for a login and none is set (the authenticated port 8971 without a user)."""

    key = "addon.frigate.error.login_needed"
    status = 401


class FrigateLoginFailed(FrigateProblem):
    """Frigate refused the user name or password."""

    key = "addon.frigate.error.login_failed"
    status = 401


class FrigateLoginThrottled(FrigateProblem):
    """Frigate refuses logins for a while after too many attempts."""

    key = "addon.frigate.error.login_throttled"
    status = 429


class FrigateForbidden(FrigateProblem):
    """The Frigate user may not do this (saving the config needs Frigate's admin role)."""

    key = "addon.frigate.error.forbidden"
    status = 403


class FrigateNotFound(FrigateProblem):
    """Frigate has no such event, camera or file (it may have deleted it already)."""

    key = "addon.frigate.error.not_found"
    status = 404


class FrigateBadResponse(FrigateProblem):
    """Frigate answered, but not with what its API describes (another program at that address?)."""

    key = "addon.frigate.error.bad_response"


class FrigateConfigRefused(FrigateProblem):
    """Frigate checked the config it was sent and refused it; `reason` is Frigate's own words, redacted."""

    key = "addon.frigate.error.config_refused"
    status = 422
