"""What can go wrong when finding or asking a camera, each with the plain words staff read."""

from __future__ import annotations

from appliance.errors import WardCamError


class OnvifProblem(WardCamError):
    """Base of the ONVIF add-on's errors; `key` is the message staff read."""

    key = "addon.onvif.error.not_onvif"
    status = 502


class CameraUnreachable(OnvifProblem):
    """Nothing answers at the camera's address and port."""

    key = "addon.onvif.error.unreachable"


class WrongPassword(OnvifProblem):
    """The camera refused the username or password."""

    key = "addon.onvif.error.wrong_password"
    status = 401


class NotOnvif(OnvifProblem):
    """Something answers at the address, but not as an ONVIF camera."""

    key = "addon.onvif.error.not_onvif"


class CameraTimeout(OnvifProblem):
    """The camera took too long to answer."""

    key = "addon.onvif.error.timeout"
    status = 504


class NoVideoProfiles(OnvifProblem):
    """The camera answered but offers no video stream."""

    key = "addon.onvif.error.no_profiles"


class NetworkUnavailable(OnvifProblem):
    """The scan could not send its probe: no network or no route."""

    key = "addon.onvif.error.no_network"
    status = 503
